"""VitePress code regions: the part of a file `<<< file#name` shows.

VitePress shows the lines between a file's `// #region name` and
`// #endregion name` markers (`<!-- #region name -->`, `# region name`,
`/* #region name */` and the other comment styles VS Code folds by): every
region of that name, the markers of that comment style left out, the indent
they share removed. A file without that region is shown whole, as VitePress 1
does (VitePress 2 fails the build). The include syntax itself is parsed in
excerpts.py.
"""

from __future__ import annotations

import re

#: VitePress region markers, one pattern per comment style: (end, name; strip it)
_REGION_MARKERS = (
    re.compile(r"^\s*(?://\s*#?|(?:--|::|@?(?i:rem))\s*#)(end)?region\b(.*)"),
    re.compile(r"(?i)^\s*#\s*(?:#\s*|pragma\s+)?(end ?)?region\b(.*)"),
    re.compile(r"^\s*<!--\s*#?(end)?region\b(.*?)-->"),
    re.compile(r"^\s*/\*\s*#(end)?region\b(.*?)\*/"),
)


def region_lines(lines: list[str], name: str) -> list[str]:
    """The lines of every region called `name` (the outermost when nested), without the
    markers of its comment style, dedented; the whole file when it has none. A named end
    closes the innermost region of that name, an unnamed one the innermost of its style."""
    opened: list[tuple[str, int, int]] = []  # (name, first line, style)
    spans: list[tuple[int, int]] = []
    styles: set[int] = set()
    for index, line in enumerate(lines):
        marker = _region_marker(line) if "egion" in line.lower() else None
        if marker is None:
            continue
        style, end, found = marker
        if not end:
            opened.append((found, index + 1, style))
            continue
        at = next((n for n in range(len(opened) - 1, -1, -1)
                   if (opened[n][0] == found if found else opened[n][2] == style)), None)
        if at is None:
            continue
        closed = opened[at]
        del opened[at:]
        if closed[0] == name and all(other[0] != name for other in opened):
            spans.append((closed[1], index))
            styles.add(closed[2])
    if not spans:
        return lines
    shown = [line for start, end in spans for line in lines[start:end]
             if (marker := _region_marker(line)) is None or marker[0] not in styles]
    return _dedented(shown)


def _region_marker(line: str) -> tuple[int, bool, str] | None:
    """(comment style, an end marker, region name) when `line` is a region marker."""
    for style, pattern in enumerate(_REGION_MARKERS):
        found = pattern.match(line)
        if found:
            name = found.group(2).strip()
            if len(name) > 1 and name[0] == name[-1] == '"':  # Visual Basic: #Region "Name"
                name = name[1:-1]
            return style, bool(found.group(1)), name
    return None


def _dedented(lines: list[str]) -> list[str]:
    """`lines` without the indent they all share (blank lines do not count)."""
    indents = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return [line[cut:] for line in lines] if cut else lines
