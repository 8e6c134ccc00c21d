"""The tracker family: where tickets are filed (local outbox, Linear).

The file stage decides *what* to do (create, update with new evidence, handle
a regression, nothing); a tracker only knows *how* to do it in its system.
Creation must be idempotent on `ticket_id` (derived from the insight
fingerprint): calling `create` twice for the same id never files twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from docloop.models import Insight, Quote, Status, TicketRecord


@dataclass
class Filed:
    """The tracker's identity for a ticket it created."""

    external_id: str | None
    identifier: str | None
    url: str | None


@dataclass
class EvidenceDelta:
    """What is new about an insight since its ticket was last written."""

    new_quotes: list[Quote] = field(default_factory=list)
    new_conversation_ids: list[str] = field(default_factory=list)
    new_message_ids: list[str] = field(default_factory=list)
    regression: bool = False


@dataclass(frozen=True)
class TrackerState:
    """A ticket's state in its tracker: the docloop status it maps to, and since when.

    `since` (when the tracker's current state was entered, None if unknown)
    lets `tickets sync` tell a state set after a regression from the one the
    regression was recorded against (`stages.regression`).
    """

    status: Status
    since: datetime | None = None


class Tracker(ABC):
    """Files and updates one ticket per insight."""

    name: str

    @abstractmethod
    def create(self, ticket_id: str, insight: Insight) -> Filed:
        """File a new ticket (idempotent on ticket_id)."""

    @abstractmethod
    def update(self, record: TicketRecord, insight: Insight, delta: EvidenceDelta) -> Filed | None:
        """Add new evidence to an existing ticket.

        For a regression (`delta.regression`), a tracker may reopen the ticket
        or file a linked one; it returns the new identity when it filed one.
        """

    def preflight(self) -> None:
        """Prove the tracker's settings before a run writes anything (ConfigError if wrong).

        Called before the database is opened, so a wrong key or id is exit 2
        with nothing written. The default checks nothing.
        """
        return None

    def fetch_statuses(self, records: Sequence[TicketRecord]) -> dict[str, TrackerState]:
        """Current state per ticket id, read from the tracker (for `tickets sync`)."""
        return {}
