"""Linear facts shared by the tracker backend and the webhook stage.

Kept in a neutral module so no backend imports a stage: the Linear tracker
(reading issue states in `tickets sync`) and the webhook receiver (applying
pushed state changes) must map states and read timestamps identically.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from docloop.models import Status

STATE_TYPES: dict[str, Status] = {
    "triage": "open", "backlog": "open", "unstarted": "open",
    "started": "in_progress", "completed": "done", "canceled": "canceled",
}


def parse_time(value: Any) -> datetime | None:
    """A Linear `DateTime` (ISO 8601, `…Z`) as an aware datetime; None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
