"""The embedded docs index: pages, chunks, FTS5 and vectors in SQLite.

Search is hybrid. A keyword query (FTS5 bm25 over title, heading and text,
title and heading weighted up) catches exact API names and error strings;
cosine similarity over every chunk vector (numpy brute force, the matrix
cached in memory) catches paraphrases. Both are normalised to 0..1 per
query, mixed with a fixed weight, and the best chunk per page stands for the
page. The weight was chosen on the tuning half of the FastAPI benchmark
(`benchmarks/search_bench.py`). The best pages are then re-ranked on the
users' names, a whole-page BM25, the page's topic and how much of a catch-all
it is (its hubness among the docs' own chunks, hubs.py): rerank.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from docloop import db
from docloop.backends.docs_index.base import DocsIndex
from docloop.backends.docs_index.hubs import page_hubness
from docloop.backends.docs_index.rerank import (
    FEATURES,
    PageScores,
    QueryTerms,
    RankSettings,
    page_features,
    rerank_order,
)
from docloop.backends.docs_index.terms import PageTerms
from docloop.backends.embedders.base import Embedder
from docloop.docs.chunker import chunk_page
from docloop.docs.loader import DocPage
from docloop.docs.markdown import anchors
from docloop.docs.query import clean_query, fts_query
from docloop.errors import ConfigError
from docloop.models import DocChunk, PageHit

MIGRATIONS = [
    """CREATE TABLE docs_pages (
        path TEXT PRIMARY KEY, url TEXT NOT NULL, title TEXT NOT NULL,
        content_hash TEXT NOT NULL, source TEXT NOT NULL
    );
    CREATE TABLE docs_chunks (
        rowid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL REFERENCES docs_pages(path) ON DELETE CASCADE,
        ord INTEGER NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL, heading TEXT NOT NULL,
        heading_path TEXT NOT NULL, anchor TEXT NOT NULL, text TEXT NOT NULL,
        start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, vector BLOB NOT NULL
    );
    CREATE INDEX docs_chunks_path ON docs_chunks(path, ord);
    CREATE VIRTUAL TABLE docs_fts USING fts5(title, heading, text,
        tokenize='porter unicode61');
    CREATE TABLE docs_meta (key TEXT PRIMARY KEY, value TEXT)""",
    # every heading's anchor, sections without text included (a link may point at one)
    """CREATE TABLE docs_anchors (
        path TEXT NOT NULL REFERENCES docs_pages(path) ON DELETE CASCADE,
        anchor TEXT NOT NULL, heading TEXT NOT NULL, level INTEGER NOT NULL,
        line INTEGER NOT NULL
    );
    CREATE INDEX docs_anchors_path ON docs_anchors(path)""",
]

#: bm25 column weights: title, heading path, text
FTS_WEIGHTS = (4.0, 2.0, 1.0)
VECTOR_WEIGHT = 0.4  # share of cosine in the fused score; the rest is keyword (tuned)
KEYWORD_CANDIDATES = 200
SUPPORT_CHUNKS = 3  # a page's best chunks whose mean hybrid score is its `support`
RRF_K = 60


@dataclass
class SyncStats:
    """What one `sync` changed."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedded: int = 0


@dataclass
class Candidates:
    """A query's candidate pages, in hybrid order, and their re-ranking features."""

    paths: list[str]
    chunks: list[int]  # each page's best chunk (row in the vector matrix)
    features: np.ndarray  # one row of rerank.FEATURES per page
    keyword: np.ndarray  # the best chunk's keyword score


@dataclass
class _Matrix:
    rowids: np.ndarray
    vectors: np.ndarray
    paths: list[str] = field(default_factory=list)
    _topics: dict[str, np.ndarray] | None = None
    _hubs: dict[str, float] | None = None

    def topics(self) -> dict[str, np.ndarray]:
        """Page -> the unit mean of its chunk vectors (what the page as a whole is about)."""
        if self._topics is None:
            rows: dict[str, list[int]] = {}
            for i, path in enumerate(self.paths):
                rows.setdefault(path, []).append(i)
            self._topics = {p: _unit(self.vectors[r].mean(axis=0)) for p, r in rows.items()}
        return self._topics

    def hubs(self) -> dict[str, float]:
        """Page -> how much of a catch-all it is (hubs.page_hubness), computed once."""
        if self._hubs is None:
            self._hubs = page_hubness(self.vectors, self.paths)
        return self._hubs


Progress = Callable[[int], None]


class SQLiteDocsIndex(DocsIndex):
    """Docs index over the shared docloop database connection."""

    def __init__(self, conn: sqlite3.Connection, embedder: Embedder,
                 vector_weight: float = VECTOR_WEIGHT, fusion: str = "weighted",
                 rank: RankSettings | None = None) -> None:
        self.conn = conn
        self.rank = rank or RankSettings()
        self._terms: PageTerms | None = None
        self.embedder = embedder
        self.vector_weight = vector_weight
        self.fusion = fusion  # "weighted" (normalised weighted sum) or "rrf"
        self._matrix: _Matrix | None = None
        db.ensure_schema(conn, "docs_index", MIGRATIONS)

    @classmethod
    def from_settings(cls, settings: Any, *, conn: sqlite3.Connection, embedder: Embedder,
                      rank: RankSettings | None = None) -> SQLiteDocsIndex:
        """Build from the shared connection and an embedder (settings carry nothing else)."""
        return cls(conn, embedder, rank=rank)

    # -- writing ---------------------------------------------------------------

    def sync(self, pages: Sequence[DocPage], progress: Progress | None = None) -> SyncStats:
        """Make the index hold exactly `pages`; only new or changed pages are embedded."""
        built_with = self.meta("embedder")
        known = ({} if built_with not in (None, self.embedder.name) else
                 dict(self.conn.execute("SELECT path, content_hash FROM docs_pages").fetchall()))
        stats = SyncStats()
        fresh = [p for p in pages if known.get(p.path) != p.content_hash]
        stats.unchanged = len(pages) - len(fresh)
        stats.changed = sum(1 for p in fresh if p.path in known)
        stats.added = len(fresh) - stats.changed
        gone = set(known) - {p.path for p in pages}
        stats.removed = len(gone)
        chunks = {p.path: chunk_page(p) for p in fresh}
        vectors = self._embed_chunks([c for cs in chunks.values() for c in cs], progress)
        stats.embedded = len(vectors)
        with db.transaction(self.conn):
            if not known:  # a new index, or one built with another embedder: start over
                self._delete_all()
            for path in gone | {p.path for p in fresh if p.path in known}:
                self._delete_page(path)
            offset = 0
            for page in fresh:
                page_chunks = chunks[page.path]
                self._insert_page(page, page_chunks, vectors[offset : offset + len(page_chunks)])
                offset += len(page_chunks)
            self._record_embedder()
        stats.chunks = self.conn.execute("SELECT count(*) FROM docs_chunks").fetchone()[0]
        self._matrix = None
        self._terms = None
        return stats

    def set_meta(self, key: str, value: str) -> None:
        """Remember a fact about the index (docs root, base URL)."""
        with db.transaction(self.conn):
            self.conn.execute("INSERT OR REPLACE INTO docs_meta(key, value) VALUES (?, ?)",
                              (key, value))

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM docs_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _embed_chunks(self, chunks: list[DocChunk], progress: Progress | None) -> np.ndarray:
        texts = [embedding_text(c) for c in chunks]
        parts = []
        step = 64
        for start in range(0, len(texts), step):
            parts.append(self.embedder.embed(texts[start : start + step]))
            if progress:
                progress(len(texts[start : start + step]))
        if not parts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.vstack(parts).astype(np.float32)

    def _record_embedder(self) -> None:
        """Remember which model the stored vectors come from (checked on every read)."""
        self.conn.execute("INSERT OR REPLACE INTO docs_meta(key, value) VALUES ('embedder', ?)",
                          (self.embedder.name,))

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

    def _delete_all(self) -> None:
        self.conn.execute("DELETE FROM docs_fts")
        self.conn.execute("DELETE FROM docs_chunks")
        self.conn.execute("DELETE FROM docs_pages")

    def _delete_page(self, path: str) -> None:
        self.conn.execute(
            "DELETE FROM docs_fts WHERE rowid IN (SELECT rowid FROM docs_chunks WHERE path = ?)",
            (path,))
        self.conn.execute("DELETE FROM docs_chunks WHERE path = ?", (path,))
        self.conn.execute("DELETE FROM docs_anchors WHERE path = ?", (path,))
        self.conn.execute("DELETE FROM docs_pages WHERE path = ?", (path,))

    def _insert_page(self, page: DocPage, chunks: list[DocChunk], vectors: np.ndarray) -> None:
        self.conn.execute(
            "INSERT INTO docs_pages(path, url, title, content_hash, source) VALUES (?,?,?,?,?)",
            (page.path, page.url, page.title, page.content_hash, page.source))
        self.conn.executemany(
            "INSERT INTO docs_anchors(path, anchor, heading, level, line) VALUES (?,?,?,?,?)",
            [(page.path, h.anchor, h.text, h.level, h.line) for h in anchors(page.sections)])
        for order, (chunk, vector) in enumerate(zip(chunks, vectors, strict=True)):
            cursor = self.conn.execute(
                "INSERT INTO docs_chunks(chunk_id, path, ord, url, title, heading, heading_path,"
                " anchor, text, start_line, end_line, vector) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (chunk.id, chunk.path, order, chunk.url, chunk.title, chunk.heading,
                 json.dumps(chunk.heading_path), chunk.anchor, chunk.text, chunk.start_line,
                 chunk.end_line, np.asarray(vector, dtype=np.float32).tobytes()))
            self.conn.execute(
                "INSERT INTO docs_fts(rowid, title, heading, text) VALUES (?,?,?,?)",
                (cursor.lastrowid, chunk.title, " ".join(chunk.heading_path), chunk.text))

    # -- reading ---------------------------------------------------------------

    def page_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM docs_pages").fetchone()[0])

    def page_chunks(self, path: str) -> list[DocChunk]:
        rows = self.conn.execute("SELECT * FROM docs_chunks WHERE path = ? ORDER BY ord", (path,))
        return [_chunk_from_row(row) for row in rows]

    def page_similarity(self, path: str, vector: np.ndarray) -> float:
        """Best cosine between `vector` and any chunk of the page (0.0 if the page is unknown)."""
        matrix = self._load_matrix()
        rows = [i for i, p in enumerate(matrix.paths) if p == path]
        if not rows:
            return 0.0
        return float((matrix.vectors[rows] @ np.asarray(vector, dtype=np.float32)).max())

    def page_anchors(self, path: str) -> list[str]:
        """The anchors of every heading on the page, in order."""
        rows = self.conn.execute("SELECT anchor FROM docs_anchors WHERE path = ? ORDER BY line",
                                 (path,))
        return [str(row[0]) for row in rows]

    def best_similarities(self, vectors: np.ndarray) -> np.ndarray:
        """For each vector, the best cosine any chunk of any page reaches (0 when empty)."""
        matrix = self._load_matrix()
        if len(matrix.rowids) == 0:
            return np.zeros(len(vectors), dtype=np.float32)
        return (np.asarray(vectors, dtype=np.float32) @ matrix.vectors.T).max(axis=1)

    def page_source(self, path: str) -> str | None:
        row = self.conn.execute("SELECT source FROM docs_pages WHERE path = ?", (path,)).fetchone()
        return None if row is None else str(row[0])

    def page_url(self, path: str) -> str | None:
        row = self.conn.execute("SELECT url FROM docs_pages WHERE path = ?", (path,)).fetchone()
        return None if row is None else str(row[0])

    # -- searching -------------------------------------------------------------

    def search(self, query: str, top_k: int = 5) -> list[PageHit]:
        return self.search_many([query], top_k)[0]

    def search_many(self, queries: Sequence[str], top_k: int = 5) -> list[list[PageHit]]:
        """Search several queries with one embedding batch."""
        self._load_matrix()  # an index built by another model fails before any embedding
        vectors = self.embedder.embed([clean_query(q) or q for q in queries])
        return [self.search_vector(q, v, top_k) for q, v in zip(queries, vectors, strict=True)]

    def search_ranked(self, query: str, top_k: int, rank: RankSettings) -> list[PageHit]:
        """Search one query re-ranked with `rank` instead of the index's own settings (the
        match stage's group query re-ranks while its members vote on the hybrid order)."""
        self._load_matrix()
        vector = self.embedder.embed([clean_query(query) or query])[0]
        return self.search_vector(query, vector, top_k, rank)

    def search_vector(self, text: str, vector: np.ndarray, top_k: int = 5,
                      rank: RankSettings | None = None) -> list[PageHit]:
        """Hybrid search with a query vector computed by the caller (and `text` for keywords),
        its candidate pages re-ranked (see rerank.py) with `rank` (default: the index's)."""
        rank = rank or self.rank
        pool = self.candidates(text, vector, max(top_k, rank.candidates))
        order = rerank_order(pool.features, rank)[:top_k]
        scores = pool.features @ rank.weights()
        matrix = self._load_matrix()
        return [self._hit(matrix, pool.chunks[i], float(scores[i]), float(pool.features[i, 1]),
                          float(pool.keyword[i])) for i in order]

    def candidates(self, text: str, vector: np.ndarray, limit: int) -> Candidates:
        """The hybrid search's `limit` best pages with their re-ranking features."""
        matrix = self._load_matrix()
        if len(matrix.rowids) == 0:
            return Candidates([], [], np.zeros((0, len(FEATURES))), np.zeros(0))
        if len(vector) != matrix.vectors.shape[1]:
            self._check_embedder(matrix.vectors.shape[1], len(vector))
        cosine = matrix.vectors @ np.asarray(vector, dtype=np.float32)
        keyword = self._keyword_scores(text, matrix)
        if self.fusion == "rrf":
            fused = _rrf(cosine, keyword)
        else:
            fused = self.vector_weight * _unit_scale(cosine) + (1 - self.vector_weight) * keyword
        chosen = _best_chunk_per_page(fused, matrix.paths, limit)
        paths = list(chosen)
        chunks = [c[0] for c in chosen.values()]
        best_cosine = _max_per_page(cosine, matrix.paths)
        topics = matrix.topics()
        hubs = matrix.hubs()
        query = np.asarray(vector, dtype=np.float32)
        scores = [PageScores(fused=float(fused[best[0]]), cosine=best_cosine[path],
                             support=float(fused[best].sum()) / SUPPORT_CHUNKS,
                             topic=float(topics[path] @ query), hub=hubs.get(path, 0.0))
                  for path, best in chosen.items()]
        terms = self.page_terms()
        features = page_features(QueryTerms.of(text, terms), terms, paths, scores)
        return Candidates(paths, chunks, features, keyword[chunks])

    def page_terms(self) -> PageTerms:
        """Per-page words and names for re-ranking (built once from the stored chunks)."""
        if self._terms is None:
            rows = self.conn.execute("SELECT path, title, heading_path, text FROM docs_chunks")
            self._terms = PageTerms.build(
                (r["path"], r["title"], json.loads(r["heading_path"]), r["text"]) for r in rows)
        return self._terms

    def _keyword_scores(self, text: str, matrix: _Matrix) -> np.ndarray:
        """bm25 per chunk, scaled to 0..1 by the best hit (0 where no term matched)."""
        scores = np.zeros(len(matrix.rowids), dtype=np.float32)
        query = fts_query(text)
        if query is None:
            return scores
        rows = self.conn.execute(
            "SELECT rowid, bm25(docs_fts, ?, ?, ?) FROM docs_fts WHERE docs_fts MATCH ? "
            "ORDER BY rank LIMIT ?", (*FTS_WEIGHTS, query, KEYWORD_CANDIDATES)).fetchall()
        if not rows:
            return scores
        position = {int(r): i for i, r in enumerate(matrix.rowids)}
        best = max(-float(score) for _, score in rows) or 1.0
        for rowid, score in rows:
            if rowid in position:
                scores[position[rowid]] = -float(score) / best
        return scores

    def _hit(self, matrix: _Matrix, index: int, score: float, similarity: float,
             keyword: float) -> PageHit:
        row = self.conn.execute(
            "SELECT c.*, p.url AS page_url FROM docs_chunks c JOIN docs_pages p USING(path) "
            "WHERE c.rowid = ?", (int(matrix.rowids[index]),)).fetchone()
        return PageHit(path=row["path"], url=row["page_url"], title=row["title"],
                       heading=row["heading"], anchor=row["anchor"], score=round(score, 6),
                       similarity=round(similarity, 6), keyword=round(keyword, 6),
                       chunk_id=row["chunk_id"], text=row["text"])

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


def embedding_text(chunk: DocChunk) -> str:
    """What is embedded for a chunk: where it sits (title > headings) and its text."""
    trail = " > ".join(dict.fromkeys([chunk.title, *chunk.heading_path]))
    return f"{trail}\n{chunk.text}"


def _unit_scale(values: np.ndarray) -> np.ndarray:
    """Cosines mapped to 0..1 relative to this query's best (negatives count as 0)."""
    clipped = np.clip(values, 0.0, None)
    top = float(clipped.max()) if len(clipped) else 0.0
    return clipped / top if top > 0 else clipped


def _rrf(cosine: np.ndarray, keyword: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """Reciprocal rank fusion; chunks with no keyword match get no keyword share."""
    fused = np.zeros(len(cosine), dtype=np.float32)
    fused[np.argsort(-cosine, kind="stable")] = 1.0 / (k + np.arange(1, len(cosine) + 1))
    matched = np.flatnonzero(keyword > 0)
    ranks = np.argsort(-keyword[matched], kind="stable")
    fused[matched[ranks]] += 1.0 / (k + np.arange(1, len(matched) + 1))
    return fused


def _best_chunk_per_page(fused: np.ndarray, paths: list[str],
                         limit: int) -> dict[str, list[int]]:
    """Page -> positions of its best chunks (at most SUPPORT_CHUNKS, best first), for the
    `limit` best pages, best page first."""
    chosen: dict[str, list[int]] = {}
    for index in np.argsort(-fused, kind="stable"):
        path = paths[int(index)]
        if path in chosen:
            if len(chosen[path]) < SUPPORT_CHUNKS:
                chosen[path].append(int(index))
        elif len(chosen) < limit:
            chosen[path] = [int(index)]
    return chosen


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def _max_per_page(values: np.ndarray, paths: list[str]) -> dict[str, float]:
    best: dict[str, float] = {}
    for value, path in zip(values.tolist(), paths, strict=True):
        if value > best.get(path, -2.0):
            best[path] = value
    return best


def _chunk_from_row(row: sqlite3.Row) -> DocChunk:
    return DocChunk(id=row["chunk_id"], path=row["path"], url=row["url"], title=row["title"],
                    heading=row["heading"], heading_path=json.loads(row["heading_path"]),
                    anchor=row["anchor"], text=row["text"], start_line=row["start_line"],
                    end_line=row["end_line"])
