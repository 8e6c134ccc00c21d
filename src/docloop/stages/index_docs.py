"""The `index-docs` stage: a docs folder into the configured docs index (SQLite or
Pinecone)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Iterator, Sequence
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
from docloop.docs.site_root import SiteFolder, site_folder
from docloop.errors import InputError
from docloop.stages.index_memory import (
    BASE_URL_META,
    GIVEN_META,
    MOUNTS_META,
    ROOT_META,
    last_index,
    remembered_base_url,
    say_unmounts,
    stored_facts,
    with_remembered_mounts,
)
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
    base_url: str | None = None  # the URL pages were linked under (setting or site_url)

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
               progress: ProgressFactory | None = None,
               mounts: Sequence[tuple[str, Path]] = (),
               unmounts: Collection[str] = ()) -> IndexStats:
    """Index (incrementally) the Markdown/MDX folder `root`, and each (prefix, folder) of
    `mounts` under its prefix: one site built from several folders (typescript-eslint's
    `docs/` and its rule pages served under `/rules/`) is one index.

    Every page and its front matter is read before the database is opened, so bad
    input writes nothing (parsing a body never fails; new pages are parsed once).
    `progress` shows the embedding progress (the CLI's bar); none by default. A re-index
    of the same folder keeps the base URL and mounts the last one had unless given others
    (`stages.index_memory`); `unmounts` names the remembered mounts to leave out, whose
    pages then leave the index as any page gone from the docs."""
    started = time.perf_counter()
    if not root.is_dir():
        raise InputError(f"docs folder not found: {root} (give a folder of .md/.mdx files)")
    plan = _plan_folders(settings, root, generator, mounts, unmounts)
    pages = _read_folders(settings, plan, excludes, default_excludes, generator)
    with registry.open_stores(settings) as stores:
        index = open_index(settings, stores)
        embedder = index.embedder
        warn_dropped_mounts(index, pages, plan.mounts, unmounts)
        with (progress or _silent)("embedding chunks", _pending_chunks(index, pages)) as advance:
            stats = index.sync(pages, progress=advance)
        _remember(index, root, plan)
        index.publish()
    computed = embedder.computed if isinstance(embedder, CachedEmbedder) else stats.embedded
    cached = embedder.cached if isinstance(embedder, CachedEmbedder) else 0
    return IndexStats(len(pages), stats, computed, cached, time.perf_counter() - started,
                      plan.base_url)


@dataclass
class FolderPlan:
    """The folders one `index-docs` reads, each under its prefix, and its base URL."""

    site: SiteFolder
    base_url: str | None
    mounts: list[tuple[str, Path]]  # given with --mount, or remembered
    found_mounts: list[tuple[str, Path]]  # the site config's own further folders
    remembered: set[str]  # the prefixes of `mounts` this run was not given

    def folders(self) -> list[tuple[str, Path]]:
        return [(self.site.route, self.site.pages), *self.found_mounts, *self.mounts]


def _plan_folders(settings: Settings, root: Path, generator: str | None,
                  mounts: Sequence[tuple[str, Path]], unmounts: Collection[str]
                  ) -> FolderPlan:
    """The site at `root`, with what the last index-docs of the same folder had and this
    run leaves out (`stages.index_memory`); a --mount replaces the folder the config names
    at its prefix, and an --unmount leaves either out."""
    facts = stored_facts(settings)
    early = last_index(facts, root)
    routes = {p for p, _ in mounts} | (early.prefixes if early else set()) | set(unmounts)
    site = site_folder(root, generator, mounted=routes)
    if site.route and site.route in unmounts:
        raise InputError(f"--unmount {site.route}: {site.route}/ is the site's pages folder "
                         f"({site.pages}), not a mount; leave pages out with --exclude")
    last = early or last_index(facts, root, site.pages)
    base_url = _base_url(settings, site.site_url) or remembered_base_url(settings, last)
    kept = with_remembered_mounts(mounts, unmounts, last)
    say_unmounts(unmounts, last, {prefix for prefix, _ in site.mounts})
    given = {prefix for prefix, _ in kept}
    found = [(prefix, folder) for prefix, folder in site.mounts
             if prefix not in given and prefix not in unmounts]
    return FolderPlan(site, base_url, kept, found, given - {prefix for prefix, _ in mounts})


def _read_folders(settings: Settings, plan: FolderPlan, excludes: list[str],
                  default_excludes: bool, generator: str | None) -> list[DocPage]:
    """Every page of the plan's folders, each folder read with its own settings."""
    site = plan.site
    pages: list[DocPage] = []
    origin: dict[str, Path] = {}  # page path -> the folder it came from
    for prefix, folder in plan.folders():
        if not folder.is_dir():
            raise InputError(f"docs folder not found: {folder} (give a folder of .md/.mdx "
                             "files)")
        main = folder is site.pages
        ours = main or any(folder is f for _, f in plan.found_mounts)  # the project's own
        found = load_pages(folder, plan.base_url, excludes, default_excludes,
                           generator=generator or (site.generator if ours else None),
                           max_page_bytes=settings.docs_max_page_kb * 1024,
                           max_chunks=settings.docs_max_chunks_per_page, mount=prefix,
                           site_config=site.config if main and generator in (
                               None, site.generator) else None,
                           site_excludes=site.excluded_in(folder) if ours else ())
        if not found:
            raise InputError(f"{folder}: no Markdown/MDX pages found (after excludes)")
        claim_paths(origin, found, folder, prefix if prefix in plan.remembered else None)
        pages.extend(found)
    return pages


def _remember(index: HybridDocsIndex, root: Path, plan: FolderPlan) -> None:
    """Keep what this run indexed, for the next run of the same folder."""
    index.set_meta(ROOT_META, str(plan.site.pages.resolve()))
    index.set_meta(GIVEN_META, str(root.resolve()))
    index.set_meta(MOUNTS_META, json.dumps([[p, str(f.resolve())] for p, f in plan.mounts]))
    index.set_meta(BASE_URL_META, plan.base_url or "")


def _base_url(settings: Settings, site_url: str | None) -> str | None:
    """The URL pages are linked under: the setting (`--base-url`; an empty one links
    nothing), else the site's own (mkdocs' `site_url`, Docusaurus' `url` and `baseUrl`),
    said once so a user knows where links point; None when neither is known."""
    if settings.docs_base_url is not None or not site_url:
        return settings.docs_base_url
    log.info("linking pages under the site's own URL %s (from its config); --base-url "
             "overrides it", site_url)
    return site_url


def warn_dropped_mounts(index: HybridDocsIndex, pages: Sequence[DocPage],
                        mounts: Sequence[tuple[str, Path]], unmounts: Collection[str] = ()
                        ) -> None:
    """Say so when a folder the last run mounted is not mounted now: its pages leave the
    index like any page gone from the docs. A re-index of the same folder on the SQLite
    store mounts it again by itself (`stages.index_memory`), so this warns when the last
    run indexed another folder or the store keeps no memory; `--unmount` is said as what
    was asked for."""
    try:
        before = json.loads(index.meta(MOUNTS_META) or "[]")
    except json.JSONDecodeError:
        return
    now = {prefix for prefix, _ in mounts}
    dropped = [(prefix, folder) for prefix, folder in before if prefix not in now]
    if not dropped:
        return  # the usual run: nothing to compare, the index's pages are not read
    kept = {page.path for page in pages}
    known = index.known_hashes()
    for prefix, folder in dropped:
        gone = [path for path in known if path.startswith(f"{prefix}/") and path not in kept]
        if gone and prefix in unmounts:
            log.info("--unmount %s: the %d pages mounted from %s leave the index", prefix,
                     len(gone), folder)
        elif gone:
            log.warning("the last index-docs mounted %s at %s/; without --mount %s=%s its %d "
                        "pages leave the index (mount it again to keep them)",
                        folder, prefix, prefix, folder, len(gone))


def claim_paths(origin: dict[str, Path], pages: Sequence[DocPage], folder: Path,
                remembered: str | None = None) -> None:
    """Record which folder gives each page path; two folders must not give the same one (a
    mount prefix that is also a folder of the root, or two mounts at one prefix): one page
    would silently replace the other in the index. `remembered`: the prefix of a mount the
    last run had and this one was not given, which the error names."""
    for page in pages:
        if page.path in origin:
            how = (f" (the last index-docs mounted {folder} at {remembered}/; --unmount "
                   f"{remembered} leaves it out)" if remembered else "")
            raise InputError(f"{page.path}: both {origin[page.path]} and {folder} give this "
                             f"page; mount one of them under another prefix{how}")
        origin[page.path] = folder


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
