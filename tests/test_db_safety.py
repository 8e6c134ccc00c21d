"""The database under DOCLOOP_HOME: race-free creation, foreign files refused, private modes."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop import db
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.cli import main
from docloop.errors import ConfigError
from docloop.storage.insights import InsightStore
from docloop.storage.messages import MessageStore

REPO = Path(__file__).resolve().parents[1]
EXPORT = REPO / "examples" / "tidepool" / "discord"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _open_all(path: Path, barrier: threading.Barrier, errors: list[BaseException]) -> None:
    try:
        barrier.wait()
        conn = db.connect(path)
        MessageStore(conn)
        InsightStore(conn)
        SQLiteRecordStore(conn)
        conn.close()
    except BaseException as exc:  # collected and asserted on by the test
        errors.append(exc)


def test_many_connections_create_a_fresh_schema_at_once(tmp_path: Path) -> None:
    """Before: the version was read outside the write lock, so two creators both migrated."""
    for attempt in range(5):
        path = tmp_path / f"home{attempt}" / "docloop.db"
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []
        threads = [threading.Thread(target=_open_all, args=(path, barrier, errors))
                   for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        versions = dict(sqlite3.connect(path).execute("SELECT * FROM schema_versions"))
        assert versions["messages"] >= 1 and versions["records"] == 2


_OPEN = ("import sys; from pathlib import Path; from docloop import db; "
         "from docloop.storage.messages import MessageStore; "
         "from docloop.backends.records.sqlite import SQLiteRecordStore; "
         "conn = db.connect(Path(sys.argv[1])); MessageStore(conn); SQLiteRecordStore(conn)")


def test_processes_racing_on_a_fresh_home_all_succeed(tmp_path: Path) -> None:
    for attempt in range(3):
        path = tmp_path / f"home{attempt}" / "docloop.db"
        procs = [subprocess.Popen([sys.executable, "-c", _OPEN, str(path)],
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
        assert [rc for rc, _ in results] == [0] * 4, results


def test_a_migration_added_later_runs_once_on_an_existing_database(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "docloop.db")
    db.ensure_schema(conn, "demo", ["CREATE TABLE a (x)"])
    db.ensure_schema(conn, "demo", ["CREATE TABLE a (x)", "CREATE TABLE b (y)"])
    db.ensure_schema(conn, "demo", ["CREATE TABLE a (x)", "CREATE TABLE b (y)"])
    assert conn.execute("SELECT version FROM schema_versions WHERE component='demo'"
                        ).fetchone()[0] == 2


def _garbage_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "docloop.db").write_bytes(b"this is not sqlite at all\n" * 200)
    return home


COMMANDS = [
    ["tickets"],
    ["tickets", "--json"],
    ["tickets", "set-status", "DL-1", "done"],
    ["docs", "search", "retry"],
    ["index-docs", str(REPO / "examples" / "tidepool" / "docs")],
    ["run", "--source", f"discord-export:{EXPORT}", "--since", "all"],
    ["run", "--source", f"discord-export:{EXPORT}", "--since", "all", "--dry-run"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_garbage_database_is_a_one_line_error_for_every_command(tmp_path: Path,
                                                                  args: list[str]) -> None:
    home = _garbage_home(tmp_path)
    before = (home / "docloop.db").read_bytes()
    mode = _mode(home / "docloop.db")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "is not a docloop database" in lines[0]
    assert "move it aside or point DOCLOOP_HOME" in lines[0]
    assert "Traceback" not in result.output
    assert (home / "docloop.db").read_bytes() == before
    assert _mode(home / "docloop.db") == mode  # not even its mode: it is someone else's file
    assert not (home / "outbox").exists() and not (home / "reports").exists()


def test_another_programs_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "docloop.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE moz_places (url TEXT)")
    other.commit()
    other.close()
    with pytest.raises(ConfigError, match="not a docloop database"):
        db.connect(path)


def test_serve_refuses_a_garbage_database_before_listening(tmp_path: Path) -> None:
    home = _garbage_home(tmp_path)
    result = CliRunner().invoke(main, ["serve", "--port", "1"],
                                env={"LINEAR_WEBHOOK_SECRET": "s", "DOCLOOP_HOME": str(home)})
    assert result.exit_code == 2
    assert "is not a docloop database" in result.stderr and "Traceback" not in result.output


def test_serve_refuses_an_impossible_port(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "99999"],
                                env={"LINEAR_WEBHOOK_SECRET": "s"})
    assert result.exit_code == 2
    assert "99999" in result.output and "Traceback" not in result.output


def test_home_and_database_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        home = tmp_path / "fresh" / "home"
        conn = db.connect(home / "docloop.db")
        SQLiteRecordStore(conn)
        assert _mode(home) == 0o700 and _mode(home.parent) == 0o700
        for name in ("docloop.db", "docloop.db-wal", "docloop.db-shm"):  # open: all three
            assert _mode(home / name) == 0o600, name
        conn.close()
    finally:
        os.umask(old)


def test_an_existing_world_readable_database_is_tightened_with_a_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "docloop.db"
    db.connect(path).close()
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING, logger="docloop.db"):
        db.connect(path).close()
    assert _mode(path) == 0o600
    assert any("tightened" in r.getMessage() and str(path) in r.getMessage()
               for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="docloop.db"):
        db.connect(path).close()
    assert not caplog.records  # already private: nothing to say


@pytest.mark.parametrize("name", ["f#g", "f?g", "f%20g"])
def test_a_read_only_connection_opens_a_home_whose_name_has_uri_marks(tmp_path: Path,
                                                                      name: str) -> None:
    """`file:{path}?mode=ro` read `#` as a fragment (and opened an empty file beside the
    home, writable), `?` as a query and `%20` as a space: the index-docs memory was lost."""
    path = tmp_path / name / "docloop.db"
    with closing(db.connect(path)) as conn:
        conn.execute("CREATE TABLE kept (x)")
    with closing(db.open_read_only(path)) as ro:
        assert ro.execute("SELECT name FROM sqlite_master WHERE name = 'kept'").fetchone()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.execute("CREATE TABLE written (x)")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing made beside it
