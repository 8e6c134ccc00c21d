"""When a `regressed` ticket takes its tracker's state again — one rule for every path.

A ticket becomes `regressed` when its problem comes back after the ticket was
done. The tracker does not know that: under the `comment` policy the Linear
issue stays completed, and under `reopen` docloop itself moved it back to
unstarted just before recording the regression. Reading that state back —
from a webhook or from `docloop tickets sync` — would undo the regression
(completed → `done`) although nobody acted on it.

So a regressed ticket follows its tracker only for a workflow-state change
made *after* the regression was recorded: someone reopened the issue,
started it, completed it again, canceled or deleted it. A state entered
earlier, or a state whose change time is unknown, leaves it `regressed`. The
webhook receiver and the sync both ask `holds_regression`, each with the time
it knows the state changed (a delivery's `createdAt`; the start of the
issue's current state span), so the two paths always agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from docloop.models import TicketRecord


def regressed_at(record: TicketRecord) -> datetime | None:
    """When the ticket last became `regressed` (None if its history does not say)."""
    times = [change.at for change in record.history if change.status == "regressed"]
    return _utc(times[-1]) if times else None


def holds_regression(record: TicketRecord, state_changed_at: datetime | None) -> str | None:
    """Why a regressed ticket keeps its status against the tracker's; None to follow it.

    `state_changed_at` is when the tracker's current state was entered, as far
    as the caller knows; None means nothing shows a state change at all.
    Tickets that are not regressed always follow their tracker.
    """
    if record.status != "regressed":
        return None
    if state_changed_at is None:
        return ("ticket is regressed and nothing shows a workflow-state change; "
                "only a change made after the regression moves it")
    since = regressed_at(record)
    if since is not None and _utc(state_changed_at) <= since:
        return (f"ticket is regressed and the workflow state last changed at "
                f"{_iso(state_changed_at)}, before the regression ({_iso(since)})")
    return None


def _utc(moment: datetime) -> datetime:
    """Aware UTC (a naive time is taken as UTC), so tracker and docloop times compare."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat(timespec="seconds").replace("+00:00", "Z")
