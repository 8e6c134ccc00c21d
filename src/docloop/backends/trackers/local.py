"""The local tracker: one Markdown ticket per insight in DOCLOOP_HOME/outbox/.

Files are written atomically (temporary file, then rename), named by
docloop's ticket id, so creating the same ticket twice rewrites the same file
and never files twice. Updates re-render the ticket with raised counts and
append a dated section with the new evidence; earlier update sections are
kept. The `**Status:** …` line is what `docloop tickets set-status` edits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docloop.backends.trackers.base import EvidenceDelta, Filed, Tracker
from docloop.config import Settings
from docloop.files import write_atomic
from docloop.models import Insight, Status, TicketRecord
from docloop.ticket_text import render_ticket, render_update

UPDATES_MARKER = "<!-- docloop:updates -->"


class LocalTracker(Tracker):
    """Writes tickets as Markdown files into an outbox folder."""

    name = "local"

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox.resolve()

    @classmethod
    def from_settings(cls, settings: Settings, **deps: Any) -> LocalTracker:
        return cls(settings.outbox_dir)

    def path(self, ticket_id: str) -> Path:
        return self.outbox / f"{ticket_id}.md"

    def create(self, ticket_id: str, insight: Insight) -> Filed:
        self._write(ticket_id, self._document(ticket_id, insight, "open", ""))
        return Filed(external_id=ticket_id, identifier=ticket_id, url=self.path(ticket_id).as_uri())

    def update(self, record: TicketRecord, insight: Insight, delta: EvidenceDelta) -> Filed | None:
        previous = self._updates_section(record.id)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        heading = "Regression" if delta.regression else "New evidence"
        entry = f"\n### {heading} ({stamp})\n\n{render_update(insight, delta)}"
        status: Status = "regressed" if delta.regression else record.status
        self._write(record.id, self._document(record.id, insight, status, previous + entry))
        return None

    def _document(self, ticket_id: str, insight: Insight, status: str, updates: str) -> str:
        header = (f"<!-- docloop ticket {ticket_id} insight {insight.id} -->\n"
                  f"**Status:** {status}\n\n")
        return header + render_ticket(insight) + f"\n{UPDATES_MARKER}\n" + updates

    def _updates_section(self, ticket_id: str) -> str:
        path = self.path(ticket_id)
        if not path.is_file():
            return ""
        _, _, tail = path.read_text(encoding="utf-8").partition(f"\n{UPDATES_MARKER}\n")
        return tail

    def _write(self, ticket_id: str, text: str) -> None:
        write_atomic(self.path(ticket_id), text)
