"""The shared rule: a regressed ticket follows its tracker only after a later state change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from docloop.models import StatusChange, TicketRecord
from docloop.stages.regression import holds_regression, regressed_at

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _ticket(*changes: tuple[str, datetime]) -> TicketRecord:
    history = [StatusChange(status=s, at=t) for s, t in changes]  # type: ignore[arg-type]
    return TicketRecord(id="DL-1", tracker="linear", insight_id="i", title="t",
                        status=history[-1].status, created_at=AT, updated_at=AT,
                        history=history)


def test_only_regressed_tickets_are_held() -> None:
    assert holds_regression(_ticket(("open", AT)), None) is None
    assert holds_regression(_ticket(("done", AT)), AT - timedelta(days=9)) is None


def test_a_regressed_ticket_waits_for_a_state_entered_after_its_latest_regression() -> None:
    again = AT + timedelta(days=2)
    ticket = _ticket(("done", AT - timedelta(days=3)), ("regressed", AT), ("done", AT),
                     ("regressed", again))
    assert regressed_at(ticket) == again
    assert holds_regression(ticket, None) is not None  # no change shown at all
    assert holds_regression(ticket, again) is not None  # not later: the same moment
    assert holds_regression(ticket, AT + timedelta(days=1)) is not None
    assert holds_regression(ticket, again + timedelta(seconds=1)) is None
    naive = (again + timedelta(seconds=1)).replace(tzinfo=None)  # read as UTC
    assert holds_regression(ticket, naive) is None
