"""Markdown/MDX to plain searchable lines, keeping source line numbers.

What is kept is what a reader sees: prose, list items, code blocks, the text
inside JSX components and admonitions (with their kind as a word, e.g.
"Tip:"). What is dropped is build machinery: MDX import/export lines,
self-closing components, admonition fences, mkdocs tab markers and
attribute lists. Every kept line keeps its 1-based source line number so
chunks can point at (and patches can edit) the real page.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

FENCE = re.compile(r"^\s*(```+|~~~+)")
ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
ATTR_LIST = re.compile(r"\s*\{\s*#([\w.:-]+)[^}]*\}\s*$")
ATTR_LIST_ANY = re.compile(r"\s*\{:?\s*[#.][^}]*\}\s*$")
MDX_ESM = re.compile(r"^(import|export)\s")
SELF_CLOSING = re.compile(r"^\s*<[A-Z][\w.]*\b[^>]*/>\s*$")
JSX_TAG = re.compile(r"</?[A-Z][\w.]*\b[^>]*>")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
PYMDOWN_BLOCK = re.compile(r"^\s*/{3,}\s*(\w[\w-]*)?\s*(?:\|\s*(.*))?$")
MATERIAL_ADMONITION = re.compile(r"^(\s*)(?:!!!|\?\?\?\+?)\s*(\w+)(?:\s+\"(.*)\")?\s*$")
DOCUSAURUS_ADMONITION = re.compile(r"^\s*:::\s*(\w+)?(?:\[(.*)\]|\s+(.*))?\s*$")
INCLUDE = re.compile(r"^\s*\{[!*].*[!*]\}\s*$")


@dataclass(frozen=True)
class Line:
    """One kept line: its text and its 1-based line number in the source file."""

    number: int
    text: str
    code: bool = False  # inside (or a fence of) a code block: never a heading


@dataclass(frozen=True)
class Heading:
    """An ATX heading with its level, display text and URL anchor."""

    level: int
    text: str
    anchor: str


def slugify(text: str) -> str:
    """The anchor mkdocs (toc) and Docusaurus both derive from a heading."""
    text = unicodedata.normalize("NFKD", text)
    text = re.sub(r"<[^>]+>|`", "", text).lower()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[\s]+", "-", text.strip())


def parse_heading(text: str) -> Heading | None:
    """An ATX heading (`## Title { #id }` gives anchor `id`), or None."""
    match = ATX.match(text)
    if not match:
        return None
    title = match.group(2)
    custom = ATTR_LIST.search(title)
    anchor = custom.group(1) if custom else ""
    title = ATTR_LIST_ANY.sub("", title).strip()
    display = HTML_TAG.sub("", title).replace("`", "").strip()
    return Heading(len(match.group(1)), display, anchor or slugify(title))


def clean_lines(lines: list[str], first_number: int = 1) -> list[Line]:
    """Readable lines of a Markdown/MDX body, with source line numbers."""
    kept: list[Line] = []
    fence: str | None = None
    for offset, raw in enumerate(lines):
        number = first_number + offset
        marker = FENCE.match(raw)
        if fence is not None:
            kept.append(Line(number, raw, code=True))
            if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                fence = None
            continue
        if marker:
            fence = marker.group(1)
            kept.append(Line(number, raw, code=True))
            continue
        text = _clean_prose_line(raw)
        if text is not None:
            kept.append(Line(number, text))
    return kept


def _clean_prose_line(raw: str) -> str | None:
    """A prose line as a reader sees it, or None when it is machinery."""
    if MDX_ESM.match(raw) or SELF_CLOSING.match(raw) or INCLUDE.match(raw):
        return None
    block = PYMDOWN_BLOCK.match(raw)
    if block:
        return _admonition_label(block.group(1), block.group(2))
    material = MATERIAL_ADMONITION.match(raw)
    if material:
        return _admonition_label(material.group(2), material.group(3))
    docusaurus = DOCUSAURUS_ADMONITION.match(raw)
    if docusaurus and raw.strip().startswith(":::"):
        return _admonition_label(docusaurus.group(1), docusaurus.group(2) or docusaurus.group(3))
    if raw.startswith("    ") and not raw.strip().startswith(("-", "*", "```")):
        raw = raw[4:]  # material admonition bodies are indented; un-indent prose
    if raw.lstrip().startswith("#"):
        return raw.strip()
    return JSX_TAG.sub(" ", raw).rstrip()


def _admonition_label(kind: str | None, title: str | None) -> str | None:
    """`/// tip | Title` -> `Tip: Title`; closing fences and tab markers -> None."""
    if not kind or kind == "tab":
        return None
    label = kind.capitalize() + ":"
    return f"{label} {title.strip()}" if title and title.strip() else label
