"""Files a page pulls in at build time, read so their text is indexed with the page.

FastAPI's pages show every code sample through an include line
(`{* ../../docs_src/background_tasks/tutorial001_py310.py hl[6:8] *}`, older pages
`{!> ../../../docs_src/… !}`); mkdocs snippets write `--8<-- "file"` and VitePress
`<<< @/snippets/file.js`; a Docusaurus page renders a Markdown partial it imports
(`<Setup />`, machinery.py). Left out, the index holds none of the code users paste
back at the docs (`BackgroundTasks`, `Depends`), which is the evidence the
re-ranker's `names` feature matches. The include line itself is still blanked
for the parser (machinery.py), so every chunk keeps its real source lines; the
part of the file the site shows there (excerpts.py) is added as code lines
numbered with the include line (a Markdown file as the text it renders to,
markdown.py). Which include lines show what is decided once
(`shown_includes`), by the loader (the files it reads are the files the page's
hash covers) and by the parser alike, so the two cannot disagree.

Where an include resolves differs per generator and per configuration (the
folder of `mkdocs.yml`, a `base_path`, the page's folder), so each target is
tried against the page's folder, the docs root and the root's ancestors, never
beyond the repository (the nearest ancestor holding `.git`, else the docs
root's parent): a page cannot pull in files from elsewhere on the machine.
Files larger than MAX_INCLUDE_BYTES, or not UTF-8 text, are left out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from docloop.docs.excerpts import (
    WHOLE,
    Excerpt,
    excerpt_lines,
    snippet_excerpt,
    variants_excerpt,
    vitepress_excerpt,
)

MAX_INCLUDE_BYTES = 64 * 1024  # a code sample; anything larger is not one
MAX_INCLUDES = 50  # per page: files tried, and include lines shown (the same file may be
#: shown by many lines; a page of 10,000 would otherwise hold 10,000 copies)
#: bump when what an include line shows changes: the pages that show files re-chunk (pages
#: without includes keep their hash)
INCLUDES_VERSION = "2"
#: the path of `{! path !}`, `{!path!}`, `{!> path !}` (mdx_include)
_BRACED = re.compile(r"^\{!>?\s*(\S+?)(?:!\}|\s|$)")
#: `--8<-- "file.py:3:9"` (any run of dashes; pymdownx.snippets wants the quotes)
_SNIPPET = re.compile(r"""^-+8<-+[ \t]+("(?:\\"|[^"])+?"|'(?:\\'|[^'])+?')$""")
_VITEPRESS = re.compile(r"^<<<\s+(\S.*)$")


@dataclass(frozen=True)
class Include:
    """One include line: the file it names, as written (`path`), and the part of it the
    site shows there (excerpts.py). `preprocessed`: its syntax is replaced before the page is
    parsed (the Python-Markdown preprocessors of mdx_include, markdown-include-variants and
    pymdownx.snippets), so a line inside fenced code includes too (VitePress `<<<` does not)."""

    path: str
    excerpt: Excerpt = WHOLE
    preprocessed: bool = True


def parse_include(marker: str) -> Include | None:
    """The include an include line makes, or None when the line is not one."""
    line = marker.strip()
    for parse in (_variants, _mdx_include, _snippet, _vitepress):
        include = parse(line)
        if include is not None:
            return include if include.path else None
    return None


def block_entry(line: str) -> Include | None:
    """A line inside a `--8<--` block: one file spec (ranges and sections as in a one-line
    snippet), unless blank, commented out (`;`) or a one-line snippet (pymdownx.snippets
    ignores those in a block)."""
    name = line.strip()
    if not name or name.startswith(";") or _SNIPPET.match(name):
        return None
    path, excerpt = snippet_excerpt(name)
    return Include(path, excerpt) if path else None


def _variants(line: str) -> Include | None:
    """`{* path ln[19:21] hl[20] *}` (markdown-include-variants): FastAPI's sample with the
    lines its `ln[...]` selects; split by hand, as a pattern would take quadratic time on a
    long line that is not one."""
    parts = line[2:-2].split(maxsplit=1) if line[:2] == "{*" and line[-2:] == "*}" else []
    if not parts:
        return None
    return Include(parts[0], variants_excerpt(parts[1] if len(parts) > 1 else ""))


def _mdx_include(line: str) -> Include | None:
    """`{! path !}`: the whole file."""
    found = _BRACED.match(line)
    return Include(found.group(1)) if found else None


def _snippet(line: str) -> Include | None:
    """`--8<-- "file"`; a quoted name starting with `;` is commented out."""
    found = _SNIPPET.match(line)
    if not found or found.group(1)[1:].lstrip().startswith(";"):
        return None
    return Include(*snippet_excerpt(found.group(1)[1:-1]))


def _vitepress(line: str) -> Include | None:
    """`<<< path#region{options} [title]`: a code block parsed as Markdown (not inside
    fenced code)."""
    found = _VITEPRESS.match(line)
    return Include(*vitepress_excerpt(found.group(1)), preprocessed=False) if found else None


def repository_root(docs_root: Path) -> Path:
    """How far includes may reach: the repository the docs are in (`git_root`), else the
    docs root's parent (a docs folder copied out of its repository reaches no further)."""
    root = docs_root.resolve()
    return git_root(root) or root.parent


def git_root(folder: Path) -> Path | None:
    """The repository `folder` is in: the nearest folder up (itself included) with `.git`,
    its path as given."""
    return next((f for f in (folder, *folder.parents) if (f / ".git").exists()), None)


def shown_includes(includes: Mapping[int, Include],
                   read: Callable[[str], str | None]) -> dict[int, list[str]]:
    """line index -> the lines it shows, for the first MAX_INCLUDES include lines that show
    anything, trying at most MAX_INCLUDES files (`read`: a path's text, None when it cannot
    be read). The loader runs it to learn which files to read, the parser to show them: one
    rule, so a page's hash covers exactly the files it shows."""
    texts: dict[str, str | None] = {}
    shown: dict[int, list[str]] = {}
    for index, include in sorted(includes.items()):
        if len(shown) == MAX_INCLUDES:
            break
        if include.path not in texts:
            if len(texts) == MAX_INCLUDES:
                continue
            texts[include.path] = read(include.path)
        text = texts[include.path]
        lines = _trimmed(excerpt_lines(text, include.excerpt)) if text is not None else []
        if lines:
            shown[index] = lines
    return shown


def _trimmed(lines: list[str]) -> list[str]:
    """`lines` without the blank lines at either end (a code block does not show them)."""
    filled = [n for n, line in enumerate(lines) if line.strip()]
    return lines[filled[0]:filled[-1] + 1] if filled else []


def read_includes(includes: Mapping[int, Include], page_file: Path, docs_root: Path,
                  boundary: Path) -> dict[str, str]:
    """path -> the file's text, for the files the page's include lines show (shown_includes)
    that resolve inside `boundary` (a resolved folder, as repository_root gives it)."""
    found: dict[str, str] = {}

    def read(path: str) -> str | None:
        text = _read(path, page_file, docs_root, boundary)
        if text is not None:
            found[path] = text
        return text

    shown = shown_includes(includes, read)
    return {path: found[path] for path in sorted({includes[i].path for i in shown})}


def includes_digest(included: Mapping[str, str]) -> str:
    """What the included files add to a page's content hash (so an edited sample
    re-chunks the page that shows it)."""
    if not included:
        return ""
    digest = hashlib.sha256(f"includes {INCLUDES_VERSION}\0".encode())
    for target in sorted(included):
        digest.update(f"{target}\0{included[target]}\0".encode())
    return digest.hexdigest()


def _read(target: str, page_file: Path, docs_root: Path, boundary: Path) -> str | None:
    if target.startswith("@/"):  # VitePress: from the source root
        bases, target = [docs_root], target[2:]
    elif target.startswith("@site/"):  # Docusaurus: from the site (the docs root's parent)
        bases, target = [docs_root.parent, docs_root], target[len("@site/"):]
    elif target.startswith("/"):  # Mintlify's `/snippets/…`: from the docs root, never `/`
        bases, target = [docs_root, *_ancestors(docs_root, boundary)], target.lstrip("/")
    else:
        bases = [page_file.parent, docs_root, *_ancestors(docs_root, boundary)]
    for base in bases:
        text = _text_within(base / target, boundary)
        if text is not None:
            return text
    return None


def _ancestors(docs_root: Path, boundary: Path) -> list[Path]:
    """The docs root's parents up to and including `boundary`."""
    root = docs_root.resolve()
    if not root.is_relative_to(boundary):
        return []
    return [p for p in root.parents if p.is_relative_to(boundary)]


def _text_within(candidate: Path, boundary: Path) -> str | None:
    """The file's text when it is a small UTF-8 file inside `boundary` (symlinks followed
    before the check), else None."""
    try:
        real = candidate.resolve()
        if not real.is_relative_to(boundary) or not real.is_file():
            return None
        if real.stat().st_size > MAX_INCLUDE_BYTES:
            return None
        return real.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
