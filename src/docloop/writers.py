"""One writer at a time, wherever the store lives.

Every command that changes tickets, reviews or runs holds the home's file lock
(`docloop.lock`); when the store is shared beyond this machine (a DynamoDB
table the Step Functions runs write too) it also holds the store's run guard
(`registry.hold_store`: the table's run lease). A review accept racing a
scheduled run would otherwise both file the same insight's ticket.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from docloop import registry
from docloop.config import Settings
from docloop.lock import DEFAULT_WAIT_S, hold_home


@contextmanager
def holding_writes(settings: Settings, wait_s: float = DEFAULT_WAIT_S) -> Iterator[None]:
    """Hold the home and the store's guard for the block, waiting up to `wait_s` for each."""
    with hold_home(settings.home, wait_s), registry.hold_store(settings, wait_s):
        yield
