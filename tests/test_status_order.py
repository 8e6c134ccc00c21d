"""`docloop tickets sync` orders states by when they were entered, as the webhook does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner

from docloop import db
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.backends.trackers.linear import LinearTracker, issue_uuid
from docloop.cli import main
from docloop.config import load_settings
from docloop.stages.file import file_insight
from tests.fake_linear import API_KEY, TEAM, FakeLinear
from tests.helpers import BASE, insight

DAY = timedelta(days=1)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLinear]:
    with FakeLinear() as server:
        for name, value in {"LINEAR_API_KEY": API_KEY, "LINEAR_TEAM_ID": TEAM,
                            "DOCLOOP_LINEAR_API_URL": server.url,
                            "DOCLOOP_TRACKER": "linear"}.items():
            monkeypatch.setenv(name, value)
        yield server


def _sync() -> str:
    result = CliRunner().invoke(main, ["tickets", "sync"])
    assert result.exit_code == 0, result.output
    return result.stderr


def test_sync_does_not_undo_a_newer_webhook_state_and_says_why(fake: FakeLinear) -> None:
    """A webhook brought `started` (entered day 4); the sync reads `unstarted` since day 2."""
    records = SQLiteRecordStore(db.connect(load_settings().db_path))
    ref = file_insight(insight(), LinearTracker.from_settings(load_settings()), records, BASE)
    records.set_status(ref.id, "in_progress", BASE + 4 * DAY, "linear-webhook")
    fake.set_state(issue_uuid(ref.id), "unstarted", at=BASE + 2 * DAY)  # an older view
    output = _sync()
    assert "1 ignored as older than the ticket's current status" in output
    record = records.get(ref.id)
    assert record is not None and record.status == "in_progress"
    last = record.history[-1]
    assert (last.status, last.applied, last.source) == ("open", False, "linear-sync")
    assert "stale change" in last.note
    _sync()  # a daily sync does not repeat the same ignored entry
    again = records.get(ref.id)
    assert again is not None and len(again.history) == len(record.history)


def test_sync_applies_a_state_entered_after_the_current_status(fake: FakeLinear) -> None:
    records = SQLiteRecordStore(db.connect(load_settings().db_path))
    ref = file_insight(insight(), LinearTracker.from_settings(load_settings()), records, BASE)
    records.set_status(ref.id, "in_progress", BASE + DAY, "linear-webhook")
    fake.set_state(issue_uuid(ref.id), "unstarted", at=BASE + 2 * DAY)  # moved back, later
    assert "1 changed" in _sync()
    record = records.get(ref.id)
    assert record is not None and record.status == "open"
    assert record.history[-1].changed_at == BASE + 2 * DAY
