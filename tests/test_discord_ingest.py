"""The Discord API source through the real ingest stage, store and CLI."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from docloop import db
from docloop.backends.sources.discord_api import watermark_key
from docloop.cli import main
from docloop.config import Settings
from docloop.registry import sqlite_stores
from docloop.stages.ingest import ingest
from docloop.storage.messages import MessageStore
from tests.fake_discord import FakeDiscord


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        yield server


def settings_for(fake: FakeDiscord, home: Path, spec: str) -> Settings:
    return Settings(home=home, sources=[spec], discord_api_base=fake.base_url,
                    discord_bot_token=SecretStr(fake.token))


def history(fake: FakeDiscord) -> tuple[dict, list[dict]]:
    channel = fake.add_channel("help")
    users = [fake.user(f"User {n}") for n in range(4)]
    sent = [fake.add_message(channel["id"], users[n % 4], f"question number {n}?")
            for n in range(260)]
    thread = fake.add_thread(channel["id"], "deploy", from_message=sent[10])
    sent += [fake.add_message(thread["id"], users[n % 4], f"answer {n}") for n in range(30)]
    return channel, sent


def test_kill_mid_ingest_then_rerun_stores_everything_exactly_once(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel, sent = history(fake)
    settings = settings_for(fake, tmp_path / "home", f"discord:{channel['id']}")
    conn = db.connect(settings.db_path)
    real_upsert, calls = MessageStore.upsert, []

    def dies_on_third_batch(self: MessageStore, messages: object) -> int:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed while storing")
        return real_upsert(self, messages)  # type: ignore[arg-type]

    monkeypatch.setattr(MessageStore, "upsert", dies_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        ingest(settings, sqlite_stores(conn), None)
    store = MessageStore(conn)
    assert store.count() == 200  # two pages committed, the third rolled back
    assert store.watermarks("discord:") == {watermark_key(channel["id"]): sent[199]["id"]}
    monkeypatch.setattr(MessageStore, "upsert", real_upsert)
    before = len(fake.requests)
    result = ingest(settings, sqlite_stores(db.connect(settings.db_path)), None)
    assert result.stored == len(sent) - 200
    assert MessageStore(conn).count() == len(sent)
    resumed = [r for r in fake.requests[before:] if r.path == f"/channels/{channel['id']}/messages"]
    assert resumed[0].params["after"] == sent[199]["id"]
    thread_conversation = next(c for c in result.conversations if c.thread_name == "deploy")
    assert len(thread_conversation.messages) == 31  # starter + 30 answers


def test_second_ingest_reads_only_new_messages(fake: FakeDiscord, tmp_path: Path) -> None:
    channel, sent = history(fake)
    settings = settings_for(fake, tmp_path / "home", f"discord-guild:{fake.guild_id}")
    conn: sqlite3.Connection = db.connect(settings.db_path)
    assert ingest(settings, sqlite_stores(conn), None).stored == len(sent)
    newest = fake.add_message(channel["id"], fake.user("Late"), "one more question?")
    before = len(fake.requests)
    assert ingest(settings, sqlite_stores(conn), None).stored == 1
    message_calls = [r for r in fake.requests[before:] if r.path.endswith("/messages")]
    assert len(message_calls) == 1  # the thread is up to date: not even asked
    assert MessageStore(conn).get([newest["id"]])[0].content == "one more question?"


def test_cli_sources_check_lists_channels_and_threads(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel, _ = history(fake)
    monkeypatch.setenv("DISCORD_BOT_TOKEN", fake.token)
    monkeypatch.setenv("DOCLOOP_DISCORD_API_BASE", fake.base_url)
    result = CliRunner().invoke(
        main, ["sources", "check", "--source", f"discord-guild:{fake.guild_id}", "--json"]
    )
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output)
    rows = {row["name"]: row for row in entry["channels"]}
    assert rows["help"]["kind"] == "text" and rows["help"]["id"] == channel["id"]
    assert rows["deploy"]["parent_id"] == channel["id"] and rows["deploy"]["messages"] == 31


def test_cli_bad_token_exits_1_naming_the_token(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "not-the-token")
    monkeypatch.setenv("DOCLOOP_DISCORD_API_BASE", fake.base_url)
    result = CliRunner().invoke(
        main, ["sources", "check", "--source", f"discord-guild:{fake.guild_id}"]
    )
    assert result.exit_code == 1
    assert "DISCORD_BOT_TOKEN" in result.output


def test_cli_missing_token_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(main, ["sources", "check", "--source", "discord:123456789"])
    assert result.exit_code == 2
    assert "DISCORD_BOT_TOKEN" in result.output
