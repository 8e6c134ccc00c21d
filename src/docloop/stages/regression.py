"""In which order status changes count — one rule for every path.

Trackers deliver state changes late and out of order: Linear retries a
webhook for hours and promises no ordering, and `docloop tickets sync` reads
a state that may be older than a delivery already applied. Applying changes
in arrival order would let a late `started` move a `done` ticket back to
`in_progress`. So every change carries when it happened at its source (a
delivery's `createdAt`, the start of the issue's current state span, the
moment docloop itself decided), and a change counts only if it happened
after the ticket's current status was entered. Stale changes are kept in the
history, marked ignored, so the user can see why nothing moved.

A `regressed` ticket needs more: docloop decided it, the tracker does not
know it (under the `comment` policy the Linear issue stays completed), so it
follows the tracker only for a change that demonstrably happened after the
regression. An event that shows no workflow-state change at all (an `update`
without `updatedFrom`; a sync that cannot date the state) leaves it regressed.
The webhook receiver and the sync both ask `hold`, so the two paths agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from docloop.models import TicketRecord


@dataclass(frozen=True)
class Hold:
    """Why a change must not move the ticket; `stale` when it is older than the status."""

    reason: str
    stale: bool


def status_since(record: TicketRecord) -> datetime | None:
    """When the ticket's current status was entered at its source (None: only filed)."""
    times = [_utc(c.changed_at) for c in record.history if c.applied and c.changed_at]
    return max(times) if times else None


def hold(record: TicketRecord, changed_at: datetime, shows_change: bool = True) -> Hold | None:
    """Why a change made at `changed_at` must leave the ticket as it is; None to apply it.

    `shows_change` is False when the caller cannot tell a workflow-state change
    from an edit that merely carries the current state; only a regressed ticket
    cares, since for every other status such an event at worst repeats it.
    """
    if record.status == "regressed" and not shows_change:
        return Hold("ticket is regressed and nothing shows a workflow-state change; "
                    "only a change made after the regression moves it", stale=False)
    since = status_since(record)
    if since is None or _utc(changed_at) > since:
        return None
    before = ("the regression" if record.status == "regressed"
              else f"the ticket's current status '{record.status}'")
    return Hold(f"stale change: made at {_iso(changed_at)}, before {before} ({_iso(since)})",
                stale=True)


def _utc(moment: datetime) -> datetime:
    """Aware UTC (a naive time is taken as UTC), so tracker and docloop times compare."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat(timespec="seconds").replace("+00:00", "Z")
