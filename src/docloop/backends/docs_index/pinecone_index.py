"""The docs index on Pinecone: chunk vectors in a serverless index, one namespace per docs set.

Pinecone holds each chunk's vector with small metadata (page path, title,
heading path, anchor, a short snippet: far below the 40 KB per-vector limit);
the chunk texts, FTS5 keyword index, anchors, page terms and page topic
vectors stay in a keyword store next to it (keyword_file.py: a SQLite file
per namespace under DOCLOOP_HOME). Ranking is the shared hybrid ranker
(hybrid.py), so a page ranks as it does in the SQLite index: a query asks
Pinecone for the cosine of every chunk (topK = the namespace's chunk count, up
to Pinecone's 10,000; past that the unreturned chunks count with the lowest
returned cosine).

docloop talks only to the index's data plane (`pinecone_host`): no control-
plane call, so creating the index is a one-time step (README). Preflight is
one `describe_index_stats`: a wrong key or a missing index is a ConfigError,
and so is an index whose dimension is not the embedder's. The SDK retries
429 and 5xx with backoff, honouring Retry-After; what still fails is a
TransientError. Writes are incremental: only new or changed pages are
embedded and upserted (in requests within Pinecone's count and size limits),
chunk ids a page no longer has are deleted by id, and the keyword store is
committed last, so a failed sync is simply redone by the next one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from docloop import db
from docloop.backends.docs_index.hybrid import (
    HybridDocsIndex,
    Progress,
    SyncPlan,
    SyncStats,
    page_topics,
    plan_sync,
)
from docloop.backends.docs_index.keyword_file import (
    KeywordFile,
    TopicStore,
    keyword_file,
    open_keyword_store,
)
from docloop.backends.docs_index.keyword_store import ChunkLayout, KeywordStore
from docloop.backends.docs_index.rerank import RankSettings
from docloop.backends.docs_index.sqlite import index_version
from docloop.backends.embedders.base import Embedder
from docloop.batching import limited_batches
from docloop.config import Settings
from docloop.docs.loader import DocPage
from docloop.errors import ConfigError, MissingDependencyError, PermanentError, TransientError
from docloop.models import DocChunk

if TYPE_CHECKING:
    from docloop.stores import Stores

#: Pinecone's limits (API-FACTS §4)
MAX_UPSERT_VECTORS = 1_000
MAX_REQUEST_BYTES = 2 * 1024 * 1024
MAX_METADATA_BYTES = 40 * 1024
MAX_TOP_K = 10_000
MAX_IDS_PER_DELETE = 1_000
#: what docloop sends per upsert: Pinecone recommends about 100 vectors; the byte
#: budget leaves room for the request envelope
UPSERT_BATCH = 100
UPSERT_BYTES = MAX_REQUEST_BYTES - 64 * 1024
SNIPPET_CHARS = 300
FIELD_CHARS = 300  # title, heading, url and each heading-path entry, at most
HEADING_LEVELS = 12


@dataclass
class PineconeStats:
    """What one `describe_index_stats` said about the index and our namespace."""

    dimension: int | None
    vectors: int  # in our namespace
    others: dict[str, int] = field(default_factory=dict)  # other namespaces: their vectors


class PineconeDocsIndex(HybridDocsIndex):
    """Vectors in a Pinecone namespace, the keyword side in a local keyword store."""

    def __init__(self, store: KeywordStore, embedder: Embedder, data_plane: Any,
                 namespace: str, host: str, rank: RankSettings | None = None,
                 source: KeywordFile | None = None) -> None:
        super().__init__(store, embedder, rank=rank)
        self.source = source  # where the keyword store is published (None: nowhere)
        self.data_plane = data_plane
        self.namespace = namespace
        self.host = host
        self.topics = TopicStore(store.conn)
        self._stats: PineconeStats | None = None
        self.requests = 0  # data-plane requests this instance made

    @classmethod
    def from_settings(cls, settings: Settings, *, embedder: Embedder,
                      rank: RankSettings | None = None, conn: Any = None,
                      s3: Any = None) -> PineconeDocsIndex:
        """The index at `pinecone_host`, namespace `pinecone_namespace` (or one derived
        from the docs base URL), its keyword store local or in `s3_bucket` (`s3`: an
        injected boto3 client); `conn` (docloop's database) is not used."""
        host, key = settings.pinecone_host, settings.pinecone_api_key
        if not host:
            raise ConfigError("docs_index = 'pinecone' needs the index's host: set "
                              "DOCLOOP_PINECONE_HOST (or pinecone_host in docloop.toml) to the "
                              "data-plane URL the Pinecone console shows for the index")
        if key is None or not key.get_secret_value():
            raise ConfigError("docs_index = 'pinecone' needs PINECONE_API_KEY in the "
                              "environment or .env")
        namespace = namespace_for(settings)
        source = keyword_file(settings, namespace, s3)
        return cls(open_keyword_store(source), embedder,
                   open_data_plane(host, key.get_secret_value()), namespace, host, rank=rank,
                   source=source)

    @classmethod
    def version(cls, settings: Settings, stores: Stores, s3: Any = None) -> str:
        """The digest of the namespace's keyword store (the same `index_version` the
        SQLite index has: index-docs rewrites it last, after every upsert and delete,
        so it changes whenever the vectors did), with the host and namespace, so that
        another index or docs set never matches. Pinecone itself is not asked: only
        the keyword file is read (with `s3_bucket`, one HEAD request, and a GET only
        when its ETag changed since this machine's copy); docloop's database in
        `stores` is not opened."""
        namespace = namespace_for(settings)
        source = keyword_file(settings, namespace, s3)
        source.pull()
        docs = "none"
        if source.path.is_file():
            with closing(db.connect(source.path)) as keywords:
                docs = index_version(keywords)
        parts = {"pinecone_host": settings.pinecone_host, "namespace": namespace, "docs": docs}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def publish(self) -> None:
        """Publish the keyword store (to S3 when configured) once index-docs is done."""
        if self.source is not None:
            self.source.push(self.store.conn)

    # -- preflight -----------------------------------------------------------------

    def preflight(self) -> PineconeStats:
        """One describe_index_stats: proves the key, the host and the dimension (cached)."""
        if self._stats is None:
            with self._call("describe_index_stats"):
                answer = self.data_plane.describe_index_stats()
            summary = answer.namespaces.get(self.namespace)
            others = {name: item.vector_count for name, item in answer.namespaces.items()
                      if name != self.namespace and item.vector_count}
            self._stats = PineconeStats(answer.dimension,
                                        summary.vector_count if summary else 0, others)
            self._check_dimension(answer.dimension)
        return self._stats

    def _check_dimension(self, dimension: int | None) -> None:
        expected = self.embedder.dim
        if dimension is not None and expected and dimension != expected:
            raise ConfigError(
                f"the Pinecone index at {self.host} has dimension {dimension} but embedder "
                f"'{self.embedder.name}' makes {expected}-dim vectors: create an index with "
                f"dimension {expected} and metric cosine (README: Docs index on Pinecone) and "
                "point DOCLOOP_PINECONE_HOST at it, or configure the embedder it was made for")

    def empty_hint(self) -> str:
        """Name the namespace searched: docs indexed under another base URL live elsewhere."""
        here = f"Pinecone namespace '{self.namespace}' holds no pages"
        others = self.preflight().others
        if not others:
            return f"{here}; run docloop index-docs PATH --index pinecone first"
        listed = ", ".join(f"'{name}' ({count} vectors)" for name, count in sorted(others.items()))
        return (f"{here} but the index has {listed}: give docs_base_url "
                "(DOCLOOP_DOCS_BASE_URL) as index-docs had it (--base-url), or set "
                "DOCLOOP_PINECONE_NAMESPACE")

    def check_embedder(self) -> None:
        self.preflight()
        built_with = self.meta("embedder")
        if built_with is not None and built_with != self.embedder.name:
            raise ConfigError(
                f"Pinecone namespace '{self.namespace}' holds vectors from embedder "
                f"'{built_with}' but the configured embedder is '{self.embedder.name}': re-run "
                "`docloop index-docs PATH --index pinecone` to re-index the docs with it")

    # -- writing ---------------------------------------------------------------------

    def sync(self, pages: Sequence[DocPage], progress: Progress | None = None) -> SyncStats:
        """Make the namespace hold exactly `pages`' chunks; only new or changed pages are
        embedded and upserted, and chunk ids that no longer exist are deleted."""
        remote = self.preflight()
        known = {} if self._start_over(remote) else self.store.known_hashes()
        plan = plan_sync(pages, known, self.embedder, progress)
        self._check_dimension(remote.dimension)  # an embedder that learns its size has now
        stats, new_chunks = plan.stats, plan.new_chunks
        before = self.requests
        if not known and remote.vectors:
            self._delete_everything()
        self._upsert(new_chunks, plan.vectors, stats)
        stale = self.store.chunk_ids(plan.replaced) - {c.id for c in new_chunks}
        self._delete_ids(sorted(stale), stats)
        stats.write_requests = self.requests - before
        self._store_pages(plan, not known)
        stats.chunks = self.store.chunk_count()
        self._stats = None
        self.store.changed()
        return stats

    def _start_over(self, remote: PineconeStats) -> bool:
        """Whether the keyword store cannot be trusted to describe the namespace: another
        embedder or index wrote it, the namespace is empty while the store is not, or the
        store predates the vector copies the catch-all scores are computed from."""
        return (self.meta("embedder") not in (None, self.embedder.name)
                or self.meta("pinecone_host") not in (None, self.host)
                or (remote.vectors == 0 and self.store.chunk_count() > 0)
                or self.store.lacks_vectors())

    def _store_pages(self, plan: SyncPlan, everything: bool) -> None:
        """Commit the keyword side (texts, FTS, anchors, topics) once Pinecone holds the
        vectors."""
        topics = page_topics(plan.vectors, [c.path for c in plan.new_chunks])
        vectors = plan.page_vectors()
        with db.transaction(self.store.conn):
            if everything:
                self.store.delete_all()
                self.topics.delete_all()
            for path in plan.replaced:
                self.store.delete_page(path)
                self.topics.delete(path)
            for page in plan.fresh:
                self.store.insert_page(page, plan.chunks[page.path], vectors[page.path])
                if page.path in topics:
                    self.topics.put(page.path, topics[page.path])
            self.store.put_meta("embedder", self.embedder.name)
            self.store.put_meta("pinecone_host", self.host)
            self.store.store_page_hubs()

    def _upsert(self, chunks: list[DocChunk], vectors: np.ndarray, stats: SyncStats) -> None:
        records = [vector_record(c, v) for c, v in zip(chunks, vectors, strict=True)]
        for batch in upsert_batches(records):
            with self._call("upsert"):
                self.data_plane.upsert(vectors=batch, namespace=self.namespace,
                                       show_progress=False)
            stats.vectors_upserted += len(batch)

    def _delete_ids(self, ids: list[str], stats: SyncStats) -> None:
        for start in range(0, len(ids), MAX_IDS_PER_DELETE):
            batch = ids[start : start + MAX_IDS_PER_DELETE]
            with self._call("delete"):
                self.data_plane.delete(ids=batch, namespace=self.namespace)
            stats.vectors_deleted += len(batch)

    def _delete_everything(self) -> None:
        with self._call("delete"):
            self.data_plane.delete(delete_all=True, namespace=self.namespace)

    # -- the vector side ---------------------------------------------------------------

    def chunk_cosines(self, vector: np.ndarray, layout: ChunkLayout) -> np.ndarray:
        """Every chunk's cosine from one query (the lowest returned one for chunks beyond
        Pinecone's topK limit)."""
        matches = self._query(vector, min(len(layout), MAX_TOP_K))
        cosine = np.full(len(layout), _floor(matches), dtype=np.float32)
        for match in matches:
            position = layout.position(match.id)
            if position is not None:
                cosine[position] = match.score
        return cosine

    def topic_similarities(self, paths: list[str], vector: np.ndarray) -> list[float]:
        topics = self.topics.vectors(paths)
        return [float(topics[p] @ vector) if p in topics else 0.0 for p in paths]

    def page_similarity(self, path: str, vector: np.ndarray) -> float:
        matches = self._query(vector, 1, {"path": {"$eq": path}})
        return float(matches[0].score) if matches else 0.0

    def best_similarities(self, vectors: np.ndarray) -> np.ndarray:
        best = np.zeros(len(vectors), dtype=np.float32)
        for i, vector in enumerate(np.asarray(vectors, dtype=np.float32)):
            matches = self._query(vector, 1)
            best[i] = matches[0].score if matches else 0.0
        return best

    def _query(self, vector: np.ndarray, top_k: int,
               where: dict[str, Any] | None = None) -> list[Any]:
        if len(vector) != (self.preflight().dimension or len(vector)):
            self._check_dimension(len(vector))
        with self._call("query"):
            answer = self.data_plane.query(vector=compact(vector), top_k=top_k,
                                           namespace=self.namespace, filter=where)
        return list(answer.matches)

    # -- errors --------------------------------------------------------------------------

    @contextmanager
    def _call(self, operation: str) -> Iterator[None]:
        """Count one data-plane request and turn the SDK's errors into docloop's."""
        from pinecone.errors import ApiError, PineconeError

        self.requests += 1
        try:
            yield
        except ApiError as exc:
            raise api_error(exc, operation, self.host) from None
        except PineconeError as exc:  # connection errors and timeouts, after the retries
            raise TransientError(f"Pinecone {operation} at {self.host} failed: "
                                 f"{exc.message}") from None


def api_error(exc: Any, operation: str, host: str) -> Exception:
    """The docloop error for an HTTP error the SDK raised (after its own retries)."""
    status = int(exc.status_code)
    detail = " ".join(str(exc.message).split())[:300]
    if status in (401, 403):
        return ConfigError(f"Pinecone refused PINECONE_API_KEY ({status}: {detail}): use a key "
                           f"of the project that holds the index at {host}")
    if status == 404:
        return ConfigError(f"no Pinecone index answers at {host} ({operation}: 404 {detail}): "
                           "check DOCLOOP_PINECONE_HOST (the index's host in the console) or "
                           "create the index (README: Docs index on Pinecone)")
    if status == 429 or status >= 500:
        return TransientError(f"Pinecone {operation} at {host} still failing after retries "
                              f"({status}: {detail}); try again later")
    return PermanentError(f"Pinecone {operation} at {host} was refused ({status}: {detail})")


def open_data_plane(host: str, api_key: str) -> Any:
    """The SDK's data-plane client for `host` (no control-plane call is made)."""
    try:
        from pinecone import Pinecone
    except ImportError:
        raise MissingDependencyError("pinecone", "aws") from None
    return Pinecone(api_key=api_key).index(host=host)


def namespace_for(settings: Settings) -> str:
    """`pinecone_namespace`, else one named after the docs base URL (host and path), else
    `docs`."""
    if settings.pinecone_namespace:
        return settings.pinecone_namespace
    if settings.docs_base_url:
        parts = urlsplit(settings.docs_base_url)
        slug = re.sub(r"[^a-z0-9]+", "-", f"{parts.netloc}{parts.path}".lower()).strip("-")
        if slug:
            return slug[:200]
    return "docs"


def vector_record(chunk: DocChunk, vector: np.ndarray) -> dict[str, Any]:
    """One upsert record: the chunk id, its vector and metadata within Pinecone's limit."""
    return {"id": chunk.id, "values": compact(vector), "metadata": chunk_metadata(chunk)}


def chunk_metadata(chunk: DocChunk) -> dict[str, Any]:
    """Where the chunk is and a short snippet: never the whole text (the keyword store has
    it), never a null value (Pinecone refuses them), at most a few KB."""
    metadata: dict[str, Any] = {
        "path": chunk.path, "url": chunk.url[:FIELD_CHARS], "title": chunk.title[:FIELD_CHARS],
        "heading": chunk.heading[:FIELD_CHARS], "anchor": chunk.anchor[:FIELD_CHARS],
        "heading_path": [h[:FIELD_CHARS] for h in chunk.heading_path[:HEADING_LEVELS]],
        "snippet": chunk.text[:SNIPPET_CHARS],
    }
    size = len(json.dumps(metadata, ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:  # only a path of absurd length gets here
        raise ConfigError(f"{chunk.path}: the page path is too long for Pinecone metadata "
                          f"({size} bytes); rename the file")
    return metadata


def upsert_batches(records: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The records in requests of at most UPSERT_BATCH vectors and UPSERT_BYTES of JSON."""
    return limited_batches(records, UPSERT_BATCH, UPSERT_BYTES,
                           lambda r: len(json.dumps(r, ensure_ascii=False).encode()) + 1)


def compact(vector: np.ndarray) -> list[float]:
    """A float32 vector as the shortest decimals that give back the same float32 values
    (half the request bytes of full doubles)."""
    return [float(str(v)) for v in np.asarray(vector, dtype=np.float32)]


def _floor(matches: list[Any]) -> float:
    """The cosine assumed for chunks a query did not return: the lowest it returned."""
    return float(min((m.score for m in matches), default=0.0))
