"""`docloop eval` output: a rich table on stdout, or one JSON object."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

#: the width of the tables when the output is not a terminal: room for the group and both
#: page paths of a row on one line
SAVED_WIDTH = 160


def render_table(result: dict[str, Any], console: Console | None = None) -> None:
    """The headline figures, then one row per labelled group."""
    console = console or Console()
    if not console.is_terminal:
        # saved to a file (`> eval.txt`), 80 columns folded every page path into pieces
        console = Console(file=console.file, width=max(console.width, SAVED_WIDTH))
    summary = Table(title="docloop eval", show_header=True)
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    groups = result["groups"]
    for label, value in _summary_rows(result, groups):
        summary.add_row(label, value)
    console.print(summary)
    rows = Table(title="per group", show_header=True)
    for column in ("group", "size", "in one insight", "recovered", "expected page",
                   "predicted page", "verdict", "right"):
        rows.add_column(column, overflow="fold")  # page paths must stay readable
    for row in result["per_group"]:
        rows.add_row(row["group"], str(row["size"]), str(row["in_one_insight"]),
                     _yes(row["recovered"]), row["expected_page"] or "(no page)",
                     row["predicted_page"] or "-", row["verdict"] or "-",
                     _yes(row["right_page"]))
    console.print(rows)


def _summary_rows(result: dict[str, Any], groups: int) -> list[tuple[str, str]]:
    search = result["search"]
    precision = result["missing_precision"]
    return [
        ("groups recovered", f"{result['groups_recovered']}/{groups}"),
        ("right page", f"{result['right_page']}/{groups}"),
        ("`missing` found", f"{result['missing_found']}/{result['missing_groups']}"),
        ("`missing` precision", "-" if precision is None else f"{precision:.2f}"),
        ("B-cubed precision / recall / F1",
         f"{result['bcubed_precision']:.2f} / {result['bcubed_recall']:.2f} / "
         f"{result['bcubed_f1']:.2f}"),
        ("noise leak", f"{result['noise_leak']:.2f}"),
        ("insights", str(result["insights"])),
        ("search group hit@1 / hit@3", f"{search['group_hit1']:.2f} / {search['group_hit3']:.2f}"),
        ("search message hit@1 / hit@3",
         f"{search['message_hit1']:.2f} / {search['message_hit3']:.2f}"),
    ]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
