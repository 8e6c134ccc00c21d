"""The local tracker: one Markdown ticket per insight in DOCLOOP_HOME/outbox/.

Files are written atomically (temporary file, then rename), named by
docloop's ticket id, so creating the same ticket twice rewrites the same file
and never files twice. Updates re-render the ticket with raised counts and
append a dated section with the new evidence; earlier update sections are
kept. The `**Status:** …` line is what `docloop tickets set-status` edits.

The file is written before the record (the file stage stores the record
after the tracker returns), so a crash in between leaves a section the
records never heard of, and the re-run appends the same evidence again. Each
section therefore names the message ids it reports, and an update first drops
sections whose messages the record does not hold: the outbox is re-derived
from the records, and a re-run after any crash converges on one copy.
`repair_outbox`, run at the start of every run, settles the rest: a status
line a killed `set-status` did not rewrite, and a ticket file whose record a
killed run never stored.

A ticket filed on a docs section where tickets are open lists them, and each of
them gets a "Related ticket" section naming it (written once per pair); the
repair drops such a section when the ticket it names has no record.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docloop.backends.trackers.base import EvidenceDelta, Filed, Tracker
from docloop.config import Settings
from docloop.errors import ConfigError
from docloop.files import write_atomic
from docloop.markdown_safe import inline, link
from docloop.models import Insight, Status, TicketRecord
from docloop.ticket_text import render_ticket, render_update

UPDATES_MARKER = "<!-- docloop:updates -->"
_EVIDENCE = re.compile(r"^<!-- docloop:evidence ([^>]*) -->$", re.M)
_SECTION = re.compile(r"(?=\n### )")
_STATUS_LINE = re.compile(r"^\*\*Status:\*\* (.*)$", re.M)
_RELATED = re.compile(r"^<!-- docloop:related (\S+) -->$", re.M)


class LocalTracker(Tracker):
    """Writes tickets as Markdown files into an outbox folder."""

    name = "local"

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox.resolve()

    @classmethod
    def from_settings(cls, settings: Settings, **deps: Any) -> LocalTracker:
        return cls(settings.outbox_dir)

    def preflight(self) -> None:
        """The outbox (or the nearest folder that would hold it) must be writable."""
        folder = self.outbox
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"the ticket outbox {self.outbox} cannot be written ({folder} is "
                              "not a writable folder): fix its permissions or set home "
                              "(DOCLOOP_HOME) elsewhere")

    def path(self, ticket_id: str) -> Path:
        return self.outbox / f"{ticket_id}.md"

    def create(self, ticket_id: str, insight: Insight) -> Filed:
        self._write(ticket_id, self._document(ticket_id, insight, "open", ""))
        for other in insight.related:
            self._name_in(other.id, ticket_id, insight.title)
        return Filed(external_id=ticket_id, identifier=ticket_id, url=self.path(ticket_id).as_uri())

    def update(self, record: TicketRecord, insight: Insight, delta: EvidenceDelta) -> Filed | None:
        previous = committed_sections(self._updates_section(record.id), record)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        heading = "Regression" if delta.regression else "New evidence"
        entry = (f"\n### {heading} ({stamp})\n"
                 f"<!-- docloop:evidence {' '.join(delta.new_message_ids)} -->\n\n"
                 f"{render_update(insight, delta)}")
        status: Status = "regressed" if delta.regression else record.status
        self._write(record.id, self._document(record.id, insight, status, previous + entry))
        return None

    def _name_in(self, older_id: str, ticket_id: str, title: str) -> None:
        """Tell an open ticket on the same docs section about one filed after it (its body
        lists the tickets open when it was filed): an update section naming the new one,
        written once, so a retried create finds it there and adds nothing."""
        path = self.path(older_id)
        if not path.is_file():
            return
        text = path.read_text(encoding="utf-8")
        marker = f"<!-- docloop:related {ticket_id} -->"
        if marker in text:
            return
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        self._write(older_id, f"{text.rstrip()}\n\n### Related ticket ({stamp})\n{marker}\n\n"
                              f"Filed on the same docs section: "
                              f"{link(ticket_id, f'{ticket_id}.md')} — "
                              f"{inline(title)}\n")

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


def committed_sections(updates: str, record: TicketRecord) -> str:
    """The update sections whose evidence the record holds (sections without ids are kept).

    A section naming a message the record lacks was written by an attempt
    that crashed before its record was stored; the update being written now
    reports that evidence again, so keeping the old section would show it twice.
    """
    held = set(record.message_ids)
    kept = []
    for section in _SECTION.split(updates):
        found = _EVIDENCE.search(section)
        if found is None or set(found.group(1).split()) <= held:
            kept.append(section)
    return "".join(kept)


def write_status_line(path: Path, status: str) -> bool:
    """Make the ticket file's `**Status:**` line say `status`; True if it had to change."""
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    changed = _with_status(text, status)
    if changed == text:
        return False
    write_atomic(path, changed)
    return True


def _with_status(text: str, status: str) -> str:
    """The ticket text with its `**Status:**` line saying `status` (as it was without one)."""
    found = _STATUS_LINE.search(text)
    if found is None or found.group(1) == status:
        return text
    return _STATUS_LINE.sub(f"**Status:** {status}", text, count=1)


def _without_dangling_related(text: str, known: set[str]) -> str:
    """The ticket text without the "Related ticket" sections naming a ticket the records do
    not hold (its run was killed before the record; the re-run names it again)."""
    head, marker, updates = text.partition(f"\n{UPDATES_MARKER}\n")
    sections = _SECTION.split(updates)
    kept = [section for section in sections
            if not ((found := _RELATED.search(section)) and found.group(1) not in known)]
    return text if len(kept) == len(sections) else head + marker + "".join(kept)


def repair_outbox(outbox: Path, records: Iterable[TicketRecord]) -> list[str]:
    """Bring the outbox in line with the local records after an interrupted run.

    Status lines follow the records; a ticket file without a record (its run
    was killed between writing it and storing the record) is removed — the
    next filing of that insight writes it again under the same id — and so is a
    "Related ticket" section naming one. Each file is read once and written at
    most once. Returns what was done, one line per change, for the log.
    """
    if not outbox.is_dir():
        return []
    local = {r.id: r for r in records if r.tracker == LocalTracker.name}
    known = set(local)
    done = []
    for path in sorted(outbox.glob("DL-*.md")):
        record = local.get(path.stem)
        if record is None:
            path.unlink()
            done.append(f"removed {path.name}: no record (its run was interrupted)")
            continue
        text = path.read_text(encoding="utf-8")
        with_status = _with_status(text, record.status)
        if with_status != text:
            done.append(f"set {path.name} status to {record.status}, as recorded")
        repaired = _without_dangling_related(with_status, known)
        if repaired != with_status:
            done.append(f"removed from {path.name} a related ticket that has no record")
        if repaired != text:
            write_atomic(path, repaired)
    return done
