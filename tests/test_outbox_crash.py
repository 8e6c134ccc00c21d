"""The local outbox and the records agree after a crash at any point, with no evidence twice."""

from __future__ import annotations

import logging
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from docloop import db
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.backends.trackers.local import UPDATES_MARKER, LocalTracker, repair_outbox
from docloop.config import Settings
from docloop.models import TicketLink, TicketRecord
from docloop.pipeline import holding_home
from docloop.stages.file import file_insight
from tests.helpers import BASE, insight
from tests.outbox_worker import ROUNDS, grown

REPO = Path(__file__).resolve().parents[1]
_QUOTE = re.compile(r"^> quote (\S+) of problem \d+$", re.M)
_STATUS = re.compile(r"^\*\*Status:\*\* (\S+)$", re.M)


def _records(home: Path) -> dict[str, TicketRecord]:
    store = SQLiteRecordStore(db.connect(home / "docloop.db"))
    return {r.id: r for r in store.all()}


def _assert_agree(home: Path) -> None:
    """Every record has its file and vice versa; status lines and evidence match the records."""
    outbox = home / "outbox"
    records = _records(home)
    assert sorted(p.stem for p in outbox.iterdir()) == sorted(records)
    for ticket_id, record in records.items():
        text = (outbox / f"{ticket_id}.md").read_text(encoding="utf-8")
        assert _STATUS.findall(text) == [record.status], ticket_id
        index = record.insight_id.removeprefix("ins_")
        first = {f"{index}-{m}" for m in ROUNDS[0]}
        updates = text.partition(UPDATES_MARKER)[2]
        reported = _QUOTE.findall(updates)  # the evidence the update sections report
        assert not [m for m, n in Counter(reported).items() if n > 1], updates
        assert set(reported) == set(record.message_ids) - first, ticket_id


def _state(home: Path) -> dict[str, tuple[str, list[str]]]:
    return {r.insight_id: (r.status, sorted(r.message_ids)) for r in _records(home).values()}


def _worker(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.outbox_worker", str(home)],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)


def _ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"


def _complete(home: Path) -> float:
    """Run the worker to the end; the seconds its work took after imports."""
    proc = _worker(home)
    _ready(proc)
    started = time.monotonic()
    assert proc.wait(timeout=120) == 0
    return time.monotonic() - started


def test_kill_9_at_random_points_leaves_outbox_and_records_in_agreement(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    work_s = _complete(reference)
    _assert_agree(reference)
    rng = random.Random(1104)
    interrupted = 0
    deadline = time.monotonic() + 240
    for attempt in range(10):
        assert time.monotonic() < deadline, "the crash loop is taking too long"
        home = tmp_path / f"try{attempt}"
        proc = _worker(home)
        _ready(proc)
        time.sleep(rng.uniform(0, work_s))
        proc.kill()  # SIGKILL: no finally, no atexit
        interrupted += proc.wait(timeout=30) != 0
        if (home / "outbox").is_dir():  # a record is stored only after its file
            assert set(_records(home)) <= {p.stem for p in (home / "outbox").glob("DL-*.md")}
        _complete(home)
        _assert_agree(home)
        assert not list((home / "outbox").glob(".tmp-*"))
        assert _state(home) == _state(reference)
    assert interrupted >= 5, "most kills should land while the worker is filing"


class Boom(Exception):
    """The injected crash."""


def _file_all(home: Path, round_no: int) -> None:
    records = SQLiteRecordStore(db.connect(home / "docloop.db"))
    tracker = LocalTracker(home / "outbox")
    for index in range(2):
        item = grown(index, round_no)
        record = records.by_insight(item.id)
        if round_no == 2 and record is not None and record.status == "open":
            records.set_status(record.id, "done", datetime.now(UTC), "cli")
        file_insight(item, tracker, records, datetime.now(UTC))


def _crash_put(self: SQLiteRecordStore, record: TicketRecord) -> None:
    raise Boom("after the file, before the record")


def _crash_regression(original: Callable[..., bool]) -> Callable[..., bool]:
    def set_status(self: SQLiteRecordStore, ticket_id: str, status: str,
                   *args: object, **kwargs: object) -> bool:
        if status == "regressed":
            raise Boom("after the evidence, before the regression status")
        return original(self, ticket_id, status, *args, **kwargs)
    return set_status


def _crash_rename(src: object, dst: object) -> None:
    raise Boom("before the rename")


STEPS: dict[str, tuple[str, Callable[..., object]]] = {
    "before the rename": ("docloop.files.os.replace", lambda: _crash_rename),
    "after the file, before the record": (
        "docloop.backends.records.sqlite.SQLiteRecordStore.put", lambda: _crash_put),
    "after the evidence, before the regression status": (
        "docloop.backends.records.sqlite.SQLiteRecordStore.set_status",
        lambda: _crash_regression(SQLiteRecordStore.set_status)),
}


@pytest.mark.parametrize(("step", "round_no"), [
    ("before the rename", 1), ("before the rename", 2),
    ("after the file, before the record", 1), ("after the file, before the record", 2),
    ("after the evidence, before the regression status", 2),
])
def test_a_crash_at_each_step_is_repaired_by_the_next_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, round_no: int) -> None:
    """Before: a crash after the file write put the "New evidence" section in twice."""
    home = tmp_path / "home"
    for earlier in range(round_no):
        _file_all(home, earlier)
    target, crash = STEPS[step]
    with monkeypatch.context() as patch:
        patch.setattr(target, crash())
        with pytest.raises(Boom):
            _file_all(home, round_no)
    _file_all(home, round_no)
    _assert_agree(home)
    statuses = {r.status for r in _records(home).values()}
    assert statuses == ({"regressed"} if round_no == 2 else {"open"})


def test_temp_files_a_killed_writer_left_are_removed_by_the_next_run(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(home=tmp_path / "home")
    _file_all(settings.home, 0)
    left = [settings.outbox_dir / ".tmp-abc123.md", settings.reports_dir / ".tmp-x.md"]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half a ticket", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="docloop.pipeline"), \
            holding_home(settings, lock_wait_s=0):
        pass
    assert not any(path.exists() for path in left)
    assert sum("left by an interrupted run" in r.getMessage() for r in caplog.records) == 2
    _assert_agree(settings.home)


def test_a_run_repairs_what_a_killed_set_status_or_create_left(tmp_path: Path) -> None:
    """set-status stores the record, then edits the file; a create writes the file first."""
    home = tmp_path / "home"
    _file_all(home, 0)
    records = SQLiteRecordStore(db.connect(home / "docloop.db"))
    closed = records.all()[0]
    records.set_status(closed.id, "done", datetime.now(UTC), "cli")  # killed before the file
    orphan = LocalTracker(home / "outbox").path("DL-0000000000")
    orphan.write_text((home / "outbox" / f"{closed.id}.md").read_text(encoding="utf-8"),
                      encoding="utf-8")  # killed before its record
    done = repair_outbox(home / "outbox", records.all())
    assert sorted(done) == [f"removed {orphan.name}: no record (its run was interrupted)",
                            f"set {closed.id}.md status to done, as recorded"]
    _assert_agree(home)
    assert repair_outbox(home / "outbox", records.all()) == []


def test_a_related_ticket_killed_before_its_record_is_not_named_after_the_repair(
        tmp_path: Path) -> None:
    """Filing a ticket on a section tells the open ticket there about it; a create killed
    before its record leaves that note naming a file the repair removes: it goes too."""
    outbox, records = tmp_path / "outbox", SQLiteRecordStore(db.memory())
    tracker = LocalTracker(outbox)
    first = file_insight(insight(), tracker, records, BASE)
    tracker.create("DL-0000000000", insight("ins_b").model_copy(update={
        "related": [TicketLink(id=first.id, title="x")]}))  # killed before its record
    note = "<!-- docloop:related DL-0000000000 -->"
    assert note in (outbox / f"{first.id}.md").read_text(encoding="utf-8")
    done = repair_outbox(outbox, records.all())
    assert sorted(done) == [
        "removed DL-0000000000.md: no record (its run was interrupted)",
        f"removed from {first.id}.md a related ticket that has no record"]
    text = (outbox / f"{first.id}.md").read_text(encoding="utf-8")
    assert note not in text and "### Related ticket" not in text
    assert text.rstrip().endswith(UPDATES_MARKER)
    second = file_insight(insight("ins_b", messages=("3", "4"), conversations=("3", "4")),
                          tracker, records, BASE)  # the re-run files it and names it again
    assert f"<!-- docloop:related {second.id} -->" in (outbox / f"{first.id}.md").read_text(
        encoding="utf-8")
    assert repair_outbox(outbox, records.all()) == []


def test_outbox_files_and_folders_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        home = tmp_path / "home"
        _file_all(home, 0)
    finally:
        os.umask(old)
    assert (home.stat().st_mode & 0o777) == 0o700
    assert ((home / "outbox").stat().st_mode & 0o777) == 0o700
    assert {p.stat().st_mode & 0o777 for p in (home / "outbox").iterdir()} == {0o600}
