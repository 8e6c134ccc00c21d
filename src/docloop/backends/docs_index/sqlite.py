"""The embedded docs index: pages, chunks, FTS5 and vectors in SQLite.

The keyword side (pages, chunk texts, FTS5, anchors) is the KeywordStore's
tables in docloop's database; each chunk's vector sits beside its text, and
cosine similarity is numpy brute force over the matrix, cached in memory.
Ranking is the shared hybrid ranker (hybrid.py); `sync` also stores each
page's catch-all score (hubs.py) so searching never computes it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from docloop import db
from docloop.backends.docs_index.hybrid import (
    VECTOR_WEIGHT,
    Candidates,
    HybridDocsIndex,
    Progress,
    SyncStats,
    embedding_text,
    page_topics,
    plan_sync,
)
from docloop.backends.docs_index.keyword_store import (
    FTS_WEIGHTS,
    KEYWORD_CANDIDATES,
    MIGRATIONS,
    ChunkLayout,
    KeywordStore,
)
from docloop.backends.docs_index.rerank import RankSettings
from docloop.backends.embedders.base import Embedder
from docloop.docs.loader import DocPage
from docloop.errors import ConfigError
from docloop.models import DocChunk

if TYPE_CHECKING:
    from docloop.stores import Stores

__all__ = ["FTS_WEIGHTS", "KEYWORD_CANDIDATES", "MIGRATIONS", "Candidates", "SQLiteDocsIndex",
           "SyncStats", "embedding_text", "index_version"]


def index_version(conn: sqlite3.Connection) -> str:
    """A digest of the indexed docs: every page's path, URL and content, the index's
    settings and its chunk rows ("none" before anything was indexed).

    Read without building the index (no embedder is loaded), so a run can tell
    cheaply whether the docs changed since an earlier analysis.
    """
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "docs_pages" not in tables:
        return "none"
    digest = hashlib.sha256()
    for query in ("SELECT path, url, title, content_hash, source FROM docs_pages ORDER BY path",
                  "SELECT key, value FROM docs_meta ORDER BY key",
                  "SELECT COUNT(*), MAX(rowid), TOTAL(rowid) FROM docs_chunks"):
        for row in conn.execute(query):
            digest.update(json.dumps(list(row), default=str).encode())
    return digest.hexdigest()


@dataclass
class _Matrix:
    rowids: np.ndarray
    vectors: np.ndarray
    paths: list[str] = field(default_factory=list)
    _topics: dict[str, np.ndarray] | None = None

    def topics(self) -> dict[str, np.ndarray]:
        """Page -> the unit mean of its chunk vectors (what the page as a whole is about)."""
        if self._topics is None:
            self._topics = page_topics(self.vectors, self.paths)
        return self._topics


class SQLiteDocsIndex(HybridDocsIndex):
    """Docs index over the shared docloop database connection."""

    def __init__(self, conn: sqlite3.Connection, embedder: Embedder,
                 vector_weight: float = VECTOR_WEIGHT, fusion: str = "weighted",
                 rank: RankSettings | None = None) -> None:
        super().__init__(KeywordStore(conn), embedder, vector_weight, fusion, rank)
        self.conn = conn
        self._matrix: _Matrix | None = None

    @classmethod
    def from_settings(cls, settings: Any, *, conn: sqlite3.Connection, embedder: Embedder,
                      rank: RankSettings | None = None) -> SQLiteDocsIndex:
        """Build from the shared connection and an embedder (settings carry nothing else)."""
        return cls(conn, embedder, rank=rank)

    @classmethod
    def version(cls, settings: Any, stores: Stores, s3: Any = None) -> str:
        """The indexed docs' digest, read from docloop's database (`index_version`)."""
        return index_version(stores.docs_conn)

    # -- writing ---------------------------------------------------------------

    def sync(self, pages: Sequence[DocPage], progress: Progress | None = None) -> SyncStats:
        """Make the index hold exactly `pages`; only new or changed pages are embedded."""
        built_with = self.meta("embedder")
        known = ({} if built_with not in (None, self.embedder.name) else
                 self.store.known_hashes())
        plan = plan_sync(pages, known, self.embedder, progress)
        with db.transaction(self.conn):
            if not known:  # a new index, or one built with another embedder: start over
                self.store.delete_all()
            for path in plan.replaced:
                self.store.delete_page(path)
            vectors = plan.page_vectors()
            for page in plan.fresh:
                self._insert_page(page, plan.chunks[page.path], vectors[page.path])
            self.store.store_page_hubs()
            self.store.put_meta("embedder", self.embedder.name)
        stats = plan.stats
        stats.chunks = self.store.chunk_count()
        self._matrix = None
        self.store.changed()
        return stats

    def _insert_page(self, page: DocPage, chunks: list[DocChunk], vectors: np.ndarray) -> None:
        self.store.insert_page(page, chunks, vectors)

    def check_embedder(self) -> None:
        """ConfigError now, before a run relies on it, if another model built the index."""
        self._load_matrix()

    def _check_embedder(self, dim: int, query_dim: int | None = None) -> None:
        """Refuse to compare vectors of different models (ConfigError: re-index)."""
        built_with = self.meta("embedder") or self.embedder.name
        expected = query_dim or self.embedder.dim
        if built_with != self.embedder.name or (expected and dim != expected):
            raise ConfigError(
                f"the docs index holds {dim}-dim vectors from embedder '{built_with}' but the "
                f"configured embedder is '{self.embedder.name}'"
                f"{f' ({expected}-dim)' if expected else ''}: re-run "
                "`docloop index-docs PATH` to re-index the docs with it")

    # -- the vector side ---------------------------------------------------------

    def chunk_cosines(self, vector: np.ndarray, layout: ChunkLayout) -> np.ndarray:
        matrix = self._load_matrix()
        if len(vector) != matrix.vectors.shape[1]:
            self._check_embedder(matrix.vectors.shape[1], len(vector))
        return matrix.vectors @ np.asarray(vector, dtype=np.float32)

    def candidate_vectors(self, path: str) -> np.ndarray:
        """A page's chunk vectors, from the in-memory matrix."""
        matrix = self._load_matrix()
        return matrix.vectors[self.store.layout().page_rows(path)]

    def topic_similarities(self, paths: list[str], vector: np.ndarray) -> list[float]:
        topics = self._load_matrix().topics()
        return [float(topics[p] @ vector) for p in paths]

    def page_similarity(self, path: str, vector: np.ndarray) -> float:
        """Best cosine between `vector` and any chunk of the page (0.0 if the page is unknown)."""
        matrix = self._load_matrix()
        rows = [i for i, p in enumerate(matrix.paths) if p == path]
        if not rows:
            return 0.0
        return float((matrix.vectors[rows] @ np.asarray(vector, dtype=np.float32)).max())

    def best_similarities(self, vectors: np.ndarray) -> np.ndarray:
        """For each vector, the best cosine any chunk of any page reaches (0 when empty)."""
        matrix = self._load_matrix()
        if len(matrix.rowids) == 0:
            return np.zeros(len(vectors), dtype=np.float32)
        return (np.asarray(vectors, dtype=np.float32) @ matrix.vectors.T).max(axis=1)

    def _load_matrix(self) -> _Matrix:
        if self._matrix is None:
            rows = self.conn.execute(
                "SELECT rowid, path, vector FROM docs_chunks ORDER BY rowid").fetchall()
            dim = len(rows[0]["vector"]) // 4 if rows else self.embedder.dim
            if rows:
                self._check_embedder(dim)
            vectors = np.zeros((len(rows), dim), dtype=np.float32)
            for i, row in enumerate(rows):
                vectors[i] = np.frombuffer(row["vector"], dtype=np.float32)
            self._matrix = _Matrix(np.array([r["rowid"] for r in rows], dtype=np.int64),
                                   vectors, [r["path"] for r in rows])
        return self._matrix
