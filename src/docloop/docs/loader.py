"""Reading a Markdown/MDX docs folder into pages with URLs.

URL rules (`base_url` + path):

* mkdocs (a `mkdocs.yml` beside or above the folder): `index.md` and
  `README.md` map to their folder URL, `foo.md` to `foo/`.
* Docusaurus (`.mdx` files or a `docusaurus.config.*`/sidebars file): front
  matter `slug` wins (absolute `/x` from the root, relative from the page's
  folder), `id` replaces the file name, numeric prefixes such as `01-intro`
  are stripped from every segment, and `foo.md` maps to `foo` (no slash).

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
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from docloop.docs.markdown import Line, clean_lines, parse_heading
from docloop.errors import InputError

log = logging.getLogger(__name__)

EXTENSIONS = (".md", ".mdx", ".markdown")
DEFAULT_EXCLUDES = ("release-notes.md", "changelog*", "CHANGELOG*", "*release-notes*")
STUB_DIRECTIVE = re.compile(r"^:::\s+[A-Za-z_]\w*(?:\.\w+)+\s*$")  # ::: package.Object
STUB_MAX_PROSE_WORDS = 200
NUMERIC_PREFIX = re.compile(r"^\d+[-_]")


@dataclass
class DocPage:
    """One documentation page: where it is, where it is published, what it says."""

    path: str  # relative to the docs root, '/' separators
    url: str
    title: str
    source: str
    lines: list[Line] = field(default_factory=list)
    front_matter: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """sha256 of the source and URL: a change to either re-indexes the page."""
        return hashlib.sha256(f"{self.url}\n{self.source}".encode()).hexdigest()


def load_pages(root: Path, base_url: str | None = None, excludes: list[str] | None = None,
               default_excludes: bool = True) -> list[DocPage]:
    """Every Markdown/MDX page under `root` that is not excluded, sorted by path."""
    if not root.is_dir():
        raise InputError(f"docs folder not found: {root} (give a folder of .md/.mdx files)")
    patterns = list(excludes or []) + (list(DEFAULT_EXCLUDES) if default_excludes else [])
    style = detect_style(root)
    pages: list[DocPage] = []
    stubs: list[str] = []
    for file in sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS):
        rel = file.relative_to(root).as_posix()
        if not file.is_file() or _hidden(rel) or _matches(rel, patterns):
            continue
        page = read_page(file, rel, base_url, style)
        if default_excludes and is_api_stub(page.source):
            stubs.append(rel)
            continue
        pages.append(page)
    if stubs:
        log.info("skipped %d generated API stub pages (e.g. %s); --no-default-excludes keeps "
                 "them", len(stubs), stubs[0])
    return pages


def detect_style(root: Path) -> str:
    """`mkdocs` or `docusaurus`, judged from the files around the docs folder."""
    for folder in (root, root.parent):
        if (folder / "mkdocs.yml").is_file() or (folder / "mkdocs.yaml").is_file():
            return "mkdocs"
    markers = ("docusaurus.config.js", "docusaurus.config.ts", "sidebars.js", "sidebars.ts")
    if any((folder / m).is_file() for folder in (root, root.parent) for m in markers):
        return "docusaurus"
    return "docusaurus" if any(root.rglob("*.mdx")) else "mkdocs"


def read_page(file: Path, rel: str, base_url: str | None, style: str) -> DocPage:
    """Parse one file: front matter, cleaned lines, title and URL."""
    try:
        source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{file}: cannot read as UTF-8 text: {exc}") from None
    front, body_start = split_front_matter(source, file)
    lines = clean_lines(source.splitlines()[body_start:], first_number=body_start + 1)
    title = str(front.get("title") or _first_heading(lines) or _title_from_name(rel))
    return DocPage(rel, page_url(rel, front, base_url, style), title, source, lines, front)


def split_front_matter(source: str, file: Path) -> tuple[dict[str, Any], int]:
    """YAML front matter between `---` lines, and the index of the first body line."""
    lines = source.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            try:
                data = yaml.safe_load("\n".join(lines[1:end])) or {}
            except yaml.YAMLError as exc:
                raise InputError(f"{file}: front matter is not valid YAML: {exc}") from None
            if not isinstance(data, dict):
                raise InputError(f"{file}: front matter must be a mapping of keys to values")
            return data, end + 1
    raise InputError(f"{file}: front matter opened with '---' on line 1 is never closed")


def page_url(rel: str, front: dict[str, Any], base_url: str | None, style: str) -> str:
    """The published URL of a page (relative when there is no base URL)."""
    path = PurePosixPath(rel)
    folder = [s for s in path.parent.parts]
    stem = path.stem
    if style == "docusaurus":
        folder = [NUMERIC_PREFIX.sub("", s) for s in folder]
        stem = str(front.get("id") or NUMERIC_PREFIX.sub("", stem))
    slug = front.get("slug")
    if style == "docusaurus" and isinstance(slug, str) and slug:
        tail = slug.lstrip("/") if slug.startswith("/") else "/".join([*folder, slug])
    elif stem.lower() in ("index", "readme"):
        tail = "/".join(folder) + ("/" if folder else "")
    else:
        tail = "/".join([*folder, stem]) + ("/" if style == "mkdocs" else "")
    base = (base_url or "").rstrip("/")
    return f"{base}/{tail}" if base else tail


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


def _first_heading(lines: list[Line]) -> str | None:
    for line in lines:
        heading = parse_heading(line.text)
        if heading and heading.level == 1:
            return heading.text
    return None


def _title_from_name(rel: str) -> str:
    return NUMERIC_PREFIX.sub("", PurePosixPath(rel).stem).replace("-", " ").replace("_", " ")


def _matches(rel: str, patterns: list[str]) -> bool:
    name = PurePosixPath(rel).name
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def _hidden(rel: str) -> bool:
    """Dot folders, and `_`-prefixed files/folders (Docusaurus partials) are not pages."""
    return any(part.startswith((".", "_")) for part in PurePosixPath(rel).parts)
