"""The source family: where chat messages come from.

A source yields `Batch`es of normalised (not yet redacted) messages. The ingest
stage redacts and stores each batch and only then saves the batch's
watermark, so a run killed half-way resumes without losing or duplicating
anything. Bots, webhooks and system messages are dropped by the source, which
knows its format.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from docloop.models import Message


@dataclass
class Batch:
    """Messages read from one channel or thread, oldest first.

    `watermark_key` names the stream (e.g. `discord:channel:123`); `watermark`
    is the value to save once the batch is stored (None: nothing to save).
    """

    messages: list[Message]
    watermark_key: str | None = None
    watermark: str | None = None
    skipped: dict[str, int] = field(default_factory=dict)


@dataclass
class ChannelCount:
    """One readable channel or thread, for `docloop sources check`."""

    id: str
    name: str
    kind: str
    messages: int | None = None
    parent_id: str | None = None
    note: str = ""
    #: whether the bot may reply there (Send Messages, Send Messages in Threads); Discord
    #: API sources only, "" otherwise
    reply: str = ""


class Source(ABC):
    """Reads messages newer than `since` (and the stored watermarks)."""

    spec: str
    #: True when the source must be stored all or nothing (an export folder: a bad
    #: file anywhere leaves the database untouched). A live source (the REST API)
    #: is stored batch by batch with its watermarks, so a killed run resumes.
    atomic: bool = False

    @abstractmethod
    def batches(
        self, since: datetime | None, watermarks: Mapping[str, str]
    ) -> Iterator[Batch]:
        """Yield batches of new messages; raise UserError/BackendError on failure."""

    def check(self) -> list[ChannelCount]:
        """What this source can read, with counts (no messages are stored)."""
        return []
