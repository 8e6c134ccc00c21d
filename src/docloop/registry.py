"""Name -> backend class, per family, imported lazily.

Heavy SDKs live only inside their backend module, so a family's other
backends (and the offline defaults) work without them installed. Every
backend class offers `from_settings(settings, **deps)`.
"""

from __future__ import annotations

import importlib
import sqlite3
from typing import TYPE_CHECKING, Any

from docloop.config import Settings
from docloop.errors import ConfigError

if TYPE_CHECKING:
    from docloop.backends.records.base import RecordStore

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
    "records": {
        "sqlite": "docloop.backends.records.sqlite:SQLiteRecordStore",
    },
}


def backend_class(family: str, name: str) -> Any:
    """The class registered as `name` in `family`; ConfigError if there is none."""
    names = BACKENDS.get(family, {})
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        raise ConfigError(f"unknown {family} backend '{name}' (known: {known})")
    module_name, _, attr = names[name].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def build(family: str, name: str, settings: Settings, **deps: Any) -> Any:
    """Instantiate a backend from settings (and injected dependencies).

    Untyped; callers use the typed per-family functions below.
    """
    return backend_class(family, name).from_settings(settings, **deps)


def build_records(settings: Settings, conn: sqlite3.Connection | None = None) -> RecordStore:
    """The ticket record store (`settings.store`); opens its own connection without `conn`."""
    store: RecordStore = build("records", settings.store, settings, conn=conn)
    return store
