"""One ticket per insight: created once, updated with new evidence, regressions flagged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from docloop import db, registry
from docloop.backends.records.base import RecordStore
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.backends.trackers.local import LocalTracker
from docloop.models import TicketLink
from docloop.stages.file import file_insight, ticket_id_for
from tests.aws_support import aws_settings
from tests.fakes import MemoryRecords, RecordingTracker
from tests.helpers import BASE, insight

STORES: dict[str, Callable[[], RecordStore]] = {
    "memory": MemoryRecords,
    "sqlite": lambda: SQLiteRecordStore(db.memory()),
}


@pytest.fixture(params=[*sorted(STORES), pytest.param("dynamodb", marks=pytest.mark.aws)])
def records(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordStore]:
    """Each store; DynamoDB (moto) too, whose related tickets come from section pointers."""
    if request.param != "dynamodb":
        yield STORES[request.param]()
        return
    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        yield registry.build_records(settings)


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


def test_a_ticket_names_the_open_tickets_on_its_docs_section(
        records: RecordStore, tmp_path: Path) -> None:
    """Two insights matched to one section are often one problem split in two: the second
    ticket names the first (and, re-rendered on its next update, the first the second);
    a done ticket or one on another section is not named."""
    tracker = LocalTracker(tmp_path / "outbox")
    first = file_insight(insight(), tracker, records, BASE)
    done = file_insight(insight("ins_done", messages=("7", "8"), conversations=("7", "8")),
                        tracker, records, BASE)
    records.set_status(done.id, "done", BASE, source="test")
    elsewhere = file_insight(insight("ins_far", path="guide/auth.md"), tracker, records, BASE)
    second = file_insight(insight("ins_b", messages=("3", "4"), conversations=("3", "4")),
                          tracker, records, BASE)
    assert second.action == "created" and second.related == [first.id]
    assert second.model_dump()["related"] == [first.id]  # the report's ticket.related
    handed = insight().model_copy(update={"related": [TicketLink(id=first.id, title="t")]})
    assert "related" not in handed.model_dump_json()  # a filing-time list, never stored
    assert first.related == [] and elsewhere.related == []
    body = (tmp_path / "outbox" / f"{second.id}.md").read_text(encoding="utf-8")
    assert "**Also open on this section**" in body
    assert f"- [{first.id}]({first.id}.md) — How do I allow my frontend origin? (open)" in body
    assert done.id not in body and elsewhere.id not in body
    older = (tmp_path / "outbox" / f"{first.id}.md").read_text(encoding="utf-8")
    told = f"<!-- docloop:related {second.id} -->"
    assert older.count(told) == 1  # the open ticket hears of the new one
    assert f"Filed on the same docs section: [{second.id}]({second.id}.md) — How do" in older
    tracker.create(second.id, insight("ins_b").model_copy(update={"related": [
        TicketLink(id=first.id, title="x")]}))  # a retried create tells it once
    grown = file_insight(insight(messages=("1", "2", "5"), conversations=("1", "2", "5")),
                         tracker, records, BASE)
    assert grown.action == "updated" and grown.related == [second.id]
    older = (tmp_path / "outbox" / f"{first.id}.md").read_text(encoding="utf-8")
    assert older.count(told) == 1 and "### New evidence" in older
    assert f"- [{second.id}]({second.id}.md) — " in older  # and lists it, re-rendered


def test_related_tickets_are_open_ones_of_the_same_tracker_only(records: RecordStore) -> None:
    file_insight(insight("ins_other"), RecordingTracker(), records, BASE)  # tracker "fake"
    tracker = RecordingTracker()
    tracker.name = "another"
    ref = file_insight(insight(), tracker, records, BASE)
    assert ref.related == []
    missing = file_insight(insight("ins_gap", path=None, verdict="missing"), tracker, records,
                           BASE)
    assert missing.related == []
