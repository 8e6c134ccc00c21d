"""Site-generator syntax a CommonMark parser does not know, removed line by line.

Before a page goes to the CommonMark parser, the build machinery of its site
generator is blanked out so it can never be read as a heading, a setext
underline or a code block, while every line keeps its number (chunks and
patches point at real source lines):

* admonitions and containers — mkdocs `!!! note "Title"`, `??? tip`,
  pymdown `/// tip | Title`, Docusaurus `:::note[Title]`, VitePress
  `::: tip Title` — become a label (`Note: Title`) and their fences vanish;
  the 4-space-indented bodies of mkdocs admonitions and content tabs
  (`=== "Tab"`) are un-indented so their Markdown parses as Markdown rather
  than as an indented code block;
* includes — `--8<--` snippets (one line or a block of file names),
  `{! file !}`, `{* file *}`, VitePress `<<< file` and `[[toc]]` — are dropped;
  what each include line names (a block: each of its file lines) is kept by line
  (`Prepared.includes`), so the file's text can be added there (includes.py); in
  mkdocs, whose include extensions run before Markdown is parsed, an include line inside
  fenced code includes too (kept in the fence, `Prepared.in_code`);
* MDX ESM blocks (`import`/`export` up to the next blank line) and
  `{/* comments */}` are dropped; a Markdown file an `import` names
  (`import Setup from './_setup.md'`, Docusaurus partials) is an include where
  the page renders it (`<Setup />` on a line of its own);
* Hugo shortcode calls (`{{< tabs >}}`, `{{% alert title="Warning" %}}`) are dropped, a
  line of them only blanked, since Hugo expands them before Markdown is read; the text
  between them stays. An aside's opening call (`alert`, `note`, `warning` …) becomes a
  label as an admonition does (`Alert: Warning`), and a `highlight` block is fenced code
  (hugo_site.py).

Fenced code, HTML comments and `<script>`/`<style>`/`<pre>` blocks are
passed through untouched: nothing inside them is machinery (but for the mkdocs
includes above). Lines beyond `MAX_LINE_CHARS` are cut (hostile input; no page
has such prose).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from docloop.docs.hugo_site import (
    CODE_FENCE,
    SHORTCODE_LINE,
    aside,
    closes,
    code_opening,
    without_shortcodes,
)
from docloop.docs.includes import Include, block_entry, parse_include

#: longer lines are cut: no prose line is this long, and some parser rules rescan a line
#: once per nesting level
MAX_LINE_CHARS = 20_000
FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")  # any indent: fences in list items too
MKDOCS_ADMONITION = re.compile(r"^(?:!!!|\?\?\?\+?)[ \t]*([\w-]+)(?:[ \t]+\"(.*)\")?[ \t]*$")
MKDOCS_TAB = re.compile(r"^===\+?[ \t]+\".*\"[ \t]*$")
PYMDOWN_BLOCK = re.compile(r"^/{3,}[ \t]*([\w-]+)?[ \t]*(?:\|[ \t]*(.*))?$")
COLON_CONTAINER = re.compile(r"^:{3,}[ \t]*([\w-]+)?(?:\[(.*)\]|\{.*\}|[ \t]+(.*))?[ \t]*$")
INCLUDE = re.compile(r"^(?:\{[!*].*[!*]\}|-+8<-+[ \t]+\S.*|<<<[ \t]+\S.*|\[\[toc\]\])[ \t]*$")
SNIPPET_BLOCK = re.compile(r"^-+8<-+$")  # a line alone opens (and closes) a block of files
MDX_ESM = re.compile(r"^(?:import|export)[ \t{*]")
MDX_COMMENT = re.compile(r"\{/\*.*?\*/\}")
RAW_HTML = re.compile(r"^ {0,3}<(script|style|pre|textarea)\b", re.IGNORECASE)
#: the first characters any machinery (or fence, comment, raw HTML) line can start with
STARTERS = set("`~<!?=/:-{[ie")
SILENT_KINDS = {"tab", "tabs", "code-group", "raw", "v-pre", "html"}
#: an MDX import of a Markdown file: `import Setup from './_setup.mdx';` (a component)
MDX_PARTIAL_IMPORT = re.compile(
    r"^import[ \t]+([A-Z][\w$]*)[ \t]+from[ \t]+(['\"])([^'\"]+\.mdx?)\2[ \t]*;?[ \t]*$")
#: the component rendered alone on its line: `<Setup />`, `<Setup prop="x"/>`
MDX_PARTIAL_USE = re.compile(r"^[ \t]*<([A-Z][\w$]*)(?:[ \t][^<>]*)?/>[ \t]*$")
#: text every include line holds (an MDX partial: its import's `.md` or `.mdx` module)
INCLUDE_HINTS = ("{!", "{*", "8<-", "<<<")
MDX_PARTIAL_HINT = re.compile(r"\.mdx?['\"]")


def is_mdx(path: str, generator: str) -> bool:
    """Whether a page (or a partial it renders) is MDX: `.mdx`, or any page of a
    Docusaurus site (Docusaurus reads `.md` as MDX too)."""
    return path.lower().endswith(".mdx") or generator == "docusaurus"


def may_include(source: str, mdx: bool) -> bool:
    """A cheap test before the full pass: False when no line of `source` can be an
    include (most pages), so their files are never scanned line by line."""
    return any(hint in source for hint in INCLUDE_HINTS) or (
        mdx and "import " in source and MDX_PARTIAL_HINT.search(source) is not None)


@dataclass
class Prepared:
    """Parser-ready lines (same count as the input), admonition labels and includes by line
    index; `in_code`: the includes whose line is inside fenced code (and kept there)."""

    lines: list[str]
    labels: dict[int, str] = field(default_factory=dict)
    includes: dict[int, Include] = field(default_factory=dict)
    in_code: set[int] = field(default_factory=set)


@dataclass
class _State:
    fence: str | None = None  # the opening fence marker while inside fenced code
    fence_depth: int = 0  # how many mkdocs containers were open when it opened
    raw_end: str | None = None  # the text that closes the open raw HTML block
    esm: bool = False
    partials: dict[str, str] = field(default_factory=dict)  # MDX component -> Markdown file
    snippet_block: bool = False
    jsx_comment: bool = False
    indents: list[int] = field(default_factory=list)  # body indents of mkdocs containers
    code_call: str | None = None  # the Hugo code shortcode whose body is open (`highlight`)
    closings: list[int] = field(default_factory=list)  # lines closing a Hugo highlight


def prepare(lines: list[str], generator: str, mdx: bool) -> Prepared:
    """Blank out (or un-indent) the machinery of `lines`; see the module docstring."""
    out = Prepared([])
    state = _State()
    if generator == "hugo":  # a highlight body opens only where its closing call follows
        state.closings = [i for i, line in enumerate(lines)
                          if "{{" in line and closes(line[:MAX_LINE_CHARS], "highlight")]
    for index, full in enumerate(lines):
        raw = full[:MAX_LINE_CHARS]
        line = _dedent(raw, state) if generator == "mkdocs" else raw
        in_block, in_fence = state.snippet_block, state.fence is not None
        if generator == "hugo" and "{{" in line:
            line, called = _shortcodes(line, state, index)
            if called is not None:
                out.lines.append("")
                if called:
                    out.labels[index] = called
                continue
        kept, label = _one_line(line, state, generator, mdx)
        partial = _partial(line, state, kept) if mdx and not in_fence else None
        if partial is not None:
            kept = ""
        out.lines.append(kept)
        if label:
            out.labels[index] = label
        elif partial is not None:
            out.includes[index] = partial
        elif not kept and (include := _include(line, in_block and state.snippet_block)):
            out.includes[index] = include
        elif in_fence and generator == "mkdocs" and (include := _fenced_include(line)):
            out.includes[index] = include
            out.in_code.add(index)
    return out


def _shortcodes(line: str, state: _State, index: int) -> tuple[str, str | None]:
    """A Hugo line without its shortcode calls, and, for a line of calls only, its label
    ("" for none) in place of the line. A `highlight` call that ends a line of calls opens
    fenced code (a fence longer than any its body can hold) when a line further down
    closes it, and the first such line ends it; inside fenced code, raw HTML or a
    comment, calls are only dropped."""
    if state.code_call is not None:
        if closes(line, state.code_call):
            state.code_call = None
            return CODE_FENCE, None
        return line, None  # the body is code: as written
    if state.fence is not None or state.raw_end is not None:
        return without_shortcodes(line), None
    if SHORTCODE_LINE.match(line) is None:
        return without_shortcodes(line), None
    language = code_opening(line)
    if language is not None and state.closings and state.closings[-1] > index:
        state.code_call = "highlight"
        return CODE_FENCE + language, None
    found = aside(line)
    return "", (label(found[0], found[1]) or "") if found is not None else ""


def _partial(line: str, state: _State, kept: str) -> Include | None:
    """An MDX page's Markdown partial: its import is noted (the ESM line itself is
    dropped), its use alone on a line is an include of that file there."""
    imported = MDX_PARTIAL_IMPORT.match(line.strip()) if line.startswith("import") else None
    if imported:
        state.partials[imported.group(1)] = imported.group(3)
        return None
    used = MDX_PARTIAL_USE.match(kept) if kept and state.partials else None
    if used is None or used.group(1) not in state.partials:
        return None
    return Include(state.partials[used.group(1)])


def _fenced_include(line: str) -> Include | None:
    """An include line inside fenced code that the site expands there (mkdocs: a
    preprocessor replaces `{! file !}` or `--8<-- "file"` before any fence is parsed)."""
    include = _include(line, block_entry_line=False)
    return include if include is not None and include.preprocessed else None


def _include(line: str, block_entry_line: bool) -> Include | None:
    """What a dropped line includes: a one-line include, or a line of a `--8<--` block (one
    file each, closing marker excluded)."""
    if block_entry_line:
        return block_entry(line)
    stripped = line.strip()
    return parse_include(stripped) if stripped and INCLUDE.match(stripped) else None


def _dedent(raw: str, state: _State) -> str:
    """Strip the indent of the open mkdocs containers; close those the line leaves."""
    if not raw.strip():
        return ""
    expanded = raw.expandtabs(4)
    indent = len(expanded) - len(expanded.lstrip(" "))
    while state.indents and indent < state.indents[-1]:
        state.indents.pop()
        if state.fence is not None and state.fence_depth > len(state.indents):
            state.fence = None
    return expanded[state.indents[-1]:] if state.indents else raw


def _one_line(line: str, state: _State, generator: str, mdx: bool) -> tuple[str, str | None]:
    """The parser's version of one line and, for an admonition opener, its label."""
    if state.fence is not None:
        _close_fence(line, state)
        return line, None
    if state.raw_end is None and not state.esm and not state.jsx_comment \
            and not state.snippet_block and line.lstrip()[:1] not in STARTERS:
        return line, None  # plain prose: the common case, no pattern can match
    if state.raw_end is not None:
        if state.raw_end in line.lower():
            state.raw_end = None
        return line, None
    if _opens_passthrough(line, state):
        return line, None
    if _skipped_region(line, state, mdx):
        return "", None
    stripped = line.strip()
    if INCLUDE.match(stripped):
        return "", None
    if generator == "mkdocs":
        found = _mkdocs_container(line, state)
        if found is not None:
            return "", found or None
    for pattern in (PYMDOWN_BLOCK, COLON_CONTAINER):
        match = pattern.match(stripped)
        if match:
            return "", label(match.group(1), next((g for g in match.groups()[1:] if g), None))
    return (MDX_COMMENT.sub("", line) if mdx else line), None


def closes_fence(line: str, fence: str) -> bool:
    """Whether `line` closes fenced code opened by `fence` (its backticks or tildes): the
    same character, at least as many, and nothing after them (CommonMark), so a shorter
    fence inside a longer one is code, not the end of it."""
    marker = FENCE.match(line)
    return bool(marker and fence and marker.group(1)[0] == fence[0]
                and len(marker.group(1)) >= len(fence) and not line[marker.end():].strip())


def fence_places(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Each line with its place in the text's fenced code: "fence" (a line that opens or
    closes a block), "code" (inside one) or "text"."""
    fence = ""  # the open block's marker, "" outside fenced code
    for line in lines:
        if fence:
            closing = closes_fence(line, fence)
            fence = "" if closing else fence
            yield line, "fence" if closing else "code"
        elif (opening := FENCE.match(line)) is not None:
            fence = opening.group(1)
            yield line, "fence"
        else:
            yield line, "text"


def _close_fence(line: str, state: _State) -> None:
    if closes_fence(line, state.fence or ""):
        state.fence = None


def _opens_passthrough(line: str, state: _State) -> bool:
    """Fenced code, HTML comments and raw HTML blocks start here (kept as they are)."""
    marker = FENCE.match(line)
    if marker and not (marker.group(1)[0] == "`" and "`" in line[marker.end():]):
        state.fence, state.fence_depth = marker.group(1), len(state.indents)
        return True
    stripped = line.lstrip()
    if stripped.startswith("<!--") and len(line) - len(stripped) <= 3:
        if "-->" not in stripped[4:]:
            state.raw_end = "-->"
        return True
    raw = RAW_HTML.match(line)
    if raw:
        end = f"</{raw.group(1).lower()}>"
        if end not in line.lower():
            state.raw_end = end
        return True
    return False


def _skipped_region(line: str, state: _State, mdx: bool) -> bool:
    """MDX ESM blocks, multi-line `{/* */}` comments and `--8<--` blocks: dropped."""
    stripped = line.strip()
    if state.esm:
        state.esm = bool(stripped)
        return state.esm
    if state.jsx_comment:
        state.jsx_comment = "*/}" not in line
        return True
    if state.snippet_block:
        state.snippet_block = not SNIPPET_BLOCK.match(stripped)
        return True
    if SNIPPET_BLOCK.match(stripped):
        state.snippet_block = True
        return True
    if mdx and MDX_ESM.match(line):
        state.esm = True
        return True
    if mdx and stripped.startswith("{/*") and "*/}" not in stripped:
        state.jsx_comment = True
        return True
    return False


def _mkdocs_container(line: str, state: _State) -> str | None:
    """For an admonition or tab opener: its label ('' for tabs), and open its body."""
    stripped = line.lstrip(" ")
    admonition = MKDOCS_ADMONITION.match(stripped)
    if not admonition and not MKDOCS_TAB.match(stripped):
        return None
    base = state.indents[-1] if state.indents else 0
    state.indents.append(base + len(line) - len(stripped) + 4)
    if admonition:
        return label(admonition.group(1), admonition.group(2)) or ""
    return ""


def label(kind: str | None, title: str | None) -> str | None:
    """`tip`, `Pro tip` -> `Tip: Pro tip`; closing fences and tab markers -> None."""
    if not kind or kind.lower() in SILENT_KINDS:
        return None
    name = kind.replace("-", " ").capitalize() + ":"
    return f"{name} {title.strip()}" if title and title.strip() else name
