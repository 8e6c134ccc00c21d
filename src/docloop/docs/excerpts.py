"""The part of an included file a site shows, as each include syntax selects it.

An include line names a file and, often, the part of it the page shows; indexing the
whole file would put code the reader never sees on the page (and, in a chunk, push out
the lines the page is about):

* FastAPI `{* file ln[19:21] *}` (markdown-include-variants) shows lines 19 to 21 only,
  `ln[1:9,29:35]` two ranges with the code left out between them marked; 1-based,
  inclusive, the ranges sorted; `hl[...]` and `title[...]` only decorate the block.

The selection happens when the page is shown, from the whole file's text, so the
loader reads and hashes files and never has to know which part is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: 1-based, both ends included; None: from the first line / to the last one
LineRange = tuple[int | None, int | None]
#: the line FastAPI's site shows where code between two ranges was left out
ELIDED = "..."
_OPTION = re.compile(r"(\w+)\[([^\]]+)\]")  # `ln[19:21]`, `hl[3]`, `title["main.py"]`


@dataclass(frozen=True)
class Excerpt:
    """What an include shows of its file: all of it unless a field narrows it."""

    ranges: tuple[LineRange, ...] = ()
    gap: str | None = None  # the line shown between two ranges (None: they run on)


WHOLE = Excerpt()


def excerpt_lines(text: str, excerpt: Excerpt) -> list[str]:
    """The lines of `text` (a file's) that `excerpt` shows."""
    lines = text.splitlines()
    if not excerpt.ranges:
        return lines
    shown: list[str] = []
    for number, (start, end) in enumerate(excerpt.ranges):
        if number and excerpt.gap is not None:
            shown.append(excerpt.gap)
        shown += lines[_first(start):_last(end, len(lines))]
    return shown


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


def _first(start: int | None) -> int:
    """The slice start of a 1-based first line."""
    return 0 if start is None else max(0, start - 1)


def _last(end: int | None, total: int) -> int:
    """The slice end of a 1-based last line (included)."""
    return total if end is None else max(0, end)
