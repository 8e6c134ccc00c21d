"""Message mapping on real recorded payloads, and the fake server's fidelity to them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from docloop.backends.sources.discord_map import (
    Where,
    looks_contentless,
    skip_reason,
    snowflake_time,
    to_message,
)
from tests.fake_discord import FakeDiscord

HERE = Where(guild_id="1", channel_id="290926798999357250", channel_name="general")


def fixture(shared_dir: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (shared_dir / "fixtures" / "discord-api" / name).read_text(encoding="utf-8")
    )
    return data


def test_plain_docs_message(shared_dir: Path) -> None:
    raw = fixture(shared_dir, "docs-message-example.json")
    assert skip_reason(raw) is None
    message = to_message(raw, HERE)
    assert (message.content, message.author_name, message.reply_to) == ("Supa Hot", "Mason", None)
    assert message.timestamp.isoformat() == "2017-07-11T17:27:07.299000+00:00"
    assert snowflake_time(raw["id"]).year == 2017
    assert message.reactions == {"🔥": 1}


def test_recorded_reply_points_at_its_parent(shared_dir: Path) -> None:
    raw = fixture(shared_dir, "d4j-rest-message-reply-type19.json")
    assert raw["type"] == 19 and skip_reason(raw) is None
    assert to_message(raw, HERE).reply_to == raw["message_reference"]["message_id"]


def test_mentions_keep_each_user_id_once_and_skip_malformed_entries() -> None:
    raw = {"id": "5", "type": 0, "content": "@a try this", "timestamp": "2024-01-01T00:00:00Z",
           "author": {"id": "9", "username": "helper"},
           "mentions": [{"id": "1"}, {"id": 2}, "x", {"username": "no id"}, {"id": "1"},
                        {"id": True}, {"id": ""}]}
    assert to_message(raw, HERE).mentions == ["1", "2"]
    assert to_message({**raw, "mentions": None}, HERE).mentions == []


def test_user_mentions_read_as_the_exporter_writes_them() -> None:
    raw = {"id": "5", "type": 0, "timestamp": "2024-01-01T00:00:00Z",
           "author": {"id": "9", "username": "helper"},
           "content": "<@1> and <@!2>: try `allow_origins`; <@3> <@&4> <#5>",
           "mentions": [{"id": "1", "username": "thomas", "global_name": "Thomas"},
                        {"id": "2", "username": "adam", "member": {"nick": "Adam (mod)"}}]}
    assert to_message(raw, HERE).content == (
        "@Thomas and @Adam (mod): try `allow_origins`; @Unknown @unknown-role #unknown-channel")


def test_recorded_channel_mention_reads_the_name_the_message_lists(shared_dir: Path) -> None:
    """A crossposted message lists the channels it names (`mention_channels`)."""
    raw = fixture(shared_dir, "docs-message-crossposted-example.json")
    assert to_message(raw, HERE).content == "Big news! In this #big-news channel!"


def test_crosspost_reference_is_not_a_reply(shared_dir: Path) -> None:
    raw = fixture(shared_dir, "docs-message-crossposted-example.json")
    assert "message_reference" in raw
    assert to_message(raw, HERE).reply_to is None


def test_recorded_forward_uses_snapshot_text(shared_dir: Path) -> None:
    raw = fixture(shared_dir, "d4j-rest-message-forward-snapshot.json")
    assert skip_reason(raw) == "bot"  # the recording's author is a bot
    message = to_message(raw, HERE)
    assert message.forwarded and message.content.startswith("What is Lorem Ipsum?")
    assert not looks_contentless(raw)  # empty content but a snapshot: not an intent problem


def test_sticker_only_message_is_not_contentless(shared_dir: Path) -> None:
    raw = fixture(shared_dir, "d4j-rest-message-sticker-empty-content.json")
    assert raw["content"] == ""
    assert not looks_contentless(raw)
    assert to_message(raw, HERE).has_sticker


def test_fake_messages_carry_the_real_fields(shared_dir: Path) -> None:
    real = fixture(shared_dir, "docs-message-example.json")
    fake = FakeDiscord()
    channel = fake.add_channel("general")
    served = fake.add_message(channel["id"], fake.user("A"), "x")
    assert set(real) - {"reactions"} <= set(served)
    assert set(real["author"]) <= set(served["author"])


def test_fake_threads_carry_the_real_fields(shared_dir: Path) -> None:
    real = fixture(shared_dir, "docs-channel-thread-example.json")
    fake = FakeDiscord()
    thread = fake.add_thread(fake.add_channel("general")["id"], "t")
    assert set(real) <= set(thread)
    assert set(real["thread_metadata"]) <= set(thread["thread_metadata"])


@pytest.mark.parametrize(
    ("name", "retry_after", "is_global"),
    [
        ("docs-429-user-rate-limit.body.json", 64.57, False),
        ("docs-429-global-rate-limit.body.json", 64.57, True),
        ("docs-429-shared-resource-rate-limit.body.json", 1336.57, False),
    ],
)
def test_fake_429_bodies_match_the_docs(
    shared_dir: Path, name: str, retry_after: float, is_global: bool
) -> None:
    real = fixture(shared_dir, name)
    fake = FakeDiscord()
    fake.faults.global_429, fake.faults.retry_after = is_global, retry_after
    status, body, headers = fake._injected_429()
    assert status == 429 and set(body) == set(real)
    assert (body["retry_after"], body["global"]) == (real["retry_after"], real["global"])
    assert headers["Retry-After"] == str(int(retry_after) + 1)
