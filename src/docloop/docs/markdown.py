"""Markdown/MDX pages into sections of readable blocks, keeping source line numbers.

The page is parsed by a CommonMark parser (markdown-it-py), so setext
headings are headings and a `# comment` in an indented code block or a
heading inside `<!-- ... -->` is not. Generator machinery the parser does not
know (admonitions, tabs, includes, MDX imports) is handled first by
`docloop.docs.machinery`. The parser's line maps give every block its real
line range, so a chunk can point at (and a patch can edit) the real page.

What is kept is what a reader sees: prose, list items, tables, code blocks,
the text inside JSX/HTML components and admonition labels (`Tip: Title`).
HTML comments, `<script>`/`<style>` blocks and MDX imports are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from docloop.docs.anchors import AnchorMaker, split_custom_id
from docloop.docs.frontmatter import front_matter_end, split_front_matter
from docloop.docs.hugo_site import SHORTCODE_LINE as HUGO_LINE
from docloop.docs.includes import Include, shown_includes
from docloop.docs.machinery import is_mdx, prepare
from docloop.errors import InputError
from docloop.text import code_fence

#: a heading's inline Markdown is parsed up to this length (the parser is quadratic on
#: hostile input such as 100,000 `[`; real headings are far shorter)
MAX_HEADING_CHARS = 500
#: deeper nesting (quotes in lists in quotes...) stops being parsed, bounding recursion
MAX_NESTING = 40
JSX_TAG = re.compile(r"</?[A-Z][\w.]*\b[^>]*>")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
#: an included file the page's Markdown pulls in as Markdown, not as a code sample
MARKDOWN_FILE = re.compile(r"\.(?:md|mdx|markdown|mdown|mkd)$", re.IGNORECASE)
DROPPED_HTML = re.compile(r"^\s*<(?:!--|script\b|style\b)", re.IGNORECASE)
#: anchors that are not headings: `<a id="x">`/`<a name="x">`, mkdocs-autorefs `[](){#x}`,
#: an attr_list `{#x}` closing a paragraph or list item (mkdocs)
HTML_ID = re.compile(r"<[a-zA-Z][^>]*?\s(?:id|name)=[\"']([^\"']+)[\"']")
AUTOREF = re.compile(r"\[\]\(\)\{[ \t]*#([^\s{}]+)[ \t]*\}")
#: a link reference definition (`[Models]: models.md`, `[a b]: <url> "title"`) or an
#: abbreviation (`*[HTML]: Hyper Text Markup Language`) on one line; not a footnote's text
PAGE_DEFINITION = re.compile(
    r"^ {0,3}(?:\[(?!\^)[^\[\]\n]+\]:[ \t]*(?:<[^<>\n]*>|[^\s<>]+)"
    r"(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?[ \t]*"
    r"|\*\[[^\[\]\n]+\]:[ \t]+\S.*)$")
BLOCK_ATTRS = re.compile(r"(?:^|[ \t])\{:?[ \t]*#([^\s{}]+)[^{}]*\}[ \t]*$")


@dataclass(frozen=True)
class Line:
    """One kept line: its text and its 1-based line number in the source file."""

    number: int
    text: str
    code: bool = False  # part of a code block


@dataclass(frozen=True)
class Heading:
    """A heading with its level, visible text, URL anchor and 1-based source line."""

    level: int
    text: str
    anchor: str
    line: int


@dataclass
class Section:
    """The blocks under one heading, with the path of headings above it."""

    heading_path: list[str]
    anchor: str
    level: int = 0
    line: int = 0  # the heading's source line (0 for the text before any heading)
    blocks: list[list[Line]] = field(default_factory=list)
    points: list[Heading] = field(default_factory=list)  # non-heading anchors (level 0)


def parser() -> MarkdownIt:
    """CommonMark. GFM tables stay off: a table reads as one paragraph block either way,
    and markdown-it-py's table rule is quadratic in the number of rows."""
    return MarkdownIt("commonmark", {"maxNesting": MAX_NESTING})


#: block structure only: inline Markdown is parsed for headings alone (most of the cost)
BLOCKS = parser().disable("inline")
INLINE = parser()


def parse_sections(lines: list[str], first_number: int = 1, generator: str = "mkdocs",
                   mdx: bool = False, included: Mapping[str, str] | None = None
                   ) -> list[Section]:
    """The page body `lines` (first one numbered `first_number`) split into sections;
    `included`: the text of the files its include lines name (includes.py), by path; what
    each include line shows is added as code at that line (in mkdocs fenced code, in the
    fence, in place of the line)."""
    prepared = prepare(lines, generator, mdx)
    shown = shown_includes(prepared.includes, (included or {}).get)
    in_code = {index: shown.pop(index) for index in prepared.in_code if index in shown}
    tokens = BLOCKS.parse("\n".join(prepared.lines))
    items: list[tuple[int, Heading | list[Line]]] = []
    raw_headings: list[tuple[int, int, str, str | None]] = []
    for start, kind, token, inline in _leaf_blocks(tokens):
        if kind != "code":
            items += _point_anchors(prepared.lines, token, generator, first_number)
        if kind == "heading":
            text, custom = _heading_text(inline.content if inline else "", generator)
            raw_headings.append((start, int(token.tag[1]), text, custom))
            continue
        block = _block_lines(kind, token, prepared.lines, start, first_number, in_code)
        if block:
            items.append((start, block))
    items += [(index, [Line(index + first_number, text)])
              for index, text in prepared.labels.items()]
    # what no code block took (a fence markdown-it did not see as one) shows as its own
    for index, shows in (shown | in_code).items():
        items += _included(prepared.includes[index], shows, index, index + first_number,
                           generator, in_code=index in in_code)
    anchors = AnchorMaker(generator).assign([(text, custom) for _, _, text, custom
                                             in raw_headings])
    items += [(start, Heading(level, text.strip(), anchor, start + first_number))
              for (start, level, text, _), anchor in zip(raw_headings, anchors, strict=True)]
    items.sort(key=lambda item: (item[0], isinstance(item[1], Heading) and not item[1].level))
    return _group(items)


def headings(sections: list[Section]) -> list[Heading]:
    """The headings of parsed sections, in order."""
    return [Heading(s.level, s.heading_path[-1], s.anchor, s.line)
            for s in sections if s.heading_path]


def anchors(sections: list[Section]) -> list[Heading]:
    """Every link target of the page: headings, then the anchors inside sections (level 0)."""
    return headings(sections) + [point for s in sections for point in s.points]


def _calls_shortcodes(source: str) -> bool:
    """Whether a line of the page is nothing but Hugo shortcode calls: a page that only
    mentions one (`` `{{< ref >}}` `` in a sentence) is read as before."""
    return "{{" in source and any(HUGO_LINE.match(line) for line in source.splitlines()
                                  if "{{" in line)


def section_end(source: str, heading: str | None, mdx: bool = False) -> tuple[int, int]:
    """Where the section titled `heading` ends in `source`: the 0-based index of the line
    after its last non-blank line, and its level; (end of page, 1) when no heading has
    that visible text. Where a suggested section goes, so it must see real headings only,
    read as the loader read them: the page's generator is not stored with it, so a page
    with a line of Hugo shortcode calls is read as Hugo's (a `# comment` in a `highlight` body is no
    heading), front matter as split_front_matter splits it."""
    lines = source.splitlines()
    generator = "docusaurus" if mdx else "hugo" if _calls_shortcodes(source) else "mkdocs"
    try:
        body = split_front_matter(lines, Path("page"), generator)[1]
    except InputError:  # the loader refused it; where its text starts is still known
        body = front_matter_end(lines) or 0
    wanted = " ".join((heading or "").split()).lower()
    sections = parse_sections(lines[body:], body + 1, generator, mdx)
    found = headings(sections)
    code = {line.number for section in sections for block in section.blocks
            for line in block if line.code}
    start = next((h for h in found if wanted and " ".join(h.text.split()).lower() == wanted),
                 None)
    if start is None:
        return _before_page_definitions(lines, body, code), 1
    after = next((h.line - 1 for h in found if h.line > start.line and h.level <= start.level),
                 None)
    if after is None:  # the section runs to the page's end: its definitions are the page's
        after = _before_page_definitions(lines, start.line, code)
    while after > start.line and not lines[after - 1].strip():
        after -= 1
    return after, start.level


def _before_page_definitions(lines: list[str], first: int, code: set[int]) -> int:
    """The end of the page's text before the link reference definitions (`[Models]:
    models.md`) and abbreviations (`*[HTML]: …`) it closes with, which every section of the
    page uses: a section added at the end goes above them, as a writer would put it. The
    page's end when it closes with anything else, or holds nothing but definitions after
    line `first`. `code`: the 1-based numbers of the lines the parser read as code (a
    definition-like line in a fence, even an unclosed one, is code)."""
    end = len(lines)
    at = end
    while at > first and at not in code and (
            not lines[at - 1].strip() or PAGE_DEFINITION.match(lines[at - 1])):
        at -= 1
    defined = any(PAGE_DEFINITION.match(line) for line in lines[at:end])
    return at if defined and at > first else end


def _leaf_blocks(tokens: list[Token]) -> list[tuple[int, str, Token, Token | None]]:
    """(first line index, kind, token, heading inline) for every leaf block with a line map."""
    found: list[tuple[int, str, Token, Token | None]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.map is None:
            continue
        if token.type == "heading_open":
            found.append((token.map[0], "heading", token, tokens[index]))
        elif token.type in ("paragraph_open", "table_open"):
            found.append((token.map[0], "text", token, None))
            close = token.type.replace("_open", "_close")
            while index < len(tokens) and not (tokens[index].type == close
                                               and tokens[index].level == token.level):
                index += 1
        elif token.type in ("fence", "code_block"):
            found.append((token.map[0], "code", token, None))
        elif token.type == "html_block":
            found.append((token.map[0], "html", token, None))
    return found


def _point_anchors(lines: list[str], token: Token, generator: str,
                   first_number: int) -> list[tuple[int, Heading | list[Line]]]:
    """Anchors written inside a block (`<a id>`, `[](){#x}`, a block's attr_list), as
    level-0 headings; their text is filled in with the section they fall in."""
    found: list[tuple[int, Heading | list[Line]]] = []
    start, end = token.map or (0, 0)
    for index in range(start, min(end, len(lines))):
        ids = HTML_ID.findall(lines[index]) + AUTOREF.findall(lines[index])
        attrs = BLOCK_ATTRS.search(lines[index]) if generator == "mkdocs" else None
        if attrs and token.type != "heading_open":
            ids.append(attrs.group(1))
        found += [(index, Heading(0, "", anchor, index + first_number)) for anchor in ids]
    return found


def _heading_text(content: str, generator: str) -> tuple[str, str | None]:
    """Visible text of a heading's inline Markdown, and its explicit `{#id}`."""
    content, custom = split_custom_id(content[-MAX_HEADING_CHARS * 4:], generator)
    content = content[:MAX_HEADING_CHARS]
    parts: list[str] = []
    for token in INLINE.parseInline(content):
        for child in token.children or []:
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
    return "".join(parts), custom


def _block_lines(kind: str, token: Token, lines: list[str], start: int, first_number: int,
                 in_code: dict[int, list[str]]) -> list[Line]:
    """The readable lines of one leaf block (empty when it is machinery). `in_code`: what
    include lines inside fenced code show, by line index; those used here are taken out."""
    end = token.map[1] if token.map else start
    span = [(first_number + i, lines[i]) for i in range(start, min(end, len(lines)))]
    while span and not span[-1][1].strip():
        span.pop()
    if kind == "code":
        return [line for number, text in span
                for line in _code_lines(number, text, in_code.pop(number - first_number, None))]
    if kind == "html":
        if DROPPED_HTML.match(token.content):
            return []
        cleaned = [(number, HTML_TAG.sub(" ", text).strip()) for number, text in span]
        return [Line(number, text) for number, text in cleaned if text]
    return [Line(number, JSX_TAG.sub(" ", text).rstrip()) for number, text in span]


def _code_lines(number: int, text: str, included: list[str] | None) -> list[Line]:
    """One line of a code block; for an include line (mkdocs expands those in fenced code
    too), the lines it shows in its place, indented as it is and numbered with it."""
    if included is None:
        return [Line(number, text, code=True)]
    indent = text[:len(text) - len(text.lstrip())]
    return [Line(number, (indent + line).rstrip(), code=True) for line in included]


def _included(include: Include, text: list[str], index: int, number: int, generator: str,
              in_code: bool) -> list[tuple[int, list[Line]]]:
    """The blocks the include line at `index` (numbered `number`) shows, all numbered
    with it: a Markdown file that the page's own Markdown pulls in (mkdocs' include
    extensions, outside fenced code) as the prose it renders to, its headings as lines of
    text (the page's sections stay the page's own), anything else as a fenced code block."""
    if in_code or not include.preprocessed or not MARKDOWN_FILE.search(include.path):
        return [(index, _included_block(text, number))]
    blocks: list[tuple[int, list[Line]]] = []
    mdx = is_mdx(include.path, generator)
    for section in parse_sections(text, 1, generator, mdx):  # its includes are not followed
        if section.heading_path:
            blocks.append((index, [Line(number, section.heading_path[-1])]))
        blocks += [(index, [Line(number, line.text, line.code) for line in block])
                   for block in section.blocks]
    return blocks


def _included_block(text: list[str], number: int) -> list[Line]:
    """What an include line shows, as the fenced code block the site shows, every line
    numbered with the include line (the page's own lines keep their numbers)."""
    fence = code_fence("\n".join(text))
    body = [Line(number, line.rstrip(), code=True) for line in text]
    return [Line(number, fence, code=True), *body, Line(number, fence, code=True)]


def _group(items: list[tuple[int, Heading | list[Line]]]) -> list[Section]:
    """Sections in document order: each heading opens one, blocks fill the current one."""
    stack: list[tuple[int, str]] = []
    current = Section([], "")
    found = [current]
    for _, item in items:
        if isinstance(item, Heading) and item.level == 0:
            title = current.heading_path[-1] if current.heading_path else ""
            current.points.append(Heading(0, title, item.anchor, item.line))
        elif isinstance(item, Heading):
            while stack and stack[-1][0] >= item.level:
                stack.pop()
            stack.append((item.level, item.text))
            current = Section([text for _, text in stack], item.anchor, item.level, item.line)
            found.append(current)
        else:
            current.blocks.append(item)
    return found

