"""The docs index's lexical side: pages, chunk texts, FTS5, anchors and page terms in SQLite.

Every docs index keeps one. The SQLite index keeps it in docloop's database,
each chunk's vector beside its text; the Pinecone index keeps it in a file of
its own per namespace (the vectors live in Pinecone, whose metadata could not
hold the texts; the file keeps a copy of each vector for the catch-all
scores). The hybrid ranker (hybrid.py) reads keyword scores, page terms,
chunks and hits only through this class, so both indexes rank pages
with the same code on the same statistics, including each page's catch-all
score (hubs.py), computed once per `index-docs` and kept in docs_meta.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from docloop import db
from docloop.backends.docs_index.hubs import page_hubness
from docloop.backends.docs_index.navigation import navigation_rows
from docloop.backends.docs_index.pointers import LinkTable
from docloop.backends.docs_index.terms import PageTerms, page_texts
from docloop.docs.loader import DocPage
from docloop.docs.markdown import anchors
from docloop.docs.query import fts_query
from docloop.models import DocChunk, PageHit
from docloop.text import any_mentions, mention_share

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
KEYWORD_CANDIDATES = 200
HUBS_META = "page_hubs"  # docs_meta key: JSON page -> catch-all score (store_page_hubs)


@dataclass
class ChunkLayout:
    """Every stored chunk in one fixed order (rowid): the positions the ranker's per-chunk
    score arrays (cosine, keyword, fused) are aligned to."""

    rowids: np.ndarray
    chunk_ids: list[str]
    paths: list[str]
    _positions: dict[str, int] | None = field(default=None, repr=False)
    _page_rows: dict[str, np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def page_rows(self, path: str) -> np.ndarray:
        """The positions of a page's chunks (empty for a page the store does not hold)."""
        if self._page_rows is None:
            rows: dict[str, list[int]] = {}
            for i, page in enumerate(self.paths):
                rows.setdefault(page, []).append(i)
            self._page_rows = {p: np.array(r, dtype=np.int64) for p, r in rows.items()}
        return self._page_rows.get(path, np.zeros(0, dtype=np.int64))

    def position(self, chunk_id: str) -> int | None:
        """The position of a chunk id (None for an id the store does not hold)."""
        if self._positions is None:
            self._positions = {c: i for i, c in enumerate(self.chunk_ids)}
        return self._positions.get(chunk_id)


class KeywordStore:
    """The docs tables over one SQLite connection (docloop's database or a keyword file)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._layout: ChunkLayout | None = None
        self._terms: PageTerms | None = None
        self._links: LinkTable | None = None
        self._hubs: dict[str, float] | None = None
        self._navigation: np.ndarray | None = None
        self._texts: list[str] | None = None  # mentions: the pages' lower-cased texts
        self._shares: dict[str, float] = {}  # mention_share's answers for these texts
        db.ensure_schema(conn, "docs_index", MIGRATIONS)

    # -- writing (callers hold the transaction) ----------------------------------

    def known_hashes(self) -> dict[str, str]:
        """Page path -> content hash of every stored page."""
        return dict(self.conn.execute("SELECT path, content_hash FROM docs_pages").fetchall())

    def chunk_ids(self, paths: Iterable[str]) -> set[str]:
        """The ids of the stored chunks of `paths`."""
        found: set[str] = set()
        for path in paths:
            rows = self.conn.execute("SELECT chunk_id FROM docs_chunks WHERE path = ?", (path,))
            found.update(str(row[0]) for row in rows)
        return found

    def delete_all(self) -> None:
        self.conn.execute("DELETE FROM docs_fts")
        self.conn.execute("DELETE FROM docs_chunks")
        self.conn.execute("DELETE FROM docs_pages")

    def delete_page(self, path: str) -> None:
        self.conn.execute(
            "DELETE FROM docs_fts WHERE rowid IN (SELECT rowid FROM docs_chunks WHERE path = ?)",
            (path,))
        self.conn.execute("DELETE FROM docs_chunks WHERE path = ?", (path,))
        self.conn.execute("DELETE FROM docs_anchors WHERE path = ?", (path,))
        self.conn.execute("DELETE FROM docs_pages WHERE path = ?", (path,))

    def insert_page(self, page: DocPage, chunks: list[DocChunk], vectors: np.ndarray) -> None:
        """Store a page, its anchors and chunks with their vectors."""
        self.conn.execute(
            "INSERT INTO docs_pages(path, url, title, content_hash, source) VALUES (?,?,?,?,?)",
            (page.path, page.url, page.title, page.content_hash, page.source))
        self.conn.executemany(
            "INSERT INTO docs_anchors(path, anchor, heading, level, line) VALUES (?,?,?,?,?)",
            [(page.path, h.anchor, h.text, h.level, h.line) for h in anchors(page.sections)])
        for order, chunk in enumerate(chunks):
            blob = np.asarray(vectors[order], np.float32).tobytes()
            cursor = self.conn.execute(
                "INSERT INTO docs_chunks(chunk_id, path, ord, url, title, heading, heading_path,"
                " anchor, text, start_line, end_line, vector) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (chunk.id, chunk.path, order, chunk.url, chunk.title, chunk.heading,
                 json.dumps(chunk.heading_path), chunk.anchor, chunk.text, chunk.start_line,
                 chunk.end_line, blob))
            self.conn.execute(
                "INSERT INTO docs_fts(rowid, title, heading, text) VALUES (?,?,?,?)",
                (cursor.lastrowid, chunk.title, " ".join(chunk.heading_path), chunk.text))

    def put_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO docs_meta(key, value) VALUES (?, ?)",
                          (key, value))

    def store_page_hubs(self) -> None:
        """Score every page as a catch-all (hubs.page_hubness) from the stored chunk vectors
        and keep the scores in docs_meta: searching then never computes them, and a page
        ranks the same whichever index holds the vectors."""
        rows = self.conn.execute("SELECT path, vector FROM docs_chunks ORDER BY rowid").fetchall()
        hubs: dict[str, float] = {}
        if rows:
            vectors = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            hubs = page_hubness(vectors, [str(r[0]) for r in rows])
        self.put_meta(HUBS_META, json.dumps(hubs, sort_keys=True))

    def changed(self) -> None:
        """Forget what was read from the tables (after a sync)."""
        self._layout = None
        self._terms = None
        self._links = None
        self._hubs = None
        self._navigation = None
        self._texts = None
        self._shares = {}

    # -- reading -----------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM docs_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def page_vectors(self, path: str) -> np.ndarray:
        """The stored vectors of a page's chunks in rowid order (the layout's order); no
        rows for an unknown page or one stored without vectors (an old keyword file)."""
        rows = self.conn.execute(
            "SELECT vector FROM docs_chunks WHERE path = ? ORDER BY rowid", (path,)).fetchall()
        blobs = [r[0] for r in rows if r[0]]
        if not blobs or len(blobs) < len(rows):
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([np.frombuffer(b, dtype=np.float32) for b in blobs])

    def lacks_vectors(self) -> bool:
        """Whether some chunk was stored without its vector (a keyword file written before
        the store kept them: its catch-all scores cannot be computed until it is rebuilt)."""
        return self.conn.execute(
            "SELECT 1 FROM docs_chunks WHERE length(vector) = 0 LIMIT 1").fetchone() is not None

    def page_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM docs_pages").fetchone()[0])

    def chunk_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM docs_chunks").fetchone()[0])

    def page_chunks(self, path: str) -> list[DocChunk]:
        rows = self.conn.execute("SELECT * FROM docs_chunks WHERE path = ? ORDER BY ord", (path,))
        return [_chunk_from_row(row) for row in rows]

    def page_anchors(self, path: str) -> list[str]:
        rows = self.conn.execute("SELECT anchor FROM docs_anchors WHERE path = ? ORDER BY line",
                                 (path,))
        return [str(row[0]) for row in rows]

    def page_source(self, path: str) -> str | None:
        row = self.conn.execute("SELECT source FROM docs_pages WHERE path = ?", (path,)).fetchone()
        return None if row is None else str(row[0])

    def page_url(self, path: str) -> str | None:
        row = self.conn.execute("SELECT url FROM docs_pages WHERE path = ?", (path,)).fetchone()
        return None if row is None else str(row[0])

    def layout(self) -> ChunkLayout:
        """Every chunk's rowid, id and page, in rowid order (read once per sync)."""
        if self._layout is None:
            rows = self.conn.execute(
                "SELECT rowid, chunk_id, path FROM docs_chunks ORDER BY rowid").fetchall()
            self._layout = ChunkLayout(np.array([r[0] for r in rows], dtype=np.int64),
                                       [str(r[1]) for r in rows], [str(r[2]) for r in rows])
        return self._layout

    def navigation(self) -> np.ndarray:
        """Per layout position, whether the chunk only points elsewhere (navigation.py;
        read once per sync, in the layout's rowid order)."""
        if self._navigation is None:
            self._read_texts()
        assert self._navigation is not None
        return self._navigation

    def mentions(self, name: str) -> bool:
        """Whether any page mentions a code name or error string (`offline_suggest.mentions`
        over the pages, as the ranking's page terms read a page). The pages' texts are read
        once per process, and no page terms are built for it: an insight enriched with its
        match already made never ranks."""
        return any_mentions(self._page_texts(), name)

    def mention_share(self, name: str) -> float:
        """The share of pages that mention a name or word, as `mentions` reads them; kept
        per name until the next sync (a run's tickets ask for the same names again, and
        each answer reads every page)."""
        texts = self._page_texts()
        if name not in self._shares:
            self._shares[name] = mention_share(texts, name)
        return self._shares[name]

    def _page_texts(self) -> list[str]:
        """Every page's text, lower-cased, read once per process (`mentions`)."""
        if self._texts is None and self._terms is not None:
            self._texts = [page.text for page in self._terms.pages.values()]
        elif self._texts is None:
            rows = self.conn.execute("SELECT path, title, heading_path, text FROM docs_chunks "
                                     "ORDER BY rowid")
            self._texts = list(page_texts((r[0], r[1], json.loads(r[2]), r[3])
                                          for r in rows).values())
        return self._texts

    def page_terms(self) -> PageTerms:
        """Per-page words and names for re-ranking (built once from the stored chunks)."""
        if self._terms is None:
            self._read_texts()
        assert self._terms is not None
        return self._terms

    def _read_texts(self) -> None:
        """Every chunk's text read once for what the ranking derives from it: the page
        terms and the chunks that only point elsewhere (each search needs both)."""
        rows = self.conn.execute("SELECT path, title, heading_path, heading, text FROM "
                                 "docs_chunks ORDER BY rowid").fetchall()
        self._terms = PageTerms.build(
            (r["path"], r["title"], json.loads(r["heading_path"]), r["text"]) for r in rows)
        self._navigation = navigation_rows((r["heading"], r["text"]) for r in rows)

    def chunk_links(self) -> LinkTable:
        """Each chunk's links to other indexed pages (built once from the stored chunks)."""
        if self._links is None:
            rows = self.conn.execute("SELECT chunk_id, path, text FROM docs_chunks").fetchall()
            paths = [r[0] for r in self.conn.execute("SELECT path FROM docs_pages")]
            self._links = LinkTable.build(((r[0], r[1], r[2]) for r in rows), paths)
        return self._links

    def page_hubs(self) -> dict[str, float]:
        """Page -> its catch-all score as the last `index-docs` stored it ({} before one)."""
        if self._hubs is None:
            stored = self.meta(HUBS_META)
            self._hubs = {str(p): float(v) for p, v in json.loads(stored).items()} if stored else {}
        return self._hubs

    def keyword_scores(self, text: str, layout: ChunkLayout) -> np.ndarray:
        """bm25 per chunk, scaled to 0..1 by the best hit (0 where no term matched)."""
        scores = np.zeros(len(layout.rowids), dtype=np.float32)
        query = fts_query(text)
        if query is None:
            return scores
        rows = self.conn.execute(
            "SELECT rowid, bm25(docs_fts, ?, ?, ?) FROM docs_fts WHERE docs_fts MATCH ? "
            "ORDER BY rank LIMIT ?", (*FTS_WEIGHTS, query, KEYWORD_CANDIDATES)).fetchall()
        if not rows:
            return scores
        position = {int(r): i for i, r in enumerate(layout.rowids)}
        best = max(-float(score) for _, score in rows) or 1.0
        for rowid, score in rows:
            if rowid in position:
                scores[position[rowid]] = -float(score) / best
        return scores

    def hit(self, rowid: int, score: float, similarity: float, keyword: float) -> PageHit:
        """The page hit a chunk stands for, with its scores."""
        row = self.conn.execute(
            "SELECT c.*, p.url AS page_url FROM docs_chunks c JOIN docs_pages p USING(path) "
            "WHERE c.rowid = ?", (rowid,)).fetchone()
        return PageHit(path=row["path"], url=row["page_url"], title=row["title"],
                       heading=row["heading"], anchor=row["anchor"], score=round(score, 6),
                       similarity=round(similarity, 6), keyword=round(keyword, 6),
                       chunk_id=row["chunk_id"], text=row["text"])


def _chunk_from_row(row: sqlite3.Row) -> DocChunk:
    return DocChunk(id=row["chunk_id"], path=row["path"], url=row["url"], title=row["title"],
                    heading=row["heading"], heading_path=json.loads(row["heading_path"]),
                    anchor=row["anchor"], text=row["text"], start_line=row["start_line"],
                    end_line=row["end_line"])
