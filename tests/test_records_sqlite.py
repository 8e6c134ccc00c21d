"""The SQLite record store keeps tickets, their status history and webhook deliveries."""

from __future__ import annotations

from datetime import timedelta

from docloop import db
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.models import TicketRecord
from tests.helpers import BASE


def _record(ticket_id: str = "DL-1", insight_id: str = "ins_a", minutes: int = 0) -> TicketRecord:
    at = BASE + timedelta(minutes=minutes)
    return TicketRecord(id=ticket_id, tracker="linear", external_id=f"uuid-{ticket_id}",
                        insight_id=insight_id, title="t", message_ids=["1", "2"],
                        conversation_ids=["1"], created_at=at, updated_at=at)


def test_round_trip_and_lookups() -> None:
    store = SQLiteRecordStore(db.memory())
    store.put(_record())
    got = store.get("DL-1")
    assert got is not None and got.message_ids == ["1", "2"]
    assert store.by_external("linear", "uuid-DL-1") == got
    assert store.by_insight("ins_a") == got
    assert store.get("nope") is None


def test_newest_record_per_insight_wins() -> None:
    store = SQLiteRecordStore(db.memory())
    store.put(_record("DL-1"))
    store.put(_record("DL-2", minutes=5))
    assert store.by_insight("ins_a").id == "DL-2"  # type: ignore[union-attr]
    assert [r.id for r in store.all()] == ["DL-2", "DL-1"]


def test_status_changes_are_recorded_once() -> None:
    store = SQLiteRecordStore(db.memory())
    store.put(_record())
    assert store.set_status("DL-1", "in_progress", BASE, "linear-webhook")
    assert not store.set_status("DL-1", "in_progress", BASE, "linear-webhook")
    assert not store.set_status("missing", "done", BASE, "linear-webhook")
    history = store.get("DL-1").history  # type: ignore[union-attr]
    assert [(h.status, h.source) for h in history] == [
        ("open", "docloop"), ("in_progress", "linear-webhook")]


def test_put_keeps_history_and_updates_fields() -> None:
    store = SQLiteRecordStore(db.memory())
    store.put(_record())
    store.set_status("DL-1", "done", BASE, "test")
    changed = store.get("DL-1").model_copy(update={"conversations": 5})  # type: ignore[union-attr]
    store.put(changed)
    again = store.get("DL-1")
    assert again is not None and again.conversations == 5 and again.status == "done"
    assert len(again.history) == 2


def test_deliveries_are_claimed_once() -> None:
    store = SQLiteRecordStore(db.memory())
    assert store.claim_delivery("d-1", BASE)
    assert not store.claim_delivery("d-1", BASE)
    assert store.claim_delivery("d-2", BASE)


def test_a_database_from_before_source_times_gets_them_from_the_recorded_times() -> None:
    """Migration 2 dates earlier changes by when they were recorded; the filing stays undated."""
    from docloop.backends.records.sqlite import MIGRATIONS
    from docloop.stages.regression import status_since

    conn = db.memory()
    db.ensure_schema(conn, "records", MIGRATIONS[:1])  # the schema an older docloop made
    old = BASE.isoformat()
    later = (BASE + timedelta(days=1)).isoformat()
    conn.execute("INSERT INTO tickets (id, tracker, status, insight_id, title, created_at, "
                 "updated_at) VALUES ('DL-1', 'linear', 'done', 'i', 't', ?, ?)", (old, later))
    conn.executemany("INSERT INTO ticket_history VALUES ('DL-1', ?, ?, ?, ?, '')",
                     [(1, "open", old, "docloop"), (2, "done", later, "linear-webhook")])
    record = SQLiteRecordStore(conn).get("DL-1")
    assert record is not None
    assert [(c.changed_at, c.applied) for c in record.history] == [
        (None, True), (BASE + timedelta(days=1), True)]
    assert status_since(record) == BASE + timedelta(days=1)


def test_ignored_changes_are_kept_in_the_history_without_moving_the_ticket() -> None:
    store = SQLiteRecordStore(db.memory())
    store.put(_record())
    store.set_status("DL-1", "done", BASE + timedelta(hours=2), "linear-webhook")
    store.note_ignored("DL-1", "in_progress", BASE + timedelta(hours=3), "linear-webhook",
                       "stale", BASE + timedelta(hours=1))
    record = store.get("DL-1")
    assert record is not None and record.status == "done"
    last = record.history[-1]
    assert (last.status, last.applied, last.changed_at) == (
        "in_progress", False, BASE + timedelta(hours=1))
