"""Every backend and store is built here: name -> class, per family, imported lazily.

Heavy SDKs live only inside their backend module, so a family's other
backends (and the offline defaults) work without them installed. Every
backend class offers `from_settings(settings, **deps)` (sources:
`from_spec(kind, value, settings)`). Stages, the pipeline, the CLI and the
web app call the typed `build_*` functions below and receive the family's
interface, never a concrete class; a host (e.g. the AWS adapter) adds its
implementations to `BACKENDS` and picks them by setting.
"""

from __future__ import annotations

import importlib
import sqlite3
from typing import TYPE_CHECKING, Any, cast

from docloop.config import Settings
from docloop.errors import ConfigError

if TYPE_CHECKING:
    from docloop.backends.analyzers.base import Analyzer
    from docloop.backends.docs_index.rerank import RankSettings
    from docloop.backends.docs_index.sqlite import SQLiteDocsIndex
    from docloop.backends.embedders.base import Embedder
    from docloop.backends.embedders.cache import CachedEmbedder
    from docloop.backends.sources.base import Source
    from docloop.backends.trackers.base import Tracker
    from docloop.stores import (
        AnalysisMemos,
        InsightIdentities,
        MessageRepository,
        OutcomeCache,
        RecordStore,
        VectorCache,
    )

BACKENDS: dict[str, dict[str, str]] = {
    "embedder": {
        "local": "docloop.backends.embedders.minilm:MiniLMEmbedder",
        "openai": "docloop.backends.embedders.openai_embed:OpenAIEmbedder",
    },
    "analyzer": {
        "offline": "docloop.backends.analyzers.offline:OfflineAnalyzer",
        "llm": "docloop.backends.analyzers.llm:LLMAnalyzer",
    },
    "tracker": {
        "local": "docloop.backends.trackers.local:LocalTracker",
        "linear": "docloop.backends.trackers.linear:LinearTracker",
    },
    "docs_index": {"sqlite": "docloop.backends.docs_index.sqlite:SQLiteDocsIndex"},
    # storage families, chosen together by `settings.store`
    "records": {"sqlite": "docloop.backends.records.sqlite:SQLiteRecordStore"},
    "messages": {"sqlite": "docloop.storage.messages:MessageStore"},
    "insights": {"sqlite": "docloop.storage.insights:InsightStore"},
    "analysis_memo": {"sqlite": "docloop.storage.analysis_memo:AnalysisMemoStore"},
    "embedding_cache": {"sqlite": "docloop.backends.embedders.cache:SQLiteVectorCache"},
    "llm_cache": {"sqlite": "docloop.backends.analyzers.llm_cache:LLMCache"},
}

#: source spec kind (`KIND:VALUE`) -> class with `from_spec(kind, value, settings)`
SOURCE_KINDS: dict[str, str] = {
    "discord-export": "docloop.backends.sources.dce:ExportSource",
    "discord": "docloop.backends.sources.discord_api:DiscordSource",
    "discord-guild": "docloop.backends.sources.discord_api:DiscordSource",
}


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def backend_class(family: str, name: str) -> Any:
    """The class registered as `name` in `family`; ConfigError if there is none."""
    names = BACKENDS.get(family, {})
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        raise ConfigError(f"unknown {family} backend '{name}' (known: {known})")
    return _load(names[name])


def build(family: str, name: str, settings: Settings, **deps: Any) -> Any:
    """Instantiate a backend from settings (and injected dependencies).

    Untyped plumbing; callers use the typed per-family functions below.
    """
    return backend_class(family, name).from_settings(settings, **deps)


def build_analyzer(settings: Settings, name: str | None = None, **deps: Any) -> Analyzer:
    """The analyzer `name` (default `settings.analyzer`)."""
    analyzer: Analyzer = build("analyzer", name or settings.analyzer, settings, **deps)
    return analyzer


def build_tracker(settings: Settings, **deps: Any) -> Tracker:
    """The configured tracker (`settings.tracker`)."""
    tracker: Tracker = build("tracker", settings.tracker, settings, **deps)
    return tracker


def build_embedder(settings: Settings, conn: sqlite3.Connection, **deps: Any) -> CachedEmbedder:
    """The configured embedder (`settings.embedder`) behind the persistent vector cache."""
    from docloop.backends.embedders.cache import CachedEmbedder

    inner: Embedder = build("embedder", settings.embedder, settings, **deps)
    return CachedEmbedder(inner, build_embedding_cache(settings, conn))


def build_docs_index(settings: Settings, conn: sqlite3.Connection,
                     rank: RankSettings | None = None) -> SQLiteDocsIndex:
    """The docs index over `conn` with the configured (cached) embedder and ranking.

    Typed as the SQLite index until the DocsIndex base declares everything the
    docs stages use (sync, page_count, best_similarities, ...).
    """
    index: SQLiteDocsIndex = build("docs_index", "sqlite", settings, conn=conn,
                                   embedder=build_embedder(settings, conn), rank=rank)
    return index


def build_source(spec: str, settings: Settings) -> Source:
    """The source a spec names; ConfigError with the accepted forms otherwise."""
    kind, sep, value = spec.partition(":")
    if not sep or not value or kind not in SOURCE_KINDS:
        raise ConfigError(
            f"invalid source '{spec}': use discord-export:PATH, discord:CHANNEL_ID[,...] "
            "or discord-guild:GUILD_ID"
        )
    source: Source = _load(SOURCE_KINDS[kind]).from_spec(kind, value, settings)
    return source


def _store(family: str, settings: Settings, conn: sqlite3.Connection | None) -> Any:
    """A storage family's implementation chosen by `settings.store`."""
    return build(family, settings.store, settings, conn=conn)


def build_records(settings: Settings, conn: sqlite3.Connection | None = None) -> RecordStore:
    """The ticket record store; opens its own connection without `conn`."""
    return cast("RecordStore", _store("records", settings, conn))


def build_messages(settings: Settings, conn: sqlite3.Connection) -> MessageRepository:
    """The message store and watermarks."""
    return cast("MessageRepository", _store("messages", settings, conn))


def build_insights(settings: Settings, conn: sqlite3.Connection) -> InsightIdentities:
    """The insight identity store."""
    return cast("InsightIdentities", _store("insights", settings, conn))


def build_analysis_memo(settings: Settings, conn: sqlite3.Connection) -> AnalysisMemos:
    """The last complete analysis with the fingerprint of its inputs."""
    return cast("AnalysisMemos", _store("analysis_memo", settings, conn))


def build_embedding_cache(settings: Settings, conn: sqlite3.Connection) -> VectorCache:
    """The embedding vector cache."""
    return cast("VectorCache", _store("embedding_cache", settings, conn))


def build_llm_cache(settings: Settings, conn: sqlite3.Connection) -> OutcomeCache:
    """The LLM outcome cache."""
    return cast("OutcomeCache", _store("llm_cache", settings, conn))
