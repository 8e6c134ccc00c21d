"""`docloop serve`'s delivery writer: group commits, and exactly once under concurrency.

The writer answers a delivery only after the commit that holds it; deliveries
that arrive together share a commit, each in its own savepoint. These tests
drive it as production does (a real uvicorn, or the writer itself with a real
SQLite file) and read the database afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from docloop import db
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.config import Settings, load_settings
from docloop.models import TicketRecord
from docloop.web.deliveries import DeliveryWriter
from tests.test_webhook import _served

SECRET = "whsec-test"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def _issue(n: int) -> str:
    return f"0f8c6a1e-5d0a-4a53-8d33-{n:012d}"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    conn = db.connect(home / "docloop.db")
    store = SQLiteRecordStore(conn)
    for n in range(5):
        store.put(TicketRecord(id=f"DL-{n}", tracker="linear", external_id=_issue(n),
                               identifier=f"DOC-{n}", insight_id=f"ins_{n}", title="CORS",
                               created_at=NOW, updated_at=NOW))
    conn.close()
    return home


def _settings(home: Path) -> Settings:
    return load_settings(environ={"DOCLOOP_HOME": str(home), "LINEAR_WEBHOOK_SECRET": SECRET})


def _signed(ticket: int, delivery: str) -> tuple[bytes, dict[str, str]]:
    """A signed Linear delivery moving issue `ticket` to Done."""
    body = json.dumps({"type": "Issue", "action": "update", "webhookTimestamp": NOW_MS,
                       "createdAt": "2026-11-25T11:59:00Z", "updatedFrom": {"stateId": "s-1"},
                       "data": {"id": _issue(ticket), "state": {"type": "completed",
                                                                "name": "Done"}}}).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Linear-Signature": signature, "Linear-Delivery": delivery}


def _transitions(home: Path) -> Counter[str]:
    """Applied status changes per ticket (the filing row is not one)."""
    conn = sqlite3.connect(home / "docloop.db")
    try:
        rows = conn.execute("SELECT ticket_id FROM ticket_history WHERE seq > 1 AND applied = 1")
        return Counter(r[0] for r in rows)
    finally:
        conn.close()


def test_concurrent_copies_of_one_delivery_on_two_servers_apply_once(home: Path) -> None:
    """Two servers (two writers, two connections) on one database, 24 copies at once."""
    body, headers = _signed(0, "d-same")
    answers: list[str] = []
    with ExitStack() as stack:
        urls = [stack.enter_context(_served(home)) for _ in range(2)]
        barrier = threading.Barrier(24)

        def deliver(n: int) -> None:
            barrier.wait()
            reply = httpx.post(urls[n % 2], content=body, headers=headers, timeout=60)
            answers.append(f"{reply.status_code} {reply.json()['status']}")

        threads = [threading.Thread(target=deliver, args=(n,)) for n in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert Counter(answers) == {"200 applied": 1, "200 duplicate": 23}
    assert _transitions(home) == {"DL-0": 1}


def _gated(home: Path, gate: threading.Event,
           factory: type[sqlite3.Connection]) -> Callable[[], sqlite3.Connection]:
    """A connect() for the writer that waits for `gate`: the first delivery is held
    there until the test has queued the others behind it."""
    def connect() -> sqlite3.Connection:
        gate.wait(30)
        conn = sqlite3.connect(home / "docloop.db", factory=factory, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    return connect


class _CommitFails(sqlite3.Connection):
    """A connection whose COMMITs fail while `failing` is set (a full or failing disk)."""

    failing = threading.Event()

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.failing.is_set():
            raise sqlite3.OperationalError("disk I/O error")
        return super().execute(sql, *args)


def test_a_group_whose_commit_fails_is_answered_503_and_applied_by_the_retry(
        home: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Nothing of a failed group is applied or acknowledged; Linear's retry then applies it."""
    gate = threading.Event()
    writer = DeliveryWriter(_settings(home), SECRET, _gated(home, gate, _CommitFails))
    try:
        first = writer.submit(*_signed(0, "d-0"), NOW)
        time.sleep(0.2)  # the writer has taken d-0 and waits in connect()
        group = [writer.submit(*_signed(n, f"d-{n}"), NOW) for n in range(1, 5)]
        _CommitFails.failing.set()
        gate.set()
        assert first.result(30).status == 503  # d-0's own commit failed too
        assert [answer.result(30).status for answer in group] == [503] * 4
        assert _transitions(home) == {}
        _CommitFails.failing.clear()
        retries = [writer.submit(*_signed(n, f"d-{n}"), NOW) for n in range(5)]
        assert [r.result(30).body["status"] for r in retries] == ["applied"] * 5
    finally:
        _CommitFails.failing.clear()
        writer.close()
    assert _transitions(home) == {f"DL-{n}": 1 for n in range(5)}
    assert sum("not committed" in r.getMessage() for r in caplog.records) == 2


def test_deliveries_queued_together_share_one_commit(home: Path) -> None:
    """Five deliveries waiting behind a slow first one are committed by one COMMIT."""
    gate = threading.Event()
    commits: list[str] = []

    class Counting(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql == "COMMIT":
                commits.append(sql)
            return super().execute(sql, *args)

    writer = DeliveryWriter(_settings(home), SECRET, _gated(home, gate, Counting))
    try:
        first = writer.submit(*_signed(0, "d-0"), NOW)
        time.sleep(0.2)
        rest = [writer.submit(*_signed(n, f"d-{n}"), NOW) for n in range(1, 5)]
        duplicate = writer.submit(*_signed(1, "d-1"), NOW)
        gate.set()
        outcomes = [a.result(30).body["status"] for a in [first, *rest, duplicate]]
    finally:
        writer.close()
    assert outcomes == ["applied"] * 5 + ["duplicate"]
    assert len(commits) == 2  # d-0 alone, then the five queued behind it
    assert _transitions(home) == {f"DL-{n}": 1 for n in range(5)}


def test_a_delivery_whose_client_went_away_before_its_turn_is_not_applied(home: Path) -> None:
    """Its request was cancelled, so it was never answered: Linear sends it again."""
    gate = threading.Event()
    writer = DeliveryWriter(_settings(home), SECRET, _gated(home, gate, sqlite3.Connection))
    try:
        first = writer.submit(*_signed(0, "d-0"), NOW)
        time.sleep(0.2)
        gone = writer.submit(*_signed(1, "d-1"), NOW)
        assert gone.cancel()
        gate.set()
        assert first.result(30).body["status"] == "applied"
        retry = writer.submit(*_signed(1, "d-1"), NOW)
        assert retry.result(30).body["status"] == "applied"  # not a duplicate: never claimed
    finally:
        writer.close()
    assert _transitions(home) == {"DL-0": 1, "DL-1": 1}
