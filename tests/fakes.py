"""In-memory doubles of the tracker and record-store interfaces."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from docloop.backends.records.base import RecordStore
from docloop.backends.trackers.base import EvidenceDelta, Filed, Tracker, TrackerState
from docloop.models import Insight, Status, StatusChange, TicketRecord


class MemoryRecords(RecordStore):
    """A dict-backed RecordStore."""

    def __init__(self) -> None:
        self.records: dict[str, TicketRecord] = {}
        self.deliveries: set[str] = set()

    def get(self, ticket_id: str) -> TicketRecord | None:
        return self.records.get(ticket_id)

    def by_insight(self, insight_id: str) -> TicketRecord | None:
        found = [r for r in self.records.values() if r.insight_id == insight_id]
        return max(found, key=lambda r: r.created_at) if found else None

    def by_external(self, tracker: str, external_id: str) -> TicketRecord | None:
        return next((r for r in self.records.values()
                     if r.tracker == tracker and r.external_id == external_id), None)

    def put(self, record: TicketRecord) -> None:
        self.records[record.id] = record

    def all(self) -> list[TicketRecord]:
        return sorted(self.records.values(), key=lambda r: r.updated_at, reverse=True)

    def set_status(self, ticket_id: str, status: Status, at: datetime, source: str,
                   note: str = "", changed_at: datetime | None = None) -> bool:
        record = self.records.get(ticket_id)
        if record is None or record.status == status:
            return False
        change = StatusChange(status=status, at=at, source=source, note=note,
                              changed_at=changed_at or at)
        self.records[ticket_id] = record.model_copy(
            update={"status": status, "history": [*record.history, change]})
        return True

    def note_ignored(self, ticket_id: str, status: Status, at: datetime, source: str,
                     note: str, changed_at: datetime) -> None:
        record = self.records[ticket_id]
        change = StatusChange(status=status, at=at, source=source, note=note,
                              changed_at=changed_at, applied=False)
        self.records[ticket_id] = record.model_copy(
            update={"history": [*record.history, change]})

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All or nothing: the records as they were are restored on an error."""
        saved = dict(self.records)
        try:
            yield
        except BaseException:
            self.records = saved
            raise

    def claim_delivery(self, delivery_id: str, at: datetime) -> bool:
        if delivery_id in self.deliveries:
            return False
        self.deliveries.add(delivery_id)
        return True


class RecordingTracker(Tracker):
    """Remembers every call; can file a linked ticket on regressions."""

    name = "fake"

    def __init__(self, link_on_regression: bool = False) -> None:
        self.created: list[str] = []
        self.updates: list[tuple[str, EvidenceDelta]] = []
        self.link_on_regression = link_on_regression

    def create(self, ticket_id: str, insight: Insight) -> Filed:
        self.created.append(ticket_id)
        return Filed(external_id=f"ext-{ticket_id}", identifier=f"FAKE-{len(self.created)}",
                     url=f"https://tracker.example/{ticket_id}")

    def update(self, record: TicketRecord, insight: Insight, delta: EvidenceDelta) -> Filed | None:
        self.updates.append((record.id, delta))
        if delta.regression and self.link_on_regression:
            return Filed(external_id="ext-linked", identifier="FAKE-linked", url=None)
        return None

    def fetch_statuses(self, records: Sequence[TicketRecord]) -> dict[str, TrackerState]:
        return {}
