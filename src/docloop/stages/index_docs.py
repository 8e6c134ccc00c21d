"""The `index-docs` stage: a docs folder into the configured docs index (SQLite or
Pinecone)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from docloop import registry
from docloop.backends.docs_index.hybrid import HybridDocsIndex, SyncStats
from docloop.backends.docs_index.rerank import RankSettings
from docloop.backends.embedders.cache import CachedEmbedder
from docloop.config import Settings
from docloop.docs.chunker import all_chunks, chunk_page
from docloop.docs.loader import DocPage, load_pages
from docloop.errors import InputError
from docloop.stores import Stores

log = logging.getLogger(__name__)
#: (description, total) -> a context yielding `advance(n)`; the CLI renders it as a bar
ProgressFactory = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


@dataclass
class IndexStats:
    """The outcome of one indexing run."""

    pages: int
    sync: SyncStats
    embedded: int
    cached: int
    seconds: float

    def summary(self) -> str:
        """One line for the terminal."""
        s = self.sync
        remote = (f"; {s.vectors_upserted} vectors upserted, {s.vectors_deleted} deleted in "
                  f"{s.write_requests} requests" if s.write_requests else "")
        return (f"indexed {self.pages} pages: {s.added} added, {s.changed} changed, "
                f"{s.removed} removed, {s.unchanged} unchanged; {s.chunks} chunks, "
                f"{self.embedded} embedded ({self.cached} from cache){remote} "
                f"in {self.seconds:.1f}s")


def open_index(settings: Settings, stores: Stores,
               rank: RankSettings | None = None) -> HybridDocsIndex:
    """The configured docs index, with the configured (cached) embedder (and ranking
    weights; default: the shipped ones)."""
    return registry.build_docs_index(settings, stores, rank)


def index_docs(settings: Settings, root: Path, excludes: list[str],
               default_excludes: bool = True, generator: str | None = None,
               progress: ProgressFactory | None = None) -> IndexStats:
    """Index (incrementally) the Markdown/MDX folder `root`.

    Every page and its front matter is read before the database is opened, so bad
    input writes nothing (parsing a body never fails; new pages are parsed once).
    `progress` shows the embedding progress (the CLI's bar); none by default."""
    started = time.perf_counter()
    if not root.is_dir():
        raise InputError(f"docs folder not found: {root} (give a folder of .md/.mdx files)")
    pages = load_pages(root, settings.docs_base_url, excludes, default_excludes,
                       generator=generator, max_page_bytes=settings.docs_max_page_kb * 1024,
                       max_chunks=settings.docs_max_chunks_per_page)
    if not pages:
        raise InputError(f"{root}: no Markdown/MDX pages found (after excludes)")
    with registry.open_stores(settings) as stores:
        index = open_index(settings, stores)
        embedder = index.embedder
        with (progress or _silent)("embedding chunks", _pending_chunks(index, pages)) as advance:
            stats = index.sync(pages, progress=advance)
        index.set_meta("root", str(root.resolve()))
        index.set_meta("base_url", settings.docs_base_url or "")
        index.publish()
    computed = embedder.computed if isinstance(embedder, CachedEmbedder) else stats.embedded
    cached = embedder.cached if isinstance(embedder, CachedEmbedder) else 0
    return IndexStats(len(pages), stats, computed, cached, time.perf_counter() - started)


def _pending_chunks(index: HybridDocsIndex, pages: list[DocPage]) -> int:
    """Chunks the pages new or changed since the last run will embed; names every such
    page that has more chunks than the per-page cap keeps."""
    known = index.known_hashes()
    pending = 0
    for page in (p for p in pages if known.get(p.path) != p.content_hash):
        total = len(all_chunks(page))
        if page.max_chunks and total > page.max_chunks:
            log.warning("%s: indexed its first %d of %d chunks (docs_max_chunks_per_page; "
                        "raise it to index the rest)", page.path, page.max_chunks, total)
        pending += len(chunk_page(page))
    return pending


@contextmanager
def _silent(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """No progress display (the CLI passes a real bar)."""
    yield lambda n: None
