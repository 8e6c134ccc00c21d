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
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, cast

from docloop.config import Settings
from docloop.errors import ConfigError

if TYPE_CHECKING:
    from docloop.backends.analyzers.base import Analyzer
    from docloop.backends.docs_index.hybrid import HybridDocsIndex
    from docloop.backends.docs_index.rerank import RankSettings
    from docloop.backends.embedders.base import Embedder
    from docloop.backends.embedders.cache import CachedEmbedder
    from docloop.backends.replies.base import Replier
    from docloop.backends.sources.base import Source
    from docloop.backends.trackers.base import Tracker
    from docloop.stores import RecordStore, Stores

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
    "docs_index": {
        "sqlite": "docloop.backends.docs_index.sqlite:SQLiteDocsIndex",
        "pinecone": "docloop.backends.docs_index.pinecone_index:PineconeDocsIndex",
    },
    # storage families, chosen together by `settings.store` and opened as one `Stores`
    # ("dynamodb": the DynamoDB table, and for messages the S3 bucket; docloop.aws)
    "stores": {"sqlite": "docloop.storage.sqlite_stores:SQLiteStores",
               "dynamodb": "docloop.aws.dynamodb_stores:DynamoStores"},
    "records": {"sqlite": "docloop.backends.records.sqlite:SQLiteRecordStore",
                "dynamodb": "docloop.aws.dynamodb_records:DynamoRecordStore"},
    "messages": {"sqlite": "docloop.storage.messages:MessageStore",
                 "dynamodb": "docloop.aws.s3_messages:S3MessageStore"},
    "insights": {"sqlite": "docloop.storage.insights:InsightStore",
                 "dynamodb": "docloop.aws.dynamodb_insights:DynamoInsightStore"},
    "embedding_cache": {"sqlite": "docloop.backends.embedders.cache:SQLiteVectorCache",
                        "dynamodb": "docloop.aws.dynamodb_caches:DynamoVectorCache"},
    "llm_cache": {"sqlite": "docloop.backends.analyzers.llm_cache:LLMCache",
                  "dynamodb": "docloop.aws.dynamodb_caches:DynamoOutcomeCache"},
    "reviews": {"sqlite": "docloop.storage.reviews:SQLiteReviewStore",
                "dynamodb": "docloop.aws.dynamodb_reviews:DynamoReviewStore"},
    "replies": {"sqlite": "docloop.storage.replies:SQLiteReplyOutbox",
                "dynamodb": "docloop.aws.dynamodb_reviews:DynamoReplyOutbox"},
    "replier": {"discord": "docloop.backends.replies.discord:DiscordReplier"},
    # run summaries: the review desk's read model (web/dashboard reads either)
    "runs": {"sqlite": "docloop.storage.runs:RunStore",
             "dynamodb": "docloop.aws.dynamodb_runs:DynamoRunStore"},
    # the last complete analysis, for a run with nothing new (stages.reuse)
    "analysis_memo": {"sqlite": "docloop.storage.analysis_memo:AnalysisMemoStore",
                      "dynamodb": "docloop.aws.dynamodb_memo:DynamoAnalysisMemoStore"},
}

#: what keeps one run at a time on a store beyond the home's file lock (`docloop.lock`):
#: SQLite lives in the home, so the file lock is enough; a DynamoDB table is shared with
#: the Step Functions runs, so a CLI run takes the table's run lease too
RUN_GUARDS: dict[str, str | None] = {"sqlite": None,
                                     "dynamodb": "docloop.aws.cli_lease:holding_table"}

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


def build_replier(settings: Settings, **deps: Any) -> Replier:
    """What posts Discord replies when tickets are done (the bot token is checked here)."""
    replier: Replier = build("replier", "discord", settings, **deps)
    return replier


def build_embedder(settings: Settings, stores: Stores, **deps: Any) -> CachedEmbedder:
    """The configured embedder (`settings.embedder`) behind the persistent vector cache."""
    from docloop.backends.embedders.cache import CachedEmbedder

    inner: Embedder = build("embedder", settings.embedder, settings, **deps)
    return CachedEmbedder(inner, stores.embedding_cache)


def build_docs_index(settings: Settings, stores: Stores,
                     rank: RankSettings | None = None) -> HybridDocsIndex:
    """The configured docs index (`settings.docs_index`) with the configured (cached)
    embedder and ranking; the SQLite index lives in `stores.docs_conn`, a Pinecone
    index keeps its keyword store beside it (locally or in S3)."""
    name = settings.docs_index
    deps: dict[str, Any] = {"conn": stores.docs_conn} if name == "sqlite" else {}
    index: HybridDocsIndex = build("docs_index", name, settings,
                                   embedder=build_embedder(settings, stores), rank=rank, **deps)
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


def _store(family: str, settings: Settings, **deps: Any) -> Any:
    """A storage family's implementation chosen by `settings.store`."""
    return build(family, settings.store, settings, **deps)


def open_stores(settings: Settings, dry_run: bool = False) -> Stores:
    """Every storage family of `settings.store`, opened as one unit of work.

    `dry_run` works on a throw-away copy (SQLite: in memory) so nothing is written.
    """
    stores: Stores = backend_class("stores", settings.store).open(
        settings, lambda family, **deps: _store(family, settings, **deps), dry_run=dry_run)
    return stores


def hold_store(settings: Settings, wait_s: float) -> AbstractContextManager[None]:
    """Keep other runs off `settings.store` for the block (nothing beyond the home lock
    when the store is in the home)."""
    target = RUN_GUARDS.get(settings.store)
    if target is None:
        return nullcontext()
    guard: AbstractContextManager[None] = _load(target)(settings, wait_s)
    return guard


def sqlite_stores(conn: sqlite3.Connection) -> Stores:
    """SQLite stores over an open connection (tests, benchmarks, an in-memory copy)."""
    stores: Stores = backend_class("stores", "sqlite")(
        conn, lambda family, **deps: build(family, "sqlite", Settings.model_validate({}), **deps))
    return stores


def build_records(settings: Settings) -> RecordStore:
    """A ticket record store on its own (closed with `close()`): the webhook receiver
    and `docloop tickets` need no other family."""
    return cast("RecordStore", _store("records", settings))
