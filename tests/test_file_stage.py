"""One ticket per insight: created once, updated with new evidence, regressions flagged."""

from __future__ import annotations

from docloop.stages.file import file_insight, ticket_id_for
from tests.fakes import MemoryRecords, RecordingTracker
from tests.helpers import BASE, insight


def test_created_once_then_unchanged() -> None:
    tracker, records = RecordingTracker(), MemoryRecords()
    first = file_insight(insight(), tracker, records, BASE)
    again = file_insight(insight(), tracker, records, BASE)
    assert first.action == "created" and again.action == "unchanged"
    assert first.id == again.id == ticket_id_for("ins_a")
    assert tracker.created == [first.id]
    assert tracker.updates == []


def test_new_evidence_updates_the_open_ticket() -> None:
    tracker, records = RecordingTracker(), MemoryRecords()
    file_insight(insight(), tracker, records, BASE)
    grown = insight(conversations=("1", "2", "3"), messages=("1", "2", "3"),
                    quotes=("a", "b", "new quote"))
    ref = file_insight(grown, tracker, records, BASE)
    assert ref.action == "updated" and ref.status == "open"
    [(ticket_id, delta)] = tracker.updates
    assert delta.new_conversation_ids == ["3"]
    assert [q.text for q in delta.new_quotes] == ["new quote"]
    assert records.get(ticket_id).conversations == 3  # type: ignore[union-attr]


def test_problem_coming_back_after_done_is_a_regression() -> None:
    tracker, records = RecordingTracker(), MemoryRecords()
    ref = file_insight(insight(), tracker, records, BASE)
    records.set_status(ref.id, "done", BASE, source="test")
    back = file_insight(insight(conversations=("1", "2", "9"), messages=("1", "2", "9")),
                        tracker, records, BASE)
    assert back.action == "updated" and back.status == "regressed"
    assert tracker.updates[0][1].regression
    assert [h.status for h in records.get(ref.id).history] == ["done", "regressed"]  # type: ignore[union-attr]


def test_regression_can_file_a_linked_ticket() -> None:
    tracker, records = RecordingTracker(link_on_regression=True), MemoryRecords()
    ref = file_insight(insight(), tracker, records, BASE)
    records.set_status(ref.id, "done", BASE, source="test")
    back = file_insight(insight(conversations=("1", "2", "9"), messages=("1", "2", "9")),
                        tracker, records, BASE.replace(hour=13))
    assert back.action == "created" and back.id != ref.id
    assert back.external_id == "ext-linked"
    assert records.by_insight("ins_a").id == back.id  # type: ignore[union-attr]
