"""One ticket per insight: created once, updated with new evidence, regressions flagged."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from docloop import db
from docloop.backends.records.base import RecordStore
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.stages.file import file_insight, ticket_id_for
from tests.fakes import MemoryRecords, RecordingTracker
from tests.helpers import BASE, insight

STORES: dict[str, Callable[[], RecordStore]] = {
    "memory": MemoryRecords,
    "sqlite": lambda: SQLiteRecordStore(db.memory()),
}


@pytest.fixture(params=sorted(STORES))
def records(request: pytest.FixtureRequest) -> RecordStore:
    return STORES[request.param]()


def test_created_once_then_unchanged(records: RecordStore) -> None:
    tracker = RecordingTracker()
    first = file_insight(insight(), tracker, records, BASE)
    again = file_insight(insight(), tracker, records, BASE)
    assert first.action == "created" and again.action == "unchanged"
    assert first.id == again.id == ticket_id_for("ins_a")
    assert tracker.created == [first.id]
    assert tracker.updates == []


def test_new_evidence_updates_the_open_ticket(records: RecordStore) -> None:
    tracker = RecordingTracker()
    file_insight(insight(), tracker, records, BASE)
    grown = insight(conversations=("1", "2", "3"), messages=("1", "2", "3"),
                    quotes=("a", "b", "new quote"))
    ref = file_insight(grown, tracker, records, BASE)
    assert ref.action == "updated" and ref.status == "open"
    [(ticket_id, delta)] = tracker.updates
    assert delta.new_conversation_ids == ["3"]
    assert [q.text for q in delta.new_quotes] == ["new quote"]
    assert records.get(ticket_id).conversations == 3  # type: ignore[union-attr]


def test_problem_coming_back_after_done_is_a_regression(records: RecordStore) -> None:
    tracker = RecordingTracker()
    ref = file_insight(insight(), tracker, records, BASE)
    records.set_status(ref.id, "done", BASE, source="test")
    back = file_insight(insight(conversations=("1", "2", "9"), messages=("1", "2", "9")),
                        tracker, records, BASE)
    assert back.action == "updated" and back.status == "regressed"
    assert tracker.updates[0][1].regression
    history = records.get(ref.id).history  # type: ignore[union-attr]
    assert [h.status for h in history][-2:] == ["done", "regressed"]


def test_regression_can_file_a_linked_ticket(records: RecordStore) -> None:
    tracker = RecordingTracker(link_on_regression=True)
    ref = file_insight(insight(), tracker, records, BASE)
    records.set_status(ref.id, "done", BASE, source="test")
    back = file_insight(insight(conversations=("1", "2", "9"), messages=("1", "2", "9")),
                        tracker, records, BASE.replace(hour=13))
    assert back.action == "created" and back.id != ref.id
    assert back.external_id == "ext-linked"
    assert records.by_insight("ins_a").id == back.id  # type: ignore[union-attr]
