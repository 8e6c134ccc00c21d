"""The shared ordering rule: a change counts only if it is newer than the current status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from docloop.models import StatusChange, TicketRecord
from docloop.stages.regression import hold, status_since

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _ticket(*changes: tuple[str, datetime]) -> TicketRecord:
    filed = StatusChange(status="open", at=AT - timedelta(days=30))  # the filing: undated
    history = [filed] + [StatusChange(status=s, at=t, changed_at=t)  # type: ignore[arg-type]
                         for s, t in changes]
    return TicketRecord(id="DL-1", tracker="linear", insight_id="i", title="t",
                        status=history[-1].status, created_at=AT, updated_at=AT,
                        history=history)


def test_a_just_filed_ticket_takes_any_change() -> None:
    ticket = _ticket()
    assert status_since(ticket) is None
    assert hold(ticket, AT - timedelta(days=400)) is None


def test_a_late_started_does_not_move_a_done_ticket_back() -> None:
    done = _ticket(("in_progress", AT - timedelta(hours=2)), ("done", AT))
    late = hold(done, AT - timedelta(hours=1))
    assert late is not None and late.stale
    assert "before the ticket's current status 'done'" in late.reason
    assert hold(done, AT) is not None  # the same moment is not later
    assert hold(done, AT + timedelta(seconds=1)) is None


def test_ignored_changes_do_not_date_the_status() -> None:
    done = _ticket(("done", AT))
    ignored = StatusChange(status="in_progress", at=AT, changed_at=AT + timedelta(days=1),
                           applied=False)
    done = done.model_copy(update={"history": [*done.history, ignored]})
    assert status_since(done) == AT


def test_a_regressed_ticket_waits_for_a_state_entered_after_its_latest_regression() -> None:
    again = AT + timedelta(days=2)
    ticket = _ticket(("done", AT - timedelta(days=3)), ("regressed", AT), ("done", AT),
                     ("regressed", again))
    assert status_since(ticket) == again
    no_change = hold(ticket, again + timedelta(days=1), shows_change=False)
    assert no_change is not None and not no_change.stale
    assert hold(ticket, again) is not None  # not later: the same moment
    earlier = hold(ticket, AT + timedelta(days=1))
    assert earlier is not None and "before the regression" in earlier.reason
    assert hold(ticket, again + timedelta(seconds=1)) is None
    naive = (again + timedelta(seconds=1)).replace(tzinfo=None)  # read as UTC
    assert hold(ticket, naive) is None


def test_only_a_regressed_ticket_needs_a_shown_change() -> None:
    assert hold(_ticket(("done", AT)), AT + timedelta(hours=1), shows_change=False) is None
