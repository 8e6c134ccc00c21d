"""The part of an included file a site shows, as each include syntax selects it.

An include line names a file and, often, the part of it the page shows; indexing the
whole file would put code the reader never sees on the page (and, in a chunk, push out
the lines the page is about):

* FastAPI `{* file ln[19:21] *}` (markdown-include-variants) shows lines 19 to 21 only,
  `ln[1:9,29:35]` two ranges with the code left out between them marked; 1-based,
  inclusive, the ranges sorted; `hl[...]` and `title[...]` only decorate the block.
* mkdocs snippets (pymdownx.snippets) `--8<-- "file.py:3:9"` shows lines 3 to 9,
  `file.py:3` line 3 to the end, `file.py::9` up to line 9, `file.py:1:3,5:6` several
  ranges run together (negative numbers count from the end); `file.py:name` shows the
  lines between the file's `--8<-- [start:name]` and `--8<-- [end:name]` marker lines.
  Marker lines are never shown: those of other sections inside a section, and all of them
  when the whole file or a range is shown (`;--8<-- [start:x]`, escaped, shows without
  its `;`). A section the file does not have shows nothing, as on the site.
* VitePress `<<< @/snippets/snippet.js#name{2} [title]` shows the lines between the
  file's `// #region name` and `// #endregion name` (`<!-- #region name -->`,
  `# region name`, `/* #region name */`...; every region of that name, markers of
  that comment style not shown, the common indent removed); `{2}`, `{1,3-4}`, `{ts}` and
  `[title]` only decorate the block. Without such a region the whole file is shown, as
  VitePress 1 does (VitePress 2 fails the build); the region itself is cut in regions.py.

The selection happens when the page is shown, from the whole file's text, so the
loader reads and hashes files and never has to know which part is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docloop.docs.regions import region_lines

#: 1-based, both ends included; None: from the first line / to the last one
LineRange = tuple[int | None, int | None]
#: the line FastAPI's site shows where code between two ranges was left out
ELIDED = "..."
#: `ln[19:21]`, `hl[3]`, `title["main.py"]` (from a word's start, up to the next bracket: linear)
_OPTION = re.compile(r"(?<!\w)(\w++)\[([^\[\]]++)\]")
#: a snippet spec ends in line ranges (`:3:9`, `:1:3,5:6`, `:-2`) or a `:section` name
_RANGE_CHARS = "-:,0123456789"
_FIRST_RANGE = re.compile(r"(?::-?\d*){1,2}")  # `:3:9`, `:3`, `::9`
_LATER_RANGE = re.compile(r"-?\d*(?::-?\d*)?")  # after a comma: `5:6`, `5`, `:6`
_SECTION_NAME = re.compile(r"(?i)[a-z][-_0-9a-z]*")
_VITEPRESS_REGION = re.compile(r"#([\w.-]+)$")
#: `# --8<-- [start:name]` anywhere in a line of a snippet file (`;` escapes it). It starts
#: where a run of `;` or `-` starts and never backtracks into one (possessive), so a line
#: of 60,000 dashes costs linear time
_SECTION_MARKER = re.compile(
    r"(?i)(?:(?<!;)(?P<escape>;++)|(?<![-;]))(?P<marker>-++8<-++[ \t]++)"
    r"(?P<section>\[[ \t]*+(?P<kind>start|end)[ \t]*+:[ \t]*+(?P<name>[a-z][-_0-9a-z]*+)"
    r"[ \t]*+\])(?P<post>.*)")


@dataclass(frozen=True)
class Excerpt:
    """What an include shows of its file: all of it unless a field narrows it."""

    ranges: tuple[LineRange, ...] = ()
    gap: str | None = None  # the line shown between two ranges (None: they run on)
    section: str = ""  # a snippets section name
    snippet: bool = False  # a snippets include: its section marker lines are not shown
    region: str = ""  # a VitePress region name


WHOLE = Excerpt()


def excerpt_lines(text: str, excerpt: Excerpt) -> list[str]:
    """The lines of `text` (a file's) that `excerpt` shows."""
    lines = text.splitlines()
    if excerpt.section:
        return _snippet_lines(lines, excerpt.section)
    if excerpt.region:
        return region_lines(lines, excerpt.region)
    if excerpt.ranges:
        lines = _in_ranges(lines, excerpt, text.endswith(("\n", "\r")))
    return _snippet_lines(lines, None) if excerpt.snippet else lines


def _in_ranges(lines: list[str], excerpt: Excerpt, final_newline: bool) -> list[str]:
    """The lines of `excerpt.ranges`, with `excerpt.gap` between them. Negative numbers
    count from the end as pymdownx.snippets counts them: a final newline ends one more,
    empty, line."""
    total = len(lines) + final_newline
    shown: list[str] = []
    for number, (start, end) in enumerate(excerpt.ranges):
        if number and excerpt.gap is not None:
            shown.append(excerpt.gap)
        shown += lines[_first(start, total):_last(end, total)]
    return shown


def snippet_excerpt(spec: str) -> tuple[str, Excerpt]:
    """A pymdownx.snippets file spec (`file.py`, `file.py:3:9`, `file.py:1:3,5:6`,
    `file.py:name`) as (path, the part shown)."""
    path, ranges = _split_ranges(spec.strip())
    if ranges:
        parts = tuple(_snippet_range(part) for part in ranges[1:].split(","))
        return path.strip(), Excerpt(parts, snippet=True)
    head, colon, name = path.rpartition(":")
    if colon and _SECTION_NAME.fullmatch(name):
        return head.strip(), Excerpt(section=name, snippet=True)
    return path.strip(), Excerpt(snippet=True)


def _split_ranges(spec: str) -> tuple[str, str]:
    """(path, the line ranges ending `spec`, '' when none), as pymdownx.snippets splits
    them (the shortest path that leaves valid ranges), found right to left so that a
    hostile spec costs linear time, not the quadratic time of a lazy-path pattern."""
    start = len(spec.rstrip(_RANGE_CHARS))
    segments = spec[start:].split(",")
    first = len(segments) - 1  # the segments after `first` are all valid later ranges
    while first > 0 and segments[first] and _LATER_RANGE.fullmatch(segments[first]):
        first -= 1
    offset = start + sum(len(segment) + 1 for segment in segments[:first])
    for segment in segments[first:]:
        colons = [n for n, char in enumerate(segment) if char == ":"]
        for colon in colons[-2:]:  # the first range holds one or two colons
            if _FIRST_RANGE.fullmatch(segment, colon):
                return spec[:offset + colon], spec[offset + colon:]
        offset += len(segment) + 1
    return spec, ""


def _snippet_range(part: str) -> LineRange:
    """`3:9` -> (3, 9); `3` -> (3, None); `:9` -> (None, 9); `-2:` -> (-2, None)."""
    first, _, last = part.partition(":")
    return _number(first), _number(last)


def _number(text: str) -> int | None:
    """A range end as a number; None when left out (a lone `-`, which fails pymdownx, too)."""
    return int(text) if text.strip("-") else None


def _snippet_lines(lines: list[str], name: str | None) -> list[str]:
    """The lines a snippet shows: with `name`, those between its `--8<-- [start:name]` and
    `--8<-- [end:name]` markers; without, all of them. Section markers are never shown; an
    escaped one (`;--8<-- [start:x]`) is text, shown without its first `;`, and opens or
    closes nothing."""
    shown: list[str] = []
    inside = name is None
    for line in lines:
        marker = _SECTION_MARKER.search(line) if "8<" in line else None
        if marker is None or marker["escape"]:
            if inside:
                shown.append(line if marker is None else _unescaped(marker))
        elif name is not None and marker["name"] == name:
            if marker["kind"].lower() == "end":
                break  # the section ends (an end before its start: nothing is shown)
            inside = True  # a start (a repeated one changes nothing)
    return shown


def _unescaped(marker: re.Match[str]) -> str:
    """An escaped section marker line as shown: its first `;` dropped."""
    line = marker.string
    return line[:marker.start()] + marker["escape"][1:] + line[marker.start("marker"):]


def variants_excerpt(options: str) -> Excerpt:
    """The part a FastAPI `{* file options *}` line shows: its `ln[...]` ranges (`19:21`,
    `5`, comma-separated, sorted as the extension sorts them), the whole file without one.
    A range that is not numbers fails the site's build; the whole file is shown then."""
    ranges: list[LineRange] = []
    for name, spec in _OPTION.findall(options):
        if name != "ln":
            continue
        parsed = _numbered_ranges(spec)
        if parsed is None:
            return WHOLE
        ranges += parsed
    return Excerpt(tuple(sorted(ranges)), gap=ELIDED) if ranges else WHOLE


def _numbered_ranges(spec: str) -> list[tuple[int, int]] | None:
    """`19:21, 30` -> [(19, 21), (30, 30)]; None when a part is not `N` or `N:M`."""
    ranges: list[tuple[int, int]] = []
    for part in spec.split(","):
        first, sep, last = part.partition(":")
        try:
            ranges.append((int(first), int(last) if sep else int(first)))
        except ValueError:
            return None
    return ranges


def vitepress_excerpt(spec: str) -> tuple[str, Excerpt]:
    """What follows `<<<` (`@/snippets/a.js#name{1,3 ts} [a.js]`) as (path, the part shown):
    the title, the `{...}` options and the `#region` are taken off the end in that order,
    so the path itself may hold spaces."""
    rest = spec.strip()
    title = rest.find("[")  # a title runs from the first `[` to a final `]`
    if rest.endswith("]") and 0 <= title < len(rest) - 2:
        rest = rest[:title].rstrip()
    brace = rest.rfind("{")
    if rest.endswith("}") and brace > 0:
        rest = rest[:brace].rstrip()
    region = _VITEPRESS_REGION.search(rest)
    if region is None:
        return rest.strip(), WHOLE
    return rest[:region.start()].strip(), Excerpt(region=region.group(1))


def _first(start: int | None, total: int) -> int:
    """The slice start of a 1-based first line (negative: counted from the end)."""
    if start is None:
        return 0
    return max(0, total + start) if start < 0 else max(0, start - 1)


def _last(end: int | None, total: int) -> int:
    """The slice end of a 1-based last line, included (negative: counted from the end)."""
    if end is None:
        return total
    return min(max(0, total + 1 + end), total) if end < 0 else end
