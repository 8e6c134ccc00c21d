"""Embedders: text -> unit vectors, built from settings through the registry."""

from __future__ import annotations

import sqlite3
from typing import Any

from docloop import registry
from docloop.backends.embedders.cache import CachedEmbedder
from docloop.config import Settings


def open_embedder(settings: Settings, conn: sqlite3.Connection, **deps: Any) -> CachedEmbedder:
    """The configured embedder (`settings.embedder`) behind the persistent cache."""
    return registry.build_embedder(settings, conn, **deps)
