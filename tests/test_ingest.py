"""The ingest stage end to end: sources -> redaction -> store -> conversations."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop import db, registry
from docloop.backends.sources.base import Batch, Source
from docloop.cli import main
from docloop.config import Settings
from docloop.errors import ConfigError, InputError, TransientError
from docloop.models import Message
from docloop.registry import sqlite_stores
from docloop.stages.ingest import check_sources, ingest, parse_since
from docloop.storage.messages import MessageStore
from tests.dce_helpers import author, export, message, write

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def settings_for(*paths: Path) -> Settings:
    return Settings(sources=[f"discord-export:{p}" for p in paths])


def dump(conn: sqlite3.Connection) -> list[str]:
    return list(conn.iterdump())


def fixtures(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "discord-exports"


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    return db.connect(tmp_path / "home" / "docloop.db")


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("all", None), ("ALL", None), (7, NOW - timedelta(days=7)),
    ("30", NOW - timedelta(days=30)),
])
def test_parse_since_accepts_days_or_all(value: str | int | None,
                                         expected: datetime | None) -> None:
    assert parse_since(value, NOW) == expected


@pytest.mark.parametrize("value", [0, -3, "0", "soon", "1.5", ""])
def test_parse_since_rejects_anything_else(value: str | int) -> None:
    with pytest.raises(ConfigError, match="--since"):
        parse_since(value, NOW)


def test_no_sources_is_a_config_error(conn: sqlite3.Connection) -> None:
    with pytest.raises(ConfigError, match="--source"):
        ingest(Settings(), sqlite_stores(conn), None)
    with pytest.raises(ConfigError, match="--source"):
        check_sources(Settings())


def test_fixture_exports_ingest_into_conversations(shared_dir: Path,
                                                   conn: sqlite3.Connection) -> None:
    result = ingest(settings_for(fixtures(shared_dir)), sqlite_stores(conn), None)
    assert result.stored == len(result.window) == 46
    assert result.skipped == {"system": 4, "duplicate": 6}
    by_id = {c.id: c for c in result.conversations}
    thread = by_id["1060927310439657577"]
    assert thread.thread_name == "Thomas is Thomas" and thread.channel_name == "general"
    assert len(thread.messages) == 5
    chain = next(c for c in result.conversations
                 if "1060926395313827840" in {m.id for m in c.messages})
    assert {"1060926317920538735", "1060926346089476176"} <= {m.id for m in chain.messages}
    dangling = next(c for c in result.conversations
                    if "1060954094627463198" in {m.id for m in c.messages})
    assert dangling.messages[0].id in {"1060954094627463098", "1060954094627463198"}


def test_reimport_changes_nothing(shared_dir: Path, conn: sqlite3.Connection) -> None:
    settings = settings_for(fixtures(shared_dir))
    ingest(settings, sqlite_stores(conn), None)
    before = dump(conn)
    assert ingest(settings, sqlite_stores(conn), None).stored == 0
    assert dump(conn) == before


@pytest.mark.parametrize("order", [("3.json", "4.json"), ("4.json", "3.json")])
def test_edited_version_survives_either_import_order(
    shared_dir: Path, conn: sqlite3.Connection, order: tuple[str, str]
) -> None:
    first, second = (fixtures(shared_dir) / name for name in order)
    ingest(settings_for(first), sqlite_stores(conn), None)
    result = ingest(settings_for(second), sqlite_stores(conn), None)
    edited = {m.id: m for m in result.window}["1060954419862188072"]
    assert edited.content == ":pepeheart: :pepeheart: :pepeheart:"
    # 3.json after 4.json adds the edit and the message deleted before 4.json was exported
    assert result.stored == (2 if order[0] == "4.json" else 0)
    assert len(result.window) == 6


@pytest.mark.parametrize("bad", [
    "{\"guild\": {\"id\": \"1\"}, \"channel\": {\"id\": \"2\"}, \"messages\": [",
    json.dumps({"channel": {"id": "2"}}),
    json.dumps(export([message("1"), {"id": "2", "timestamp": "2024-01-01T00:00:00+00:00"}])),
])
def test_malformed_export_leaves_database_as_it_was(tmp_path: Path, conn: sqlite3.Connection,
                                                    bad: str) -> None:
    ingest(settings_for(write(tmp_path / "old" / "ok.json", export([message("1")]))),
           sqlite_stores(conn), None)
    before = dump(conn)
    folder = tmp_path / "new"
    write(folder / "a.json", export([message("5"), message("6", minute=1)]))
    (folder / "b.json").write_text(bad, encoding="utf-8")
    with pytest.raises(InputError, match=r"b\.json"):
        ingest(settings_for(folder), sqlite_stores(conn), None)
    assert dump(conn) == before


def test_content_and_names_are_redacted_before_storage(tmp_path: Path,
                                                       conn: sqlite3.Connection) -> None:
    raw = message("1", "my key is sk-abcdefghijklmnopqrstuvwx, mail me at bo@example.com",
                  user=author("7", "bo@example.com"))
    ingest(settings_for(write(tmp_path / "x.json", export([raw]))), sqlite_stores(conn), None)
    row = conn.execute("SELECT content, author_name FROM messages WHERE id = '1'").fetchone()
    assert row["content"] == "my key is [secret], mail me at [email]"
    assert row["author_name"] == "[email]"


def test_window_covers_earlier_runs_and_respects_since(tmp_path: Path,
                                                       conn: sqlite3.Connection) -> None:
    old = export([message("1", minute=0), message("2", minute=5)])
    ingest(settings_for(write(tmp_path / "a.json", old)), sqlite_stores(conn), None)
    newer = export([message("3", minute=10)], {**export([])["channel"], "id": "501"})
    since = datetime(2024, 3, 1, 8, 5, tzinfo=UTC)  # 10:05 at +02:00
    result = ingest(settings_for(write(tmp_path / "b.json", newer)), sqlite_stores(conn), since)
    assert result.stored == 1
    assert [m.id for m in result.window] == ["2", "3"]
    assert {m.id for c in result.conversations for m in c.messages} == {"2", "3"}


class FakeSource(Source):
    """Yields prepared batches, then optionally fails like a dropped connection."""

    def __init__(self, batches: list[Batch], fail: bool = False) -> None:
        self.spec = "fake:1"
        self.prepared = batches
        self.fail = fail
        self.seen: list[Mapping[str, str]] = []

    def batches(self, since: datetime | None, watermarks: Mapping[str, str]) -> Iterator[Batch]:
        self.seen.append(dict(watermarks))
        yield from self.prepared
        if self.fail:
            raise TransientError("connection reset")


def fake_message(message_id: str) -> Message:
    return Message(id=message_id, channel_id="c", author_id="a", content="token=abc123",
                   timestamp=NOW)


def use_source(monkeypatch: pytest.MonkeyPatch, source: FakeSource) -> Settings:
    monkeypatch.setattr(registry, "build_source", lambda spec, settings: source)
    return Settings(sources=["fake:1"])


def test_watermark_is_saved_with_its_batch_and_passed_back(
    monkeypatch: pytest.MonkeyPatch, conn: sqlite3.Connection
) -> None:
    source = FakeSource([Batch([fake_message("1")], "fake:c", "1", {"bot": 2})], fail=True)
    settings = use_source(monkeypatch, source)
    with pytest.raises(TransientError):
        ingest(settings, sqlite_stores(conn), None)
    assert conn.execute("SELECT content FROM messages").fetchone()[0] == "token=[secret]"
    source.fail = False
    result = ingest(settings, sqlite_stores(conn), None)
    assert source.seen[-1] == {"fake:c": "1"}
    assert (result.stored, result.skipped) == (0, {"bot": 2})


def test_failed_watermark_write_rolls_back_the_batch(
    monkeypatch: pytest.MonkeyPatch, conn: sqlite3.Connection
) -> None:
    settings = use_source(monkeypatch, FakeSource([Batch([fake_message("1")], "fake:c", "1")]))

    def broken(self: object, key: str, value: str) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(MessageStore, "set_watermark", broken)
    with pytest.raises(sqlite3.OperationalError):
        ingest(settings, sqlite_stores(conn), None)
    assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0


def test_cli_sources_check_json(shared_dir: Path) -> None:
    result = CliRunner().invoke(
        main, ["sources", "check", "--source", f"discord-export:{fixtures(shared_dir)}", "--json"]
    )
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    counts = {c["id"]: c for c in entry["channels"]}
    assert entry["source"].startswith("discord-export:")
    assert counts["1060927310439657577"]["kind"] == "thread"
    assert counts["1060927310439657577"]["parent_id"] == "1012224565567721552"
    assert counts["1012224565567721552"]["messages"] == 31


def test_cli_sources_check_table_and_bad_input(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", export([message("1"), message("2", minute=1)]))
    table = CliRunner().invoke(main, ["sources", "check", "--source", f"discord-export:{good}"])
    assert table.exit_code == 0 and "help" in table.stdout
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    failed = CliRunner().invoke(main, ["sources", "check", "--source",
                                       f"discord-export:{broken}", "--json"])
    assert failed.exit_code == 2
    assert "broken.json" in failed.stderr and failed.stdout == ""


def test_fixture_copy_in_nested_folders_is_found(shared_dir: Path, tmp_path: Path,
                                                 conn: sqlite3.Connection) -> None:
    (tmp_path / "a" / "_threads").mkdir(parents=True)
    shutil.copy(fixtures(shared_dir) / "2.json", tmp_path / "a" / "_threads" / "t.json")
    result = ingest(settings_for(tmp_path / "a"), sqlite_stores(conn), None)
    assert [c.id for c in result.conversations] == ["1060927310439657577"]


def test_bad_second_source_stores_nothing_from_the_first(tmp_path: Path,
                                                         conn: sqlite3.Connection) -> None:
    good = write(tmp_path / "good.json", export([message("1")]))
    bad = tmp_path / "bad.json"
    bad.write_text("[", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.json"):
        ingest(settings_for(good, bad), sqlite_stores(conn), None)
    assert MessageStore(conn).count() == 0
