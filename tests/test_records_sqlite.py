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
