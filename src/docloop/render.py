"""Terminal output for the CLI: tables, JSON on stdout, progress bars on stderr.

Stages return data and never print, so the same stages run under a Lambda or
a web handler; only `docloop.cli` calls these.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TextIO

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from docloop.backends.sources.base import ChannelCount
from docloop.models import TicketRecord, at_section
from docloop.review import ReviewItem
from docloop.stages.search import QueryResult, result_json
from docloop.stages.track import ticket_json
from docloop.text import truncate


def plain(*values: str) -> list[Text]:
    """Table cells shown as the characters they are: a channel name or a ticket title
    (chat text) must not be read as rich markup such as `[link=…]` or `[/]`."""
    return [Text(value) for value in values]


def render_check(results: list[tuple[str, list[ChannelCount]]], as_json: bool) -> None:
    """`docloop sources check`: JSON on stdout, or a table."""
    if as_json:
        payload = [{"source": spec, "channels": [asdict(c) for c in counts]}
                   for spec, counts in results]
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    table = Table("source", "kind", "id", "name", "parent", "messages", "note", "reply")
    for spec, counts in results:
        for count in counts:
            table.add_row(*plain(spec, count.kind, count.id, count.name, count.parent_id or "",
                                 "" if count.messages is None else str(count.messages),
                                 count.note, count.reply))
    Console().print(table)


def render_tickets(records: list[TicketRecord], as_json: bool) -> None:
    """`docloop tickets`: a JSON array on stdout, or a table."""
    if as_json:
        click.echo(json.dumps([ticket_json(r) for r in records], indent=2))
        return
    table = Table(title=f"{len(records)} ticket(s)")
    for column in ("id", "status", "title", "page", "convs", "users", "updated"):
        table.add_column(column, overflow="fold", no_wrap=column == "id")  # whole, to copy
    for r in records:
        table.add_row(*plain(r.identifier or r.id, r.status, truncate(r.title, 60),
                             r.doc_path or "-",
                             str(r.conversations), str(r.users),
                             r.updated_at.strftime("%Y-%m-%d %H:%M")))
    sized_console(140).print(table)


def sized_console(width: int, file: TextIO | None = None) -> Console:
    """A console as wide as the terminal it writes to, or `width` columns when it writes to
    a pipe or a file (whole table lines there, not rich's 80-column default). A fixed width
    on a terminal made every line of a wide table wrap at the terminal's edge."""
    console = Console(file=file)
    return console if console.is_terminal else Console(file=file, width=width)


def render_review_items(items: list[ReviewItem], as_json: bool) -> None:
    """`docloop review list`: a JSON array on stdout, or a table."""
    if as_json:
        click.echo(json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False,
                              indent=2))
        return
    table = Table(title=f"{len(items)} insight(s)")
    for column in ("id", "score", "review", "title", "convs", "page", "verdict", "ticket",
                   "note"):
        table.add_column(column, overflow="fold", no_wrap=column == "id")  # whole, to copy
    for item in items:
        table.add_row(*plain(item.id, f"{item.score:.2f}", item.review or "-",
                             truncate(item.title, 60),
                             str(item.size), item.page or "-", item.verdict or "-",
                             f"{item.ticket.id} {item.ticket.status}" if item.ticket else "-",
                             _review_note(item)))
    sized_console(160).print(table)


def review_line(item: ReviewItem) -> str:
    """One line saying where a review decision left the insight."""
    line = f"{item.id}: {item.review or 'not reviewed'}"
    if item.ticket:
        line += f", ticket {item.ticket.identifier or item.ticket.id} ({item.ticket.status})"
    if note := _review_note(item):
        line += f" ({note})"
    return line


def _review_note(item: ReviewItem) -> str:
    if item.merged_into:
        return f"merged into {item.merged_into}"
    if item.review == "rejected":
        return f"rejected at {item.rejected_size} conversations: {item.reason or 'no reason'}"
    return item.note or ("edited" if item.edited else "")


def render_search_results(results: list[QueryResult], as_json: bool, batch: bool) -> None:
    """`docs search`: JSON (Lines for a batch) on stdout, or a readable table per query
    (doc paths, headings and queries shown as characters, never as markup)."""
    if as_json:
        if batch:
            for result in results:
                click.echo(json.dumps(result_json(result), ensure_ascii=False))
        else:
            click.echo(json.dumps([h.model_dump() for h in results[0].hits], ensure_ascii=False,
                                  indent=2))
        return
    console = Console()
    for result in results:
        title = result.text if not batch else f"{result.id}: {result.text}"
        longest = max((len(hit.path) for hit in result.hits), default=0)
        if console.width >= longest + TABLE_ROOM:
            console.print(_hits_table(title, result))
        else:
            _print_hits_list(console, title, result)


#: what the search table needs beside its longest page path: rank, section, score, URL
#: and borders; a narrower terminal gets a list instead
TABLE_ROOM = 64


def _hits_table(title: str, result: QueryResult) -> Table:
    """Hits as a table; the page is never cut (it is what a user acts on)."""
    table = Table(title=Text(title))
    for column in ("#", "page", "section", "score", "url"):
        table.add_column(column, overflow="fold", no_wrap=column == "page")
    for rank, hit in enumerate(result.hits, start=1):
        table.add_row(*plain(str(rank), hit.path, hit.heading, f"{hit.score:.3f}",
                             at_section(hit.url, hit.anchor)))
    return table


def _print_hits_list(console: Console, title: str, result: QueryResult) -> None:
    """Hits one under the other, for a terminal too narrow for the table: squeezed beside a
    long page path, the section, score and URL columns shrank to nothing (an 80-column
    terminal and FastAPI's `tutorial/dependencies/dependencies-in-path-operation-…` paths).
    Lines are not folded, so a path or URL stays whole to copy."""
    console.print(Text(title, style="bold"), soft_wrap=True)
    for rank, hit in enumerate(result.hits, start=1):
        heading = f" › {hit.heading}" if hit.heading else ""
        console.print(Text(f"{rank:>2}. {hit.path}{heading}  (score {hit.score:.3f})"),
                      soft_wrap=True)
        if hit.url:
            console.print(Text(f"    {at_section(hit.url, hit.anchor)}"), soft_wrap=True)


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (silent when stderr is not a terminal); yields `advance(n)`."""
    console = Console(file=sys.stderr)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, disable=not console.is_terminal,
                   transient=True)
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
