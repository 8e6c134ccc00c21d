"""The records family: stored tickets, their status history and webhook deliveries."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import datetime

from docloop.models import Status, TicketRecord


class RecordStore(ABC):
    """Persists `TicketRecord`s (SQLite locally, DynamoDB on AWS)."""

    @abstractmethod
    def get(self, ticket_id: str) -> TicketRecord | None:
        """The record with docloop's ticket id."""

    @abstractmethod
    def by_insight(self, insight_id: str) -> TicketRecord | None:
        """The newest record filed for an insight fingerprint."""

    @abstractmethod
    def by_external(self, tracker: str, external_id: str) -> TicketRecord | None:
        """The record a tracker knows by its own id (Linear issue UUID)."""

    @abstractmethod
    def put(self, record: TicketRecord) -> None:
        """Insert or replace a record."""

    @abstractmethod
    def all(self) -> list[TicketRecord]:
        """Every record, newest update first."""

    def on_section(self, doc_url: str) -> list[TicketRecord]:
        """The records filed on one docs section (its URL with the anchor), newest update
        first. Read only when a ticket is filed or updated, so a store may scan."""
        return [record for record in self.all() if record.doc_url == doc_url]

    @abstractmethod
    def set_status(
        self, ticket_id: str, status: Status, at: datetime, source: str, note: str = "",
        changed_at: datetime | None = None,
    ) -> bool:
        """Change status and append history; False if unknown or unchanged.

        `at` is now; `changed_at` when the change happened at its source
        (default `at`), the time later changes are ordered against.
        """

    @abstractmethod
    def note_ignored(self, ticket_id: str, status: Status, at: datetime, source: str,
                     note: str, changed_at: datetime) -> None:
        """Append a change that arrived but was ignored (stale), so the history shows why."""

    @abstractmethod
    def atomic(self) -> AbstractContextManager[None]:
        """A block whose writes all happen or none do (several puts and status changes)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing to release
        """Release what the store opened itself (a store given a connection keeps it open)."""

    @abstractmethod
    def claim_delivery(self, delivery_id: str, at: datetime) -> bool:
        """Record a webhook delivery id; False if it was seen before (a replay)."""
