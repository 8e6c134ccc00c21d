"""`docloop eval` output: rich tables on stdout, or one JSON object."""

from __future__ import annotations

from typing import Any, TextIO

from rich.table import Table

from docloop.render import plain, sized_console
from docloop.text import truncate

#: the width of the tables when the output is not a terminal: room for the group and both
#: page paths of a row on one line
SAVED_WIDTH = 160
TITLE_CHARS = 70  # an insight's title in its row: enough to recognise the ticket


def render_table(result: dict[str, Any], file: TextIO | None = None) -> None:
    """The headline figures, one row per labelled group, then one per insight (saved to a
    file, `> eval.txt`, at SAVED_WIDTH: 80 columns folded every page path into pieces)."""
    console = sized_console(SAVED_WIDTH, file)
    summary = Table(title="docloop eval", show_header=True)
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    groups = result["groups"]
    for label, value in _summary_rows(result, groups):
        summary.add_row(*plain(label, value))
    console.print(summary)
    console.print(_group_table(result["per_group"]))
    if result.get("per_insight"):
        console.print(_insight_table(result["per_insight"]))


def _group_table(groups: list[dict[str, Any]]) -> Table:
    """Where each labelled group's messages went, and to which page."""
    table = Table(title="per group", show_header=True)
    for column in ("group", "size", "in one insight", "recovered", "expected page",
                   "predicted page", "verdict", "right"):
        table.add_column(column, overflow="fold")  # page paths must stay readable
    for row in groups:
        table.add_row(*plain(row["group"], str(row["size"]), str(row["in_one_insight"]),
                             _yes(row["recovered"]), row["expected_page"] or "(no page)",
                             row["predicted_page"] or "-", row["verdict"] or "-",
                             _yes(row["right_page"])))
    return table


def _insight_table(insights: list[dict[str, Any]]) -> Table:
    """What each insight holds: a group split over two insights shows in two rows, two
    groups merged into one insight in one row."""
    table = Table(title="per insight", show_header=True)
    for column in ("insight", "page § section", "verdict", "labelled messages", "recovers"):
        table.add_column(column, overflow="fold")
    for row in insights:
        table.add_row(*plain(truncate(row["title"], TITLE_CHARS) or "-", _where(row),
                             row["verdict"], "; ".join(map(_held, row["groups"])) or "-",
                             ", ".join(g + (" (right page)" if g in row["right_page"] else "")
                                       for g in row["recovers"]) or "-"))
    return table


def _where(row: dict[str, Any]) -> str:
    if not row["page"]:
        return "-"
    return f"{row['page']} § {row['section']}" if row["section"] else row["page"]


def _held(part: dict[str, Any]) -> str:
    """`4/6 env-vars-in-config`: this insight holds 4 of the group's 6 messages."""
    if part["group"] is None:
        return f"{part['messages']} noise"
    return f"{part['messages']}/{part['of']} {part['group']}"


def _summary_rows(result: dict[str, Any], groups: int) -> list[tuple[str, str]]:
    search = result["search"]
    precision = result["missing_precision"]
    return [
        *_source_rows(result),
        ("groups recovered", f"{result['groups_recovered']}/{groups}"),
        ("right page", f"{result['right_page']}/{groups}"),
        ("right page named in the ticket (first or next candidates)",
         f"{result['right_page_named']}/{groups}"),
        ("`missing` found", f"{result['missing_found']}/{result['missing_groups']}"),
        ("`missing` precision", "-" if precision is None else f"{precision:.2f}"),
        ("B-cubed precision / recall / F1",
         f"{result['bcubed_precision']:.2f} / {result['bcubed_recall']:.2f} / "
         f"{result['bcubed_f1']:.2f}"),
        ("noise leak", "-" if result["noise_leak"] is None else f"{result['noise_leak']:.2f}"),
        ("insights", str(result["insights"])),
        ("insights sharing a page section", str(result.get("sharing_a_section", 0))),
        ("search group hit@1 / hit@3", f"{search['group_hit1']:.2f} / {search['group_hit3']:.2f}"),
        ("search message hit@1 / hit@3",
         f"{search['message_hit1']:.2f} / {search['message_hit3']:.2f}"),
    ]


def _source_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """With --source: what the loop read, and the insights the labels cannot score."""
    if not result.get("sources"):
        return []
    return [("measured on", f"{result['messages_analysed']} messages of "
             + ", ".join(result["sources"])),
            ("insights of unlabelled messages only (not scored)",
             str(result["unlabelled_insights"]))]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
