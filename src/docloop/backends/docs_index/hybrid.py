"""Hybrid page ranking, shared by every docs index (SQLite, Pinecone).

Search is hybrid. A keyword query (FTS5 bm25 over title, heading and text,
title and heading weighted up) catches exact API names and error strings;
cosine similarity over every chunk vector catches paraphrases. Both are
normalised to 0..1 per query, mixed with a fixed weight, and the best chunk
per page stands for the page. The weight was chosen on the tuning half of
the FastAPI benchmark (`benchmarks/search_bench.py`). The best pages are then
re-ranked on the users' names, a whole-page BM25, the page's topic and how
much of a catch-all it is (its hubness among the docs' own chunks, hubs.py,
stored by `index-docs`): rerank.py.

An index subclass supplies only the vector side — each chunk's cosine with the
query and each page's topic similarity — and the writing (`sync`); the
keyword side, the fusion and the re-ranking are this module's, so a page
ranks the same whichever index holds the vectors.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from docloop import db
from docloop.backends.docs_index.base import DocsIndex
from docloop.backends.docs_index.keyword_store import ChunkLayout, KeywordStore
from docloop.backends.docs_index.late import part_features
from docloop.backends.docs_index.pointers import pointed_scores
from docloop.backends.docs_index.rerank import (
    ALL_FEATURES,
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
from docloop.docs.query import clean_query, query_parts
from docloop.models import DocChunk, PageHit

VECTOR_WEIGHT = 0.4  # share of cosine in the fused score; the rest is keyword (tuned)
SUPPORT_CHUNKS = 3  # a page's best chunks whose mean hybrid score is its `support`
RRF_K = 60
LATE_FEATURES = frozenset(("parts", "agree"))  # the features that embed the query's parts

Progress = Callable[[int], None]


@dataclass
class SyncStats:
    """What one `sync` changed (and, for a remote index, the requests it took)."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedded: int = 0
    vectors_upserted: int = 0
    vectors_deleted: int = 0
    write_requests: int = 0


@dataclass
class Candidates:
    """A query's candidate pages, in hybrid order, and their re-ranking features."""

    paths: list[str]
    chunks: list[int]  # each page's best chunk (position in the store's ChunkLayout)
    features: np.ndarray  # one row of rerank.FEATURES per page
    sections: list[int]  # each page's chunk to show: its best that says something itself
    keyword: np.ndarray  # the shown chunk's keyword score


class HybridDocsIndex(DocsIndex):
    """Keyword store + a vector side, ranked by one shared hybrid ranker."""

    def __init__(self, store: KeywordStore, embedder: Embedder,
                 vector_weight: float = VECTOR_WEIGHT, fusion: str = "weighted",
                 rank: RankSettings | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.vector_weight = vector_weight
        self.fusion = fusion  # "weighted" (normalised weighted sum) or "rrf"
        self.rank = rank or RankSettings()

    # -- the vector side (each index's own) --------------------------------------

    @abstractmethod
    def sync(self, pages: Sequence[DocPage], progress: Progress | None = None) -> SyncStats:
        """Make the index hold exactly `pages`; only new or changed pages are embedded."""

    @abstractmethod
    def check_embedder(self) -> None:
        """ConfigError now, before a run relies on it, if the stored vectors do not fit the
        configured embedder."""

    @abstractmethod
    def chunk_cosines(self, vector: np.ndarray, layout: ChunkLayout) -> np.ndarray:
        """Cosine of `vector` with every chunk, aligned with `layout`."""

    @abstractmethod
    def topic_similarities(self, paths: list[str], vector: np.ndarray) -> list[float]:
        """Cosine of `vector` with each page's topic (the unit mean of its chunk vectors)."""

    @abstractmethod
    def page_similarity(self, path: str, vector: np.ndarray) -> float:
        """Best cosine between `vector` and any chunk of the page (0.0 if the page is unknown)."""

    @abstractmethod
    def best_similarities(self, vectors: np.ndarray) -> np.ndarray:
        """For each vector, the best cosine any chunk of any page reaches (0 when empty)."""

    def publish(self) -> None:
        """Make what `sync` and `set_meta` wrote visible to other readers (a remote index
        publishes its keyword store; the SQLite index's commit already did)."""

    # -- the keyword store's facts ---------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        """Remember a fact about the index (docs root, base URL)."""
        with db.transaction(self.store.conn):
            self.store.put_meta(key, value)

    def meta(self, key: str) -> str | None:
        return self.store.meta(key)

    def known_hashes(self) -> dict[str, str]:
        """Page path -> content hash of every indexed page."""
        return self.store.known_hashes()

    def page_count(self) -> int:
        return self.store.page_count()

    def page_chunks(self, path: str) -> list[DocChunk]:
        return self.store.page_chunks(path)

    def page_anchors(self, path: str) -> list[str]:
        """The anchors of every heading on the page, in order."""
        return self.store.page_anchors(path)

    def page_source(self, path: str) -> str | None:
        return self.store.page_source(path)

    def page_url(self, path: str) -> str | None:
        return self.store.page_url(path)

    def page_terms(self) -> PageTerms:
        """Per-page words and names for re-ranking (built once from the stored chunks)."""
        return self.store.page_terms()

    def mentions(self, name: str) -> bool:
        """Whether any page mentions a code name or error string: a suggestion leaves out
        one user's own names that the docs never use."""
        return self.store.mentions(name)

    def mention_share(self, name: str) -> float:
        """The share of pages that mention a name or word: a term a new page need not list
        when most pages already use it (the product's own name)."""
        return self.store.mention_share(name)

    # -- searching -------------------------------------------------------------------

    def search(self, query: str, top_k: int = 5) -> list[PageHit]:
        return self.search_many([query], top_k)[0]

    def search_many(self, queries: Sequence[str], top_k: int = 5) -> list[list[PageHit]]:
        """Search several queries with one embedding batch (their parts included when the
        ranking weighs late interaction)."""
        self.check_embedder()  # an index built by another model fails before any embedding
        vectors, parts = self.embed_queries(queries, self.rank.active())
        return [self.search_vector(q, v, top_k, parts=p)
                for q, v, p in zip(queries, vectors, parts, strict=True)]

    def search_ranked(self, query: str, top_k: int, rank: RankSettings) -> list[PageHit]:
        """Search one query re-ranked with `rank` instead of the index's own settings (the
        match stage's group query re-ranks while its members vote on the hybrid order)."""
        self.check_embedder()
        vectors, parts = self.embed_queries([query], rank.active())
        return self.search_vector(query, vectors[0], top_k, rank, parts[0])

    def embed_queries(self, queries: Sequence[str], active: frozenset[str] = ALL_FEATURES
                      ) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """Each query's vector and, when `active` holds a late-interaction feature, its
        parts' vectors (late.py), all in one embedding batch."""
        texts = [clean_query(q) or q for q in queries]
        if not active & LATE_FEATURES:
            return self.embedder.embed(texts), [None] * len(texts)
        split = [query_parts(q) for q in queries]
        vectors = self.embedder.embed(texts + [p for parts in split for p in parts])
        found: list[np.ndarray | None] = []
        offset = len(texts)
        for parts in split:
            found.append(vectors[offset : offset + len(parts)])
            offset += len(parts)
        return vectors[: len(texts)], found

    def search_vector(self, text: str, vector: np.ndarray, top_k: int = 5,
                      rank: RankSettings | None = None,
                      parts: np.ndarray | None = None) -> list[PageHit]:
        """Hybrid search with a query vector computed by the caller (and `text` for keywords),
        its candidate pages re-ranked (see rerank.py) with `rank` (default: the index's);
        `parts` are the query's parts' vectors (embedded here when the ranking needs them
        and the caller has not)."""
        rank = rank or self.rank
        active = rank.active()
        if parts is None and active & LATE_FEATURES:
            parts = self.embed_queries([text], active)[1][0]
        pool = self.candidates(text, vector, max(top_k, rank.candidates), active, parts)
        order = rerank_order(pool.features, rank)[:top_k]
        scores = pool.features @ rank.weights()
        rowids = self.store.layout().rowids
        return [self.store.hit(int(rowids[pool.sections[i]]), float(scores[i]),
                               float(pool.features[i, 1]), float(pool.keyword[i]))
                for i in order]

    def candidates(self, text: str, vector: np.ndarray, limit: int,
                   active: frozenset[str] = ALL_FEATURES,
                   parts: np.ndarray | None = None) -> Candidates:
        """The hybrid search's `limit` best pages with their re-ranking features (those in
        `active`; `parts`: the query's parts' vectors for the late-interaction ones)."""
        layout = self.store.layout()
        if len(layout) == 0:
            return Candidates([], [], np.zeros((0, len(FEATURES))), [], np.zeros(0))
        cosine, keyword, fused = self._fused(text, vector, layout)
        chosen = _best_chunk_per_page(fused, layout.paths, limit)
        paths = list(chosen)
        chunks = [c[0] for c in chosen.values()]
        best_cosine = _max_per_page(cosine, layout.paths)
        topic = self.topic_similarities(paths, np.asarray(vector, dtype=np.float32))
        hubs = self.store.page_hubs()
        late = self._late_features(parts, paths, active)
        pointed = self._pointed(paths, [layout.chunk_ids[c] for c in chunks],
                                [float(fused[c]) for c in chunks], active)
        scores = [PageScores(fused=float(fused[best[0]]), cosine=best_cosine[path],
                             support=float(fused[best].sum()) / SUPPORT_CHUNKS,
                             topic=page_topic, hub=hubs.get(path, 0.0),
                             parts=float(late[0][i]), agree=float(late[1][i]),
                             pointed=float(pointed[i]))
                  for i, ((path, best), page_topic) in enumerate(
                      zip(chosen.items(), topic, strict=True))]
        terms = self.page_terms()
        features = page_features(QueryTerms.of(text, terms, active), terms, paths, scores,
                                 active)
        navigation = self.store.navigation()
        sections = [_shown_chunk(best, navigation) for best in chosen.values()]
        return Candidates(paths, chunks, features, sections, keyword[sections])

    def _fused(self, text: str, vector: np.ndarray, layout: ChunkLayout
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every chunk's cosine, keyword score and the two fused: a page's best fused chunk
        is the section the search names for it."""
        cosine = self.chunk_cosines(vector, layout)
        keyword = self.store.keyword_scores(text, layout)
        if self.fusion == "rrf":
            return cosine, keyword, _rrf(cosine, keyword)
        fused = self.vector_weight * _unit_scale(cosine) + (1 - self.vector_weight) * keyword
        return cosine, keyword, fused

    def best_section(self, path: str, text: str) -> PageHit | None:
        """`path` as the search would show it for `text`: its best fused chunk that says
        something of its own (the rule `candidates` shows every page's section by), also
        for a page the search did not rank; None for a page the index does not hold."""
        layout = self.store.layout()
        rows = layout.page_rows(path)
        if len(rows) == 0:
            return None
        self.check_embedder()
        vectors, _ = self.embed_queries([text], frozenset())
        cosine, keyword, fused = self._fused(text, vectors[0], layout)
        ordered = rows[np.argsort(-fused[rows], kind="stable")][:SUPPORT_CHUNKS]
        best = _shown_chunk([int(r) for r in ordered], self.store.navigation())
        return self.store.hit(int(layout.rowids[best]), float(fused[best]),
                              float(cosine[best]), float(keyword[best]))

    def _late_features(self, parts: np.ndarray | None, paths: list[str],
                       active: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        """late.py's `parts` and `agree` per candidate (zeros when not weighed or no part),
        from the candidates' chunk vectors (the keyword store keeps a copy of each, so a
        remote index answers without a request per part)."""
        if parts is None or len(parts) == 0 or not active & LATE_FEATURES:
            return np.zeros(len(paths)), np.zeros(len(paths))
        return part_features(np.asarray(parts, dtype=np.float32),
                             [self.candidate_vectors(p) for p in paths])

    def _pointed(self, paths: list[str], best_chunks: list[str], fused: list[float],
                 active: frozenset[str]) -> np.ndarray:
        """pointers.py's `pointed` per candidate (zeros when not weighed)."""
        if "pointed" not in active:
            return np.zeros(len(paths))
        return pointed_scores(paths, best_chunks, fused, self.store.chunk_links())

    def candidate_vectors(self, path: str) -> np.ndarray:
        """A candidate page's chunk vectors (an index holding them in memory overrides)."""
        return self.store.page_vectors(path)


@dataclass
class SyncPlan:
    """What a sync must change: pages to (re)write with their chunks and vectors, pages
    whose old rows go, and the counts so far."""

    fresh: list[DocPage]  # new or changed pages
    chunks: dict[str, list[DocChunk]]  # their chunks, by path
    vectors: np.ndarray  # the fresh chunks' vectors, in page then chunk order
    gone: set[str]  # indexed pages no longer in the docs
    replaced: set[str]  # indexed pages whose rows go: removed or changed
    stats: SyncStats

    @property
    def new_chunks(self) -> list[DocChunk]:
        return [c for page in self.fresh for c in self.chunks[page.path]]

    def page_vectors(self) -> dict[str, np.ndarray]:
        """Each fresh page's rows of `vectors`, by path."""
        rows: dict[str, np.ndarray] = {}
        offset = 0
        for page in self.fresh:
            count = len(self.chunks[page.path])
            rows[page.path] = self.vectors[offset : offset + count]
            offset += count
        return rows


def plan_sync(pages: Sequence[DocPage], known: dict[str, str], embedder: Embedder,
              progress: Progress | None) -> SyncPlan:
    """Compare `pages` with the indexed content hashes (`known`) and embed what changed."""
    stats = SyncStats()
    fresh = [p for p in pages if known.get(p.path) != p.content_hash]
    stats.unchanged = len(pages) - len(fresh)
    stats.changed = sum(1 for p in fresh if p.path in known)
    stats.added = len(fresh) - stats.changed
    gone = set(known) - {p.path for p in pages}
    stats.removed = len(gone)
    chunks = {p.path: chunk_page(p) for p in fresh}
    vectors = embed_chunks(embedder, [c for p in fresh for c in chunks[p.path]], progress)
    stats.embedded = len(vectors)
    replaced = gone | {p.path for p in fresh if p.path in known}
    return SyncPlan(fresh, chunks, vectors, gone, replaced, stats)


def embedding_text(chunk: DocChunk) -> str:
    """What is embedded for a chunk: where it sits (title > headings) and its text."""
    trail = " > ".join(dict.fromkeys([chunk.title, *chunk.heading_path]))
    return f"{trail}\n{chunk.text}"


def embed_chunks(embedder: Embedder, chunks: list[DocChunk],
                 progress: Progress | None) -> np.ndarray:
    """The chunks' vectors (float32, one row each), embedded 64 at a time."""
    texts = [embedding_text(c) for c in chunks]
    parts = []
    step = 64
    for start in range(0, len(texts), step):
        parts.append(embedder.embed(texts[start : start + step]))
        if progress:
            progress(len(texts[start : start + step]))
    if not parts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.vstack(parts).astype(np.float32)


def page_topics(vectors: np.ndarray, paths: Sequence[str]) -> dict[str, np.ndarray]:
    """Page -> the unit mean of its chunk vectors (what the page as a whole is about)."""
    rows: dict[str, list[int]] = {}
    for i, path in enumerate(paths):
        rows.setdefault(path, []).append(i)
    return {p: unit(vectors[r].mean(axis=0)) for p, r in rows.items()}


def unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


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


def _shown_chunk(best: list[int], navigation: np.ndarray) -> int:
    """Of a page's best chunks (best first, at most SUPPORT_CHUNKS), the first that says
    something of its own rather than only pointing elsewhere (navigation.py); the best
    when all of them only point."""
    return next((c for c in best if not navigation[c]), best[0])


def _max_per_page(values: np.ndarray, paths: list[str]) -> dict[str, float]:
    best: dict[str, float] = {}
    for value, path in zip(values.tolist(), paths, strict=True):
        if value > best.get(path, -2.0):
            best[path] = value
    return best
