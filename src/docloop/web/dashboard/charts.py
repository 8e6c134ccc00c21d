"""Charts as inline SVG drawn on the server: no script, no CDN, nothing to fetch.

Only numbers and labels the desk makes (weeks, buckets) go in; labels are
escaped anyway. Shapes use presentation attributes, never `style=`, so the
page's Content-Security-Policy needs no inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

_BAR_W, _GAP, _HEIGHT, _AXIS = 28, 6, 120, 34


@dataclass(frozen=True)
class Bar:
    """One bar: its label under the axis, its value, and whether it is highlighted."""

    label: str
    value: float
    mark: bool = False


def bar_chart(bars: Sequence[Bar], title: str, unit: str = "") -> Markup:
    """A labelled bar chart; highlighted bars (e.g. after a fix) get another colour."""
    top = max((b.value for b in bars), default=0) or 1
    width = max(len(bars), 1) * (_BAR_W + _GAP) + _GAP
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {_HEIGHT + _AXIS}" '
             f'width="{width}" height="{_HEIGHT + _AXIS}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for index, bar in enumerate(bars):
        height = round(bar.value / top * (_HEIGHT - 14))
        x = _GAP + index * (_BAR_W + _GAP)
        y = _HEIGHT - height
        fill = "#d9822b" if bar.mark else "#3b6ea5"
        value = f"{bar.value:g}{unit}"
        parts += [f'<rect x="{x}" y="{y}" width="{_BAR_W}" height="{height}" fill="{fill}">'
                  f"<title>{escape(bar.label)}: {escape(value)}</title></rect>",
                  f'<text x="{x + _BAR_W / 2}" y="{y - 2}" font-size="9" '
                  f'text-anchor="middle">{escape(value)}</text>',
                  f'<text x="{x + _BAR_W / 2}" y="{_HEIGHT + 12}" font-size="8" '
                  f'text-anchor="middle">{escape(_short(bar.label))}</text>']
    parts.append(f'<line x1="0" y1="{_HEIGHT}" x2="{width}" y2="{_HEIGHT}" stroke="#888"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: Sequence[int], title: str) -> Markup:
    """A tiny bar sparkline for a table cell (conversations per week)."""
    top = max(values, default=0) or 1
    width, height = len(values) * 6, 18  # a baseline shows the weeks with none
    bars = "".join(
        f'<rect x="{i * 6}" y="{height - round(v / top * height)}" width="5" '
        f'height="{round(v / top * height)}" fill="#3b6ea5"/>' for i, v in enumerate(values))
    return Markup(f'<svg class="spark" role="img" viewBox="0 0 {width} {height}" '
                  f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
                  f"<title>{escape(title)}</title>{bars}"
                  f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#bbb"/></svg>')


def _short(label: str) -> str:
    """Week labels lose the year (`2026-11-23` -> `11-23`) to fit under a bar."""
    return label[5:] if len(label) == 10 and label[4] == "-" else label
