"""Where a remote docs index keeps its keyword side: one SQLite file per namespace.

The file holds the KeywordStore's tables (pages, chunk texts, FTS5, anchors)
and each page's topic vector (the unit mean of its chunk vectors, which the
ranker's `topic` feature needs and a top-K query cannot give). It lives at
DOCLOOP_HOME/pinecone/<namespace>.db: `index-docs` writes it, `docs search`
and `run` read it. Keeping it a plain SQLite file is what lets a deployment
copy it as one object (for example to S3 under `docs/<namespace>/`) and read
it with the same code.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import numpy as np

from docloop import db
from docloop.backends.docs_index.keyword_store import KeywordStore
from docloop.config import Settings

TOPIC_MIGRATIONS = ["CREATE TABLE docs_topics (path TEXT PRIMARY KEY, vector BLOB NOT NULL)"]


def keyword_path(home: Path, namespace: str) -> Path:
    """The keyword file of `namespace`: a safe file name, unique per namespace."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", namespace)[:80]
    digest = hashlib.sha256(namespace.encode()).hexdigest()[:8]
    return home / "pinecone" / f"{safe}-{digest}.db"


def open_keyword_store(settings: Settings, namespace: str) -> KeywordStore:
    """The namespace's keyword store (created empty on first use)."""
    return KeywordStore(db.connect(keyword_path(settings.home, namespace)))


class TopicStore:
    """Page -> topic vector, beside the keyword tables."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._cache: dict[str, np.ndarray] | None = None
        db.ensure_schema(conn, "docs_topics", TOPIC_MIGRATIONS)

    def put(self, path: str, vector: np.ndarray) -> None:
        self.conn.execute("INSERT OR REPLACE INTO docs_topics(path, vector) VALUES (?, ?)",
                          (path, np.asarray(vector, dtype=np.float32).tobytes()))
        self._cache = None

    def delete(self, path: str) -> None:
        self.conn.execute("DELETE FROM docs_topics WHERE path = ?", (path,))
        self._cache = None

    def delete_all(self) -> None:
        self.conn.execute("DELETE FROM docs_topics")
        self._cache = None

    def vectors(self, paths: list[str]) -> dict[str, np.ndarray]:
        """The topic vectors of those of `paths` that have one (all read once, then cached)."""
        if self._cache is None:
            rows = self.conn.execute("SELECT path, vector FROM docs_topics").fetchall()
            self._cache = {str(r[0]): np.frombuffer(r[1], dtype=np.float32) for r in rows}
        return {p: self._cache[p] for p in paths if p in self._cache}
