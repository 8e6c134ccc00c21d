"""Closing the loop: one Discord reply per conversation once a ticket is done, never twice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from docloop import registry, review
from docloop.backends.replies.base import Replier
from docloop.cli import main
from docloop.config import Settings
from docloop.stages.reply import deliver_replies
from docloop.stores import Stores
from tests.discord_support import FakeClock
from tests.fake_discord import FakeDiscord
from tests.reply_support import (
    NOW,
    CrashAfterSend,
    Guild,
    add_conversations,
    remember,
    ticket,
)


@dataclass
class World:
    """A guild with one thread conversation and one channel conversation, and a done ticket."""

    fake: FakeDiscord
    settings: Settings
    thread_id: str
    channel_id: str
    root_id: str
    guild: Guild


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with FakeDiscord() as fake:
        guild = add_conversations(fake)
        settings = Settings(home=tmp_path / "home", discord_api_base=fake.base_url,
                            discord_bot_token=SecretStr(fake.token), discord_reply_on_done=True)
        with registry.open_stores(settings) as stores:
            _remember(stores, guild)
        yield World(fake, settings, guild.thread_id, guild.channel_id, guild.root_id, guild)


def _remember(stores: Stores, guild: Guild) -> None:
    """What a run leaves, with the ticket made done yesterday."""
    remember(stores, guild, ticket())
    stores.records.set_status("DL-1", "done", NOW - timedelta(days=1), "cli")


def _deliver(world: World, replier: Replier | None = None) -> Any:
    clock = FakeClock()
    built = replier or registry.build_replier(world.settings, sleep=clock.sleep,
                                              clock=clock.time)
    with registry.open_stores(world.settings) as stores:
        return deliver_replies(stores, built)


def _posts(fake: FakeDiscord) -> list[tuple[str, dict[str, Any]]]:
    return [(m["channel_id"], m) for _, m in fake.posted]


def test_one_reply_per_conversation_in_the_thread_or_to_the_first_message(world: World) -> None:
    outcome = _deliver(world)
    assert (outcome.queued, outcome.sent, outcome.failed) == (2, 2, 0)
    posts = dict(_posts(world.fake))
    assert set(posts) == {world.thread_id, world.channel_id}
    assert "message_reference" not in posts[world.thread_id]  # in the thread itself
    reference = posts[world.channel_id]["message_reference"]
    assert reference["message_id"] == world.root_id and posts[world.channel_id]["type"] == 19
    assert "https://docs.example/cors/" in posts[world.thread_id]["content"]
    again = _deliver(world)
    assert (again.queued, again.sent) == (0, 0) and len(world.fake.posted) == 2


def test_a_crash_between_send_and_record_never_posts_twice(world: World) -> None:
    clock = FakeClock()
    real = registry.build_replier(world.settings, sleep=clock.sleep, clock=clock.time)
    with pytest.raises(KeyboardInterrupt):
        _deliver(world, CrashAfterSend(real))
    assert len(world.fake.posted) == 1
    with registry.open_stores(world.settings) as stores:
        assert [r.state for r in stores.replies.for_ticket("DL-1")] == ["sending", "queued"]
    outcome = _deliver(world)
    assert (outcome.found, outcome.sent) == (1, 1)
    assert len(world.fake.posted) == 2  # the crashed one was found, not posted again
    with registry.open_stores(world.settings) as stores:
        sent = stores.replies.for_ticket("DL-1")
    assert {r.state for r in sent} == {"sent"}
    assert {r.message_id for r in sent} == {m["id"] for _, m in world.fake.posted}


def test_a_lost_response_is_answered_by_the_nonce_not_a_second_message(world: World) -> None:
    clock = FakeClock()
    real = registry.build_replier(world.settings, sleep=clock.sleep, clock=clock.time)
    with registry.open_stores(world.settings) as stores:
        preview = review.reply_preview(world.settings, stores, "ins_cors")
    first = real.send(preview[0])
    assert real.send(preview[0]) == first  # Discord's enforce_nonce returns the same message
    assert len(world.fake.posted) == 1


def test_a_post_answered_unreadably_is_looked_for_not_failed_or_posted_twice(
        world: World) -> None:
    """A success whose body is not JSON (a proxy's page after the write went through):
    the reply may be out, so it stays "sending", and the next delivery finds it."""
    world.fake.faults.send_unreadable.add(world.thread_id)
    outcome = _deliver(world)
    assert (outcome.sent, outcome.failed, outcome.pending) == (1, 0, 1)
    assert "not confirmed" in outcome.errors[0] and "non-JSON" in outcome.errors[0]
    with registry.open_stores(world.settings) as stores:
        states = {r.channel_id: r.state for r in stores.replies.for_ticket("DL-1")}
    assert states == {world.thread_id: "sending", world.channel_id: "sent"}
    again = _deliver(world)
    assert (again.found, again.sent, again.failed) == (1, 0, 0)
    assert len(world.fake.posted) == 2  # each conversation answered once
    with registry.open_stores(world.settings) as stores:
        assert {r.state for r in stores.replies.for_ticket("DL-1")} == {"sent"}


def test_missing_permissions_fail_that_reply_and_the_rest_go_out(world: World) -> None:
    world.fake.faults.send_forbidden.add(world.thread_id)
    outcome = _deliver(world)
    assert (outcome.sent, outcome.failed) == (1, 1)
    assert "Missing Permissions (code 50013)" in outcome.errors[0]
    assert "Send Messages in Threads" in outcome.errors[0]
    with registry.open_stores(world.settings) as stores:
        failed = [r for r in stores.replies.for_ticket("DL-1") if r.state == "failed"]
    assert [r.channel_id for r in failed] == [world.thread_id]
    assert _deliver(world).sent == 0  # a refusal is not retried forever


def test_rate_limits_are_waited_out_and_each_reply_goes_once(world: World) -> None:
    world.fake.faults.every_429, world.fake.faults.retry_after = 2, 0.5
    clock = FakeClock()
    replier = registry.build_replier(world.settings, sleep=clock.sleep, clock=clock.time)
    outcome = _deliver(world, replier)
    assert outcome.sent == 2 and len(world.fake.posted) == 2
    assert 0.5 in clock.sleeps
    assert any(r.status == 429 and r.method == "POST" for r in world.fake.requests)


def test_preview_shows_what_would_be_sent_and_writes_nothing(world: World) -> None:
    with registry.open_stores(world.settings) as stores:
        preview = review.reply_preview(world.settings, stores, "ins_cors")
        assert {(r.channel_id, r.reply_to) for r in preview} == {
            (world.thread_id, None), (world.channel_id, world.root_id)}
        assert all(r.state == "queued" and "docs.example/cors" in r.content for r in preview)
        assert stores.replies.for_ticket("DL-1") == []
    assert world.fake.posted == []


def test_set_status_done_replies_from_the_cli(world: World, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    home = tmp_path / "cli-home"
    with registry.open_stores(world.settings.model_copy(update={"home": home})) as stores:
        _remember(stores, world.guild)
        stores.records.set_status("DL-1", "in_progress", NOW, "cli")
    monkeypatch.setenv("DOCLOOP_HOME", str(home))
    monkeypatch.setenv("DOCLOOP_DISCORD_API_BASE", world.fake.base_url)
    monkeypatch.setenv("DOCLOOP_DISCORD_REPLY_ON_DONE", "1")
    refused = CliRunner().invoke(main, ["tickets", "set-status", "DL-1", "done"])
    assert refused.exit_code == 2 and "DISCORD_BOT_TOKEN" in refused.output
    with registry.open_stores(world.settings.model_copy(update={"home": home})) as stores:
        record = stores.records.get("DL-1")
        assert record is not None and record.status == "in_progress"  # nothing changed
    monkeypatch.setenv("DISCORD_BOT_TOKEN", world.fake.token)
    result = CliRunner().invoke(main, ["tickets", "set-status", "DL-1", "done"])
    assert result.exit_code == 0, result.output
    assert "2 sent" in result.stderr and len(world.fake.posted) == 2


def test_sources_check_says_whether_the_bot_can_reply(tmp_path: Path) -> None:
    with FakeDiscord() as fake:
        everyone = int(fake.roles[0]["permissions"])
        fake.roles[0]["permissions"] = str(everyone & ~(1 << 38))  # no Send in Threads
        muted, allowed = fake.add_channel("muted"), fake.add_channel("help")
        replier_role = {**fake.roles[0], "id": fake.snowflake(), "name": "docloop",
                        "permissions": "0"}
        fake.roles.append(replier_role)
        fake.bot_roles.append(replier_role["id"])
        allowed["permission_overwrites"] = [{"id": replier_role["id"], "type": 0,
                                             "allow": str(1 << 38), "deny": "0"}]
        muted["permission_overwrites"] = [{"id": fake.guild_id, "type": 0, "allow": "0",
                                           "deny": str(1 << 11)}]
        thread = fake.add_thread(allowed["id"], "t", starter=(fake.user("A"), "q"))
        settings = Settings(home=tmp_path / "home", discord_api_base=fake.base_url,
                            discord_bot_token=SecretStr(fake.token))
        source = registry.build_source(f"discord-guild:{fake.guild_id}", settings)
        counts = {c.id: c for c in source.check()}
    assert counts[allowed["id"]].reply.startswith("can reply")
    assert counts[thread["id"]].reply.startswith("can reply")  # threads inherit the parent
    assert counts[muted["id"]].reply == ("cannot reply: missing Send Messages, "
                                         "Send Messages in Threads")
