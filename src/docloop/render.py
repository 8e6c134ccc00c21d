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

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from docloop.backends.sources.base import ChannelCount
from docloop.models import TicketRecord
from docloop.stages.track import ticket_json


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
    table = Table("source", "kind", "id", "name", "parent", "messages", "note")
    for spec, counts in results:
        for count in counts:
            table.add_row(*plain(spec, count.kind, count.id, count.name, count.parent_id or "",
                                 "" if count.messages is None else str(count.messages),
                                 count.note))
    Console().print(table)


def render_tickets(records: list[TicketRecord], as_json: bool) -> None:
    """`docloop tickets`: a JSON array on stdout, or a table."""
    if as_json:
        click.echo(json.dumps([ticket_json(r) for r in records], indent=2))
        return
    table = Table(title=f"{len(records)} ticket(s)")
    for column in ("id", "status", "title", "page", "convs", "users", "updated"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(*plain(r.identifier or r.id, r.status, r.title[:60], r.doc_path or "-",
                             str(r.conversations), str(r.users),
                             r.updated_at.strftime("%Y-%m-%d %H:%M")))
    Console(width=140).print(table)


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
