"""Reading a Markdown/MDX docs folder into pages with URLs.

The site generator (which decides URLs and heading anchors) is detected per
docs folder, looking in the folder and its parent: `mkdocs.yml` means mkdocs,
`docusaurus.config.*` or a `sidebars.*` file Docusaurus, a `.vitepress/`
folder VitePress, a Mintlify config (mintlify_site.py) Docusaurus, a Hugo config up to
three folders above (hugo_site.py) Hugo; without a marker, a folder with `.mdx` pages is
Docusaurus and anything else mkdocs.
`--generator` overrides the guess.

URL rules (`base_url` + path):

* mkdocs (a `mkdocs.yml` beside or above the folder): `index.md` and
  `README.md` map to their folder URL, `foo.md` to `foo/` (with the config's
  `use_directory_urls: false`, `foo.html` and `index.html`). Pages the site does not
  publish are not indexed: its `exclude_docs` and `draft_docs`, and a `README.md` beside
  an `index.md` (site_config.py).
* Docusaurus (`.mdx` files or a `docusaurus.config.*`/sidebars file): front
  matter `slug` wins (absolute `/x` from the root, relative from the page's
  folder), `id` replaces the file name, numeric prefixes such as `01-intro`
  are stripped from every segment, and `foo.md` maps to `foo` (no slash). A page with
  `draft: true` in its front matter is not indexed: Docusaurus builds it in development
  only (`unlisted: true` pages are published, so they are indexed).
* Mintlify (`docs.json` with a `navigation`, or `mint.json`, in the folder; read as
  Docusaurus): a page is at its path without the extension, numbers and all (no prefix
  stripping, no `id`; only the root's `index` is the site's root, a folder has no implicit
  index); the files under `snippets/` are fragments pages import, not pages
  (mintlify_site.py).
* Hugo (a Hugo config at the project root, up to three folders above the content folder;
  hugo_site.py): `foo.md` maps to `foo/` (lower case, spaces as `-`), `_index.md` and
  `index.md` to their folder, front matter `url` sets the path and `slug` the file name
  (a bundle's `index.md`: its folder's); drafts, headless bundles, never-rendered pages and
  a leaf bundle's resources are not indexed.
* VitePress: `index.md` maps to its folder URL, `foo.md` to `foo` (clean URLs; `foo.html`
  when its `.vitepress/config.*` does not set `cleanUrls: true`, vitepress_site.py).

Caps: a page larger than `max_page_bytes` is skipped, and a page is indexed
with at most `max_chunks` chunks; both with a warning naming the page.

Default excludes (turn off with `default_excludes=False`, CLI
`--no-default-excludes`; add more with `--exclude GLOB`):

* changelogs and release notes: `release-notes.md`, `changelog*`,
  `CHANGELOG*`, `*release-notes*` (matched on the file name, any folder);
* generated API stubs: pages whose content is mostly mkdocstrings
  `::: module.Object` directives (fewer than 200 words of prose besides them).

These pages mention every feature once and drown the page that explains it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from docloop.docs.anchors import GENERATORS
from docloop.docs.frontmatter import split_front_matter
from docloop.docs.globs import glob_spec
from docloop.docs.hugo_site import HugoSite, hugo_front, hugo_path, project_above
from docloop.docs.includes import includes_digest, read_includes, repository_root
from docloop.docs.machinery import is_mdx, may_include, prepare
from docloop.docs.markdown import Section, headings, parse_sections
from docloop.docs.mintlify_site import MintlifySite, is_mintlify
from docloop.docs.site_config import mkdocs_pages
from docloop.docs.vitepress_site import pages_sources
from docloop.errors import InputError

log = logging.getLogger(__name__)

EXTENSIONS = (".md", ".mdx", ".markdown")
DEFAULT_EXCLUDES = ("release-notes.md", "changelog*", "CHANGELOG*", "*release-notes*")
STUB_DIRECTIVE = re.compile(r"^:::\s+[A-Za-z_]\w*(?:\.\w+)+\s*$")  # ::: package.Object
STUB_MAX_PROSE_WORDS = 200
NUMERIC_PREFIX = re.compile(r"^\d+[-_]")
#: bump when parsing or chunking changes, so an existing index re-chunks every page
PARSER_VERSION = "4"  # 3: TOML front matter (`+++`); 4: Hugo highlight bodies as code
MAX_PAGE_BYTES = 1024 * 1024
MAX_CHUNKS = 500


@dataclass
class DocPage:
    """One documentation page: where it is, where it is published, what it says.

    Sections (and the title, which may be the first heading) are parsed on first
    use, so re-indexing an unchanged page costs only its hash."""

    path: str  # relative to the docs root, '/' separators
    url: str
    source: str
    front_matter: dict[str, Any] = field(default_factory=dict)
    generator: str = "mkdocs"
    max_chunks: int = MAX_CHUNKS  # 0 = no cap
    body_start: int = 0  # index of the first line after the front matter
    mdx: bool = False
    #: the text of the files the page's include lines show (includes.py), by path
    included: dict[str, str] = field(default_factory=dict)

    @cached_property
    def sections(self) -> list[Section]:
        """The page body parsed into sections (see docloop.docs.markdown)."""
        body = self.source.splitlines()[self.body_start:]
        return parse_sections(body, self.body_start + 1, self.generator, self.mdx,
                              self.included)

    @cached_property
    def title(self) -> str:
        """Front matter `title`, else the first level-1 heading, else the file name."""
        first = next((h.text for h in headings(self.sections) if h.level == 1 and h.text), None)
        return str(self.front_matter.get("title") or first or _title_from_name(self.path))

    @property
    def content_hash(self) -> str:
        """sha256 of what decides the chunks: source, URL, generator, cap, parser version."""
        key = f"{PARSER_VERSION}\n{self.generator}\n{self.max_chunks}\n{self.url}\n{self.source}"
        if self.included:  # pages without includes keep the hash they were indexed with
            key += f"\n{includes_digest(self.included)}"
        return hashlib.sha256(key.encode()).hexdigest()


def load_pages(root: Path, base_url: str | None = None, excludes: list[str] | None = None,
               default_excludes: bool = True, *, generator: str | None = None,
               max_page_bytes: int = MAX_PAGE_BYTES, max_chunks: int = MAX_CHUNKS,
               mount: str = "", site_config: Path | None = None,
               site_excludes: Sequence[str] = ()) -> list[DocPage]:
    """Every Markdown/MDX page under `root` that is not excluded, sorted by path.

    `generator` None detects it; a cap of 0 turns that cap off. `mount`: the folder is
    a second root of the site (a Docusaurus docs instance served under `/rules/`): its
    pages' paths and URLs start with `mount/`; excludes match the path inside the folder.
    `site_config`: the mkdocs or VitePress config, when it is not beside or above `root` (a
    nested `docs_dir` or `srcDir`, site_root.py); `site_excludes`: globs of files in
    `root` the site does not publish (a Docusaurus docs instance's `exclude`, globs.py)."""
    check_docs_folder(root)
    patterns = list(excludes or []) + (list(DEFAULT_EXCLUDES) if default_excludes else [])
    generator = check_generator(generator) if generator else detect_generator(root)
    reach = Reach(root, repository_root(root))
    site = mkdocs_pages(root, site_config) if generator == "mkdocs" else None
    sources = pages_sources(root, site_config) if generator == "vitepress" else None
    mintlify = MintlifySite() if generator == "docusaurus" and is_mintlify(root) else None
    hugo = HugoSite() if generator == "hugo" else None
    rule = site or sources or mintlify or hugo  # the generator's publishing rule, if any
    html = (not site.directory_urls) if site else sources is not None and sources.html
    excluded = glob_spec(site_excludes) if site_excludes else None
    files = sorted(_page_files(root))
    present = {file.relative_to(root).as_posix() for file in files}
    pages: list[DocPage] = []
    skipped = _Skipped()
    for file in files:
        rel = file.relative_to(root).as_posix()
        if not file.is_file() or _hidden(rel, generator) or _matches(rel, patterns) \
                or _too_large(file, rel, max_page_bytes):
            continue
        language = rule.translated(rel) if rule else None
        if language is not None:
            skipped.translations[language] += 1
            continue
        if (rule is not None and rule.unpublished(rel, present)) \
                or (excluded is not None and excluded.match_file(rel)):
            skipped.unpublished.append(rel)
            continue
        published = rule.published(rel) if rule else None
        page = read_page(file, rel, base_url, generator, max_chunks, mount=mount,
                         html_pages=html, published=published,
                         url_style="mintlify" if mintlify else None)
        if generator in ("docusaurus", "hugo") and page.front_matter.get("draft") is True:
            skipped.unpublished.append(rel)  # built only in development (hugo --buildDrafts)
            continue
        if hugo is not None and not hugo.rendered(page.front_matter):
            skipped.unpublished.append(rel)
            continue
        if default_excludes and is_api_stub(page.source):
            skipped.stubs.append(rel)
            continue
        page.included = _included(page, file, reach)  # only for a page that is kept
        pages.append(page)
    skipped.say()
    return pages


@dataclass
class _Skipped:
    """The files load_pages left out, by why, to say once."""

    stubs: list[str] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)
    translations: Counter[str] = field(default_factory=Counter)

    def say(self) -> None:
        if self.stubs:
            log.info("skipped %d generated API stub pages (e.g. %s); --no-default-excludes "
                     "keeps them", len(self.stubs), self.stubs[0])
        if self.unpublished:
            log.info("skipped %d page(s) the site does not publish (mkdocs: exclude_docs, "
                     "draft_docs, a README.md beside an index.md, foo.en.md beside foo.md; "
                     "Docusaurus and Hugo: draft: true, "
                     "a docs instance's exclude; "
                     "VitePress: srcExclude, dist/; Mintlify: snippets/), e.g. %s",
                     len(self.unpublished),
                     self.unpublished[0])
        if self.translations:
            log.info("left out %d page(s) in other languages (%s) than the site's default "
                     "one, whose pages are indexed", sum(self.translations.values()),
                     ", ".join(sorted(self.translations)))


def check_docs_folder(root: Path) -> None:
    """An InputError unless `root` is a folder (a page's file given instead says so)."""
    if root.is_file():
        raise InputError(f"docs folder {root}: is a file, not a folder (give the folder that "
                         "holds the .md/.mdx pages)")
    if not root.is_dir():
        raise InputError(f"docs folder not found: {root} (give a folder of .md/.mdx files)")


def mounted_url(base_url: str | None, mount: str) -> str | None:
    """The URL a mounted folder's pages hang from (a relative route without a base URL)."""
    if not mount:
        return base_url
    return f"{base_url.rstrip('/')}/{mount}" if base_url else mount


def parse_mount(spec: str) -> tuple[str, Path]:
    """`PREFIX=FOLDER` (`--mount`) as (prefix, folder); the prefix is what the folder's
    pages' paths and URLs start with: relative folder names joined by `/`."""
    prefix, sep, folder = spec.partition("=")
    if not sep or not folder.strip():
        raise InputError(f"--mount {spec!r}: give PREFIX=FOLDER, such as "
                         "rules=packages/eslint-plugin/docs/rules")
    return parse_prefix(prefix, f"--mount {spec!r}"), Path(folder.strip())


def parse_prefix(prefix: str, option: str) -> str:
    """A mount prefix (`--mount`, `--unmount`) as page paths start with it; `option` names
    what gave it, for the error."""
    parts = prefix.strip().split("/")
    if "\\" in prefix or any(p.strip() in ("", ".", "..") for p in parts):
        raise InputError(f"{option}: the prefix must be a relative path such as "
                         "rules or api/v2 (no '..', no leading or trailing '/')")
    return "/".join(p.strip() for p in parts)


def detect_generator(root: Path) -> str:
    """`mkdocs`, `docusaurus`, `vitepress` or `hugo`, judged from the files around the docs
    folder."""
    folders = (root, root.parent)
    if any((f / "mkdocs.yml").is_file() or (f / "mkdocs.yaml").is_file() for f in folders):
        return "mkdocs"
    if any((f / ".vitepress").is_dir() for f in folders):
        return "vitepress"
    markers = ("docusaurus.config.*", "sidebars.js", "sidebars.ts")
    if any(next(f.glob(m), None) is not None for f in folders for m in markers):
        return "docusaurus"
    if is_mintlify(root):  # read with Docusaurus' rules, `.md` pages too (mintlify_site.py)
        return "docusaurus"
    if project_above(root) is not None:  # a Hugo project's content (hugo_site.py)
        return "hugo"
    return "docusaurus" if any(root.rglob("*.mdx")) else "mkdocs"


def check_generator(name: str) -> str:
    """`name` if it is a generator docloop knows, else InputError saying which are."""
    if name not in GENERATORS:
        raise InputError(f"unknown docs generator '{name}' (use one of: "
                         f"{', '.join(GENERATORS)})")
    return name


@dataclass(frozen=True)
class Reach:
    """Where a page's include lines are read from: its docs root, and no further than
    `boundary` (includes.repository_root)."""

    root: Path
    boundary: Path


def read_page(file: Path, rel: str, base_url: str | None, generator: str,
              max_chunks: int = MAX_CHUNKS, *, mount: str = "",
              html_pages: bool = False, published: str | None = None,
              url_style: str | None = None) -> DocPage:
    """Read one file: front matter and URL (the body is parsed when first needed; the
    files its include lines name are read by load_pages, for the pages it keeps). `rel` is
    its path inside its folder, mounted under `mount/` (load_pages); `html_pages`: the
    site publishes pages as `.html` files (page_url); `published`: the path the site
    publishes the page at, when not `rel` (VitePress `rewrites`); `url_style`: URL rules
    other than the generator's (`mintlify`)."""
    try:
        source = file.read_text(encoding="utf-8-sig")  # a BOM would hide the front matter
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{file}: cannot read as UTF-8 text: {exc}") from None
    front, body_start = split_front_matter(source.splitlines(), file, generator)
    if generator == "hugo":
        front = hugo_front(front)
    mdx = is_mdx(file.name, generator)
    url = page_url(published or rel, front, mounted_url(base_url, mount),
                   url_style or generator, html_pages=html_pages)
    path = f"{mount}/{rel}" if mount else rel
    return DocPage(path, url, source, front, generator, max_chunks, body_start, mdx)


def _included(page: DocPage, file: Path, reach: Reach) -> dict[str, str]:
    """The text of the files the page's include lines show. The include lines are found by
    the parser's own pass (machinery.prepare), so no file is read, nor hashed, that the page
    does not show (an include in front matter, an HTML comment, a VitePress fence); a cheap
    test first: most pages have none."""
    if not may_include(page.source, page.mdx):
        return {}
    body = page.source.splitlines()[page.body_start:]
    includes = prepare(body, page.generator, page.mdx).includes
    return read_includes(includes, file, reach.root, reach.boundary) if includes else {}


def page_url(rel: str, front: dict[str, Any], base_url: str | None, style: str, *,
             html_pages: bool = False) -> str:
    """The published URL of a page (relative when there is no base URL). `html_pages`: the
    site publishes `foo.md` as `foo.html` (mkdocs' `use_directory_urls: false`, which
    links a folder's index as `index.html` too; VitePress without `cleanUrls`, which links
    it as the folder)."""
    path = PurePosixPath(rel)
    folder = [s for s in path.parent.parts]
    stem = path.stem
    if style == "docusaurus":
        folder = [NUMERIC_PREFIX.sub("", s) for s in folder]
        stem = str(front.get("id") or NUMERIC_PREFIX.sub("", stem))
    slug = front.get("slug")
    if style == "hugo":
        tail = _hugo_tail(folder, stem, front)
    elif style == "mintlify":  # the path as it is, extension off; only the root's index
        tail = "" if stem == "index" and not folder else "/".join([*folder, stem])
    elif style == "docusaurus" and isinstance(slug, str) and slug:
        tail = slug.lstrip("/") if slug.startswith("/") else "/".join([*folder, slug])
    elif style == "mkdocs" and html_pages:
        tail = "/".join([*folder, "index" if _index_page(stem, style) else stem]) + ".html"
    elif _index_page(stem, style):
        tail = "/".join(folder) + ("/" if folder else "")
    else:
        tail = "/".join([*folder, stem]) + ("/" if style == "mkdocs" else
                                            ".html" if html_pages else "")
    base = (base_url or "").rstrip("/")
    return f"{base}/{tail}" if base else tail


def _hugo_tail(folder: list[str], stem: str, front: dict[str, Any]) -> str:
    """Where Hugo publishes a page (hugo_site.py): `url` whole, else its folder and file
    name, lower-cased with spaces as `-` (Hugo's defaults), `slug` for the file name (for a
    bundle's `index`, its folder's); `foo/`, a section's `_index` at its folder."""
    url, slug = front.get("url"), front.get("slug")
    if isinstance(url, str) and url.strip("/ "):
        return url.strip().lstrip("/")
    named = slug.strip("/ ") if isinstance(slug, str) and slug.strip("/ ") else None
    if stem == "_index" or (stem == "index" and not (named and folder)):
        parts = folder
    elif stem == "index":
        parts = [*folder[:-1], str(named)]
    else:
        parts = [*folder, named or stem]
    return "".join(f"{hugo_path(part)}/" for part in parts)


def _index_page(stem: str, style: str) -> bool:
    """A file that is its folder's page: `index`, or `README` (mkdocs reads only that
    spelling as an index; `readme.md` is a page of its own there; VitePress reads none)."""
    if style == "mkdocs":
        return stem in ("index", "README")
    if style == "vitepress":
        return stem == "index"  # a README is a page of its own (VitePress' routing guide)
    return stem.lower() in ("index", "readme")


def is_api_stub(source: str) -> bool:
    """Mostly mkdocstrings `::: module.Object` directives with little prose."""
    directives = 0
    prose_words = 0
    in_directive = False
    for line in source.splitlines():
        if STUB_DIRECTIVE.match(line):
            directives += 1
            in_directive = True
        elif in_directive and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        else:
            in_directive = False
            prose_words += len(line.split())
    return directives > 0 and prose_words < STUB_MAX_PROSE_WORDS


def _too_large(file: Path, rel: str, max_bytes: int) -> bool:
    """Whether a page is over the size cap (it is skipped, with a warning naming it)."""
    size = file.stat().st_size
    if not max_bytes or size <= max_bytes:
        return False
    log.warning("skipped %s: %.1f MB is over the page size cap of %.1f MB "
                "(docs_max_page_kb; raise it to index this page)", rel, size / 2**20,
                max_bytes / 2**20)
    return True


def _title_from_name(rel: str) -> str:
    return NUMERIC_PREFIX.sub("", PurePosixPath(rel).stem).replace("-", " ").replace("_", " ")


def _matches(rel: str, patterns: list[str]) -> bool:
    name = PurePosixPath(rel).name
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def _page_files(root: Path) -> list[Path]:
    """The Markdown/MDX files under `root`, without entering the folders that hold no
    pages (`holds_no_pages`): a docs folder with its `node_modules` installed holds tens of
    thousands of files there. Linked folders are not entered, as before."""
    found: list[Path] = []
    for parent, folders, files in os.walk(root):
        folders[:] = [f for f in folders if not holds_no_pages(f)]
        found.extend(Path(parent, f) for f in files if Path(f).suffix.lower() in EXTENSIONS)
    return found


def _hidden(rel: str, generator: str = "") -> bool:
    """A path through a folder or file that holds no pages (`holds_no_pages`); a Hugo
    section's `_index.md` is its page."""
    path = PurePosixPath(rel)
    if generator == "hugo" and path.stem == "_index":
        path = path.parent
    return any(holds_no_pages(part) for part in path.parts)


def holds_no_pages(name: str) -> bool:
    """Dot folders, `_`-prefixed files/folders (Docusaurus partials) and installed packages
    (`node_modules`, which a project folder holds once its site was built) are not pages."""
    return name.startswith((".", "_")) or name == "node_modules"
