"""DiscordSource against the fake server: paging, watermarks, threads, mapping, errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from docloop.backends.sources import discord_threads
from docloop.backends.sources.discord_api import DiscordSource, watermark_key
from docloop.backends.sources.discord_http import DiscordForbidden, DiscordNotFound
from docloop.backends.sources.discord_map import snowflake_from
from docloop.config import Settings
from docloop.errors import ConfigError, PermanentError, TransientError
from docloop.registry import build_source
from docloop.stages.conversations import build_conversations
from tests.discord_support import FakeClock, Store, channel_source, guild_source, settings_for
from tests.fake_discord import FakeDiscord


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        yield server


def fill(fake: FakeDiscord, channel_id: str, count: int, prefix: str = "m") -> list[dict]:
    users = [fake.user(f"User {n}") for n in range(3)]
    return [
        fake.add_message(channel_id, users[n % 3], f"{prefix} {n}") for n in range(count)
    ]


def message_requests(fake: FakeDiscord) -> list[dict[str, str]]:
    return [r.params for r in fake.requests if r.path.endswith("/messages")]


@pytest.mark.parametrize("count", [0, 1, 100, 101, 250])
def test_paging_boundaries(fake: FakeDiscord, tmp_path: Path, count: int) -> None:
    channel = fake.add_channel("help")
    sent = fill(fake, channel["id"], count)
    batches = list(channel_source(fake, tmp_path, channel["id"]).batches(None, {}))
    got = [m.id for b in batches for m in b.messages]
    assert got == [m["id"] for m in sent]  # every message once, oldest first
    assert [len(b.messages) for b in batches] == [
        min(100, count - start) for start in range(0, count, 100)
    ]
    assert len(message_requests(fake)) == count // 100 + 1  # a short page ends the run
    assert all(p["limit"] == "100" for p in message_requests(fake))


def test_pages_follow_after_and_watermark_is_newest_id(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    sent = fill(fake, channel["id"], 150)
    batches = list(channel_source(fake, tmp_path, channel["id"]).batches(None, {}))
    assert [p["after"] for p in message_requests(fake)] == ["0", sent[99]["id"]]
    assert [b.watermark for b in batches] == [sent[99]["id"], sent[149]["id"]]
    assert {b.watermark_key for b in batches} == {watermark_key(channel["id"])}
    for batch in batches:
        stamps = [m.timestamp for m in batch.messages]
        assert stamps == sorted(stamps)


def test_since_becomes_a_snowflake_and_watermark_wins(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    sent = fill(fake, channel["id"], 10)
    since = datetime.fromisoformat(sent[4]["timestamp"])
    source = channel_source(fake, tmp_path, channel["id"])
    got = [m.id for b in source.batches(since, {}) for m in b.messages]
    assert got == [m["id"] for m in sent[4:]]
    assert message_requests(fake)[-1]["after"] == snowflake_from(since)
    marks = {watermark_key(channel["id"]): sent[7]["id"]}
    got = [m.id for b in source.batches(since, marks) for m in b.messages]
    assert got == [m["id"] for m in sent[8:]]


def test_snowflake_from_matches_discord_epoch() -> None:
    assert snowflake_from(datetime(2015, 1, 1, tzinfo=UTC)) == "0"
    assert snowflake_from(datetime(2014, 1, 1, tzinfo=UTC)) == "0"
    moment = datetime(2026, 1, 5, 9, 1, tzinfo=UTC)
    assert (int(snowflake_from(moment)) >> 22) + 1_420_070_400_000 == moment.timestamp() * 1000


def test_kill_mid_run_and_restart_stores_each_message_once(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    channels = [fake.add_channel(f"c{n}") for n in range(2)]
    for channel in channels:
        fill(fake, channel["id"], 230)
    ids = [c["id"] for c in channels]
    store = Store()
    with pytest.raises(KeyboardInterrupt):
        store.consume(channel_source(fake, tmp_path, *ids).batches(None, {}), stop_after=4)
    assert 0 < len(store.messages) < 460
    store.consume(channel_source(fake, tmp_path, *ids).batches(None, dict(store.watermarks)))
    assert len(store.messages) == 460 and store.writes == 460


def test_up_to_date_channel_costs_no_message_request(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    sent = fill(fake, channel["id"], 5)
    marks = {watermark_key(channel["id"]): sent[-1]["id"]}
    assert list(channel_source(fake, tmp_path, channel["id"]).batches(None, marks)) == []
    assert message_requests(fake) == []


def test_threads_active_archived_and_deduplicated(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord_threads, "ARCHIVE_PAGE", 2)
    channel = fake.add_channel("help")
    root = fake.add_message(channel["id"], fake.user("Asker"), "how do I deploy?")
    active = fake.add_thread(channel["id"], "deploy", from_message=root)
    archived = [fake.add_thread(channel["id"], f"old {n}", archived=True) for n in range(5)]
    for thread in [active, *archived]:
        fill(fake, thread["id"], 2, prefix=thread["name"])
    stale = archived[0]  # archived between the two listings: active *and* archived
    listed = fake._active_threads

    def with_stale(guild_id: str) -> tuple:
        status, body = listed(guild_id)
        return status, {**body, "threads": [*body["threads"], stale]}

    monkeypatch.setattr(fake, "_active_threads", with_stale)
    by_thread = read_by_thread(fake, tmp_path, channel["id"])
    assert set(by_thread) == {None, active["id"], *(t["id"] for t in archived)}
    assert len(by_thread[stale["id"]]) == 2  # read once
    befores = [r.params.get("before") for r in fake.requests if "archived/public" in r.path]
    assert befores[0] is None and all(datetime.fromisoformat(b) for b in befores[1:])
    assert len(befores) == 3  # 5 archived threads, 2 per page


def read_by_thread(fake: FakeDiscord, home: Path, *ids: str) -> dict[str | None, list]:
    grouped: dict[str | None, list] = {}
    for batch in channel_source(fake, home, *ids).batches(None, {}):
        for message in batch.messages:
            grouped.setdefault(message.thread_id, []).append(message)
    return grouped


def test_thread_started_from_message_owns_its_starter(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    asker, helper = fake.user("Asker"), fake.user("Helper")
    root = fake.add_message(channel["id"], asker, "why does login fail?")
    thread = fake.add_thread(channel["id"], "login fails", from_message=root)
    fake.add_message(thread["id"], helper, "check the token")
    bare = fake.add_thread(channel["id"], "no starter")  # posts a type-18 notice
    fake.add_message(bare["id"], asker, "anyone?")
    batches = list(channel_source(fake, tmp_path, channel["id"]).batches(None, {}))
    messages = [m for b in batches for m in b.messages]
    starter = next(m for m in messages if m.id == root["id"])
    assert starter.thread_id is None  # posted in the parent, as in an export
    reply = next(m for m in messages if m.content == "check the token")
    assert (reply.thread_id, reply.thread_name) == (thread["id"], "login fails")
    assert (reply.channel_id, reply.channel_name) == (channel["id"], "help")
    by_id = {c.id: c for c in build_conversations(messages)}
    assert [m.content for m in by_id[thread["id"]].messages] == [
        "why does login fail?", "check the token"]
    assert by_id[thread["id"]].thread_name == "login fails"
    assert sum(b.skipped.get("system", 0) for b in batches) == 2  # type 21 and type 18


def test_private_archived_threads_read_or_skipped_with_warning(
    fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    channel = fake.add_channel("staff")
    private = fake.add_thread(channel["id"], "secret", private=True, archived=True)
    public = fake.add_thread(channel["id"], "open", archived=True)
    fill(fake, private["id"], 1)
    fill(fake, public["id"], 1)
    assert set(read_by_thread(fake, tmp_path, channel["id"])) == {private["id"], public["id"]}
    fake.faults.private_forbidden = True
    with caplog.at_level(logging.WARNING):
        assert set(read_by_thread(fake, tmp_path, channel["id"])) == {public["id"]}
    assert "Manage Threads" in caplog.text


def test_forum_posts_are_threads_with_their_starter(fake: FakeDiscord, tmp_path: Path) -> None:
    forum = fake.add_channel("questions", type_=15)
    asker, helper = fake.user("Asker"), fake.user("Helper")
    post = fake.add_thread(forum["id"], "Webhook 401", starter=(asker, "my webhook gets 401"))
    fake.add_message(post["id"], helper, "rotate the secret")
    old = fake.add_thread(forum["id"], "Old", starter=(asker, "old q"), archived=True)
    grouped = read_by_thread(fake, tmp_path, forum["id"])
    assert set(grouped) == {post["id"], old["id"]}
    first = grouped[post["id"]][0]
    assert (first.id, first.content, first.channel_id) == (post["id"], "my webhook gets 401",
                                                           forum["id"])
    assert not any(r.path == f"/channels/{forum['id']}/messages" for r in fake.requests)


def test_replies_forwards_and_crossposts(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    asker, helper = fake.user("Asker"), fake.user("Helper")
    question = fake.add_message(channel["id"], asker, "question?")
    answer = fake.reply(question, helper, "answer")
    forward = fake.add_message(
        channel["id"], helper, "", flags=16384,
        message_reference={"type": 1, "channel_id": "1", "message_id": "2", "guild_id": "3"},
        message_snapshots=[{"message": {"type": 0, "content": "forwarded text",
                                        "attachments": [], "embeds": [],
                                        "timestamp": question["timestamp"]}}],
    )
    crosspost = fake.add_message(
        channel["id"], asker, "news", flags=2,
        message_reference={"channel_id": "9", "guild_id": "8", "message_id": "7"},
    )
    got = {m.id: m for b in channel_source(fake, tmp_path, channel["id"]).batches(None, {})
           for m in b.messages}
    assert got[answer["id"]].reply_to == question["id"]
    assert (got[forward["id"]].content, got[forward["id"]].forwarded) == ("forwarded text", True)
    assert got[crosspost["id"]].reply_to is None
    assert got[question["id"]].forwarded is False


def test_bots_webhooks_and_system_messages_are_dropped(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    person = fake.user("Person")
    kept = fake.add_message(channel["id"], person, "hello")
    fake.add_message(channel["id"], fake.user("Helper Bot", bot=True), "beep")
    fake.add_message(channel["id"], fake.user("Hook"), "deploy ok", webhook_id="555")
    fake.add_message(channel["id"], person, "", type=7)  # member join
    fake.add_message(channel["id"], person, "", type=6)  # pin notice
    (batch,) = channel_source(fake, tmp_path, channel["id"]).batches(None, {})
    assert [m.id for m in batch.messages] == [kept["id"]]
    assert batch.skipped == {"bot": 1, "webhook": 1, "system": 2}
    assert batch.watermark == fake.messages[channel["id"]][-1]["id"]  # dropped ones not reread


def test_attachments_counted_never_stored(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    url = "https://cdn.discordapp.com/attachments/1/2/log.txt?ex=65&is=64&hm=abc"
    attachment = {"id": "1", "filename": "log.txt", "size": 10, "url": url, "proxy_url": url}
    fake.add_message(channel["id"], fake.user("A"), "see log", attachments=[attachment] * 2)
    (batch,) = channel_source(fake, tmp_path, channel["id"]).batches(None, {})
    assert batch.messages[0].attachments == 2
    assert "cdn.discordapp.com" not in batch.messages[0].model_dump_json()


def test_missing_message_content_intent_stops_with_fix(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    fill(fake, channel["id"], 3)
    fake.faults.intentless, fake.faults.app_flags = True, 0
    with pytest.raises(PermanentError, match="Message Content Intent") as caught:
        list(channel_source(fake, tmp_path, channel["id"]).batches(None, {}))
    assert "discord.com/developers" in str(caught.value)
    assert fake.count("/applications/@me") == 1


def test_empty_messages_with_intent_enabled_are_kept(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    fill(fake, channel["id"], 3)
    fake.faults.intentless, fake.faults.app_flags = True, 1 << 19  # limited flag also counts
    (batch,) = channel_source(fake, tmp_path, channel["id"]).batches(None, {})
    assert len(batch.messages) == 3


def test_guild_reads_text_announcement_and_forum_channels(
    fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text, news = fake.add_channel("help"), fake.add_channel("news", type_=5)
    forum, voice = fake.add_channel("forum", type_=15), fake.add_channel("voice", type_=2)
    hidden = fake.add_channel("mods")
    for channel in (text, news, hidden):
        fill(fake, channel["id"], 2)
    fake.add_thread(forum["id"], "post", starter=(fake.user("A"), "q"))
    fake.faults.forbidden.add(hidden["id"])
    with caplog.at_level(logging.WARNING):
        batches = list(guild_source(fake, tmp_path).batches(None, {}))
    channels = {m.channel_id for b in batches for m in b.messages}
    assert channels == {text["id"], news["id"], forum["id"]}
    assert voice["id"] not in str(fake.requests)
    assert hidden["id"] in caplog.text and "Read Message History" in caplog.text


def test_explicit_forbidden_channel_raises(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("mods")
    fake.faults.forbidden.add(channel["id"])
    with pytest.raises(DiscordForbidden, match=channel["id"]):
        list(channel_source(fake, tmp_path, channel["id"]).batches(None, {}))


def test_a_thread_id_can_be_read_on_its_own(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    thread = fake.add_thread(channel["id"], "solo", starter=(fake.user("A"), "hi"))
    fill(fake, thread["id"], 2)
    grouped = read_by_thread(fake, tmp_path, thread["id"])
    assert list(grouped) == [thread["id"]]
    assert {m.channel_name for m in grouped[thread["id"]]} == {"help"}


def test_check_lists_channels_and_threads(fake: FakeDiscord, tmp_path: Path) -> None:
    text, forum = fake.add_channel("help"), fake.add_channel("forum", type_=15)
    hidden = fake.add_channel("mods")
    fake.faults.forbidden.add(hidden["id"])
    post = fake.add_thread(forum["id"], "post", starter=(fake.user("A"), "q"))
    fill(fake, post["id"], 2)
    fill(fake, text["id"], 2)
    counts = {c.id: c for c in guild_source(fake, tmp_path).check()}
    assert set(counts) == {text["id"], forum["id"], hidden["id"], post["id"]}
    assert (counts[post["id"]].kind, counts[post["id"]].messages) == ("thread", 3)
    assert counts[post["id"]].parent_id == forum["id"]
    assert counts[forum["id"]].kind == "forum"
    assert counts[hidden["id"]].note.startswith("not readable")
    assert fake.count("/messages") == 0  # check stores and reads no messages


def test_check_with_bad_token_says_so(fake: FakeDiscord, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path, token="nope")
    source = build_source(f"discord-guild:{fake.guild_id}", settings)
    with pytest.raises(PermanentError, match="DISCORD_BOT_TOKEN"):
        source.check()


def test_build_source_builds_a_working_source(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    fill(fake, channel["id"], 3)
    source = build_source(f"discord:{channel['id']}", settings_for(fake, tmp_path))
    assert isinstance(source, DiscordSource)
    assert sum(len(b.messages) for b in source.batches(None, {})) == 3


@pytest.mark.parametrize("spec", ["discord:abc", "discord:,", "discord-guild:1,2"])
def test_bad_specs_are_config_errors(spec: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, discord_bot_token="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="numeric Discord ids"):
        build_source(spec, settings)


def test_missing_token_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DISCORD_BOT_TOKEN"):
        build_source("discord:123456", Settings(home=tmp_path))


def test_rate_limited_run_still_reads_everything_once(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    thread = fake.add_thread(channel["id"], "t", starter=(fake.user("A"), "q"))
    fill(fake, channel["id"], 320)
    fill(fake, thread["id"], 120)
    fake.faults.every_429, fake.faults.fail_500 = 3, 1
    clock = FakeClock()
    store = Store()
    store.consume(channel_source(fake, tmp_path, channel["id"], clock=clock).batches(None, {}))
    assert len(store.messages) == store.writes == 441
    assert clock.sleeps  # it waited on the 429s and the 500


def test_check_reports_an_unreadable_named_channel(fake: FakeDiscord, tmp_path: Path) -> None:
    readable, hidden = fake.add_channel("help"), fake.add_channel("mods")
    fake.faults.forbidden.add(hidden["id"])
    counts = {c.id: c for c in channel_source(fake, tmp_path, readable["id"], hidden["id"]).check()}
    assert counts[readable["id"]].note == ""
    assert "View Channel" in counts[hidden["id"]].note


def test_guild_the_bot_is_not_in_says_to_invite_it(fake: FakeDiscord, tmp_path: Path) -> None:
    source = DiscordSource(guild_source(fake, tmp_path).http, guild_id="424242424242")
    with pytest.raises(PermanentError, match="check the id and that the bot was invited"):
        list(source.batches(None, {}))


def _channel_with_thread(fake: FakeDiscord, name: str) -> tuple[dict, dict]:
    """#help with two messages and a forum-style thread `name` started by "q"."""
    channel = fake.add_channel("help")
    fill(fake, channel["id"], 2)
    return channel, fake.add_thread(channel["id"], name, starter=(fake.user("A"), "q"))


def test_guild_mode_skips_a_thread_it_cannot_read(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel, thread = _channel_with_thread(fake, "locked")
    original = fake._channel_route

    def deny_thread(channel_id: str, rest: list[str], params: dict) -> tuple:
        if channel_id == thread["id"]:
            return 403, {"message": "Missing Access", "code": 50001}
        return original(channel_id, rest, params)

    monkeypatch.setattr(fake, "_channel_route", deny_thread)
    got = [m for b in guild_source(fake, tmp_path).batches(None, {}) for m in b.messages]
    assert len(got) == 2 and all(m.thread_id is None for m in got)
    with pytest.raises(DiscordForbidden, match=thread["id"]):
        list(channel_source(fake, tmp_path, channel["id"]).batches(None, {}))


def test_guild_mode_skips_a_thread_deleted_after_it_was_listed(
    fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord answers 404 Unknown Channel (10003) for a thread deleted mid-run."""
    channel, doomed = _channel_with_thread(fake, "doomed")
    kept = fake.add_thread(channel["id"], "kept", starter=(fake.user("B"), "still here"))
    got: list[str] = []
    with caplog.at_level(logging.WARNING):
        for batch in guild_source(fake, tmp_path).batches(None, {}):
            got += [m.content for m in batch.messages]
            fake.channels.pop(doomed["id"], None)  # deleted once the listing is done
    assert got == ["m 0", "m 1", "still here"] and kept["id"] != doomed["id"]
    assert f"skipping thread {doomed['id']}" in caplog.text and "10003" in caplog.text
    fake.channels[doomed["id"]] = doomed
    source = channel_source(fake, tmp_path, channel["id"])
    batches = source.batches(None, {})
    next(batches)
    fake.channels.pop(doomed["id"])
    with pytest.raises(DiscordNotFound, match="Unknown Channel"):
        list(batches)  # a named channel's threads must all be readable


def test_thread_started_after_its_root_was_stored_joins_it(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    channel = fake.add_channel("help")
    root = fake.add_message(channel["id"], fake.user("Asker"), "is v2 out?")
    store = Store()
    store.consume(channel_source(fake, tmp_path, channel["id"]).batches(None, {}))
    thread = fake.add_thread(channel["id"], "v2", from_message=root)
    fake.add_message(thread["id"], fake.user("Helper"), "next week")
    store.consume(channel_source(fake, tmp_path, channel["id"]).batches(None, store.watermarks))
    assert len(store.messages) == store.writes == 2
    (conversation,) = build_conversations(store.messages.values())
    assert (conversation.id, conversation.thread_name) == (thread["id"], "v2")
    assert [m.content for m in conversation.messages] == ["is v2 out?", "next week"]


def test_starter_is_read_once_when_the_parent_is_read_too(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    channel = fake.add_channel("help")
    root = fake.add_message(channel["id"], fake.user("Asker"), "q")
    fake.add_thread(channel["id"], "t", from_message=root)
    ids = [m.id for b in channel_source(fake, tmp_path, channel["id"]).batches(None, {})
           for m in b.messages]
    assert ids == [root["id"]]


def test_a_thread_read_alone_includes_its_starter(fake: FakeDiscord, tmp_path: Path) -> None:
    channel = fake.add_channel("help")
    root = fake.add_message(channel["id"], fake.user("Asker"), "why?")
    thread = fake.add_thread(channel["id"], "why", from_message=root)
    fake.add_message(thread["id"], fake.user("Helper"), "because")
    messages = [m for b in channel_source(fake, tmp_path, thread["id"]).batches(None, {})
                for m in b.messages]
    assert [(m.content, m.channel_id) for m in messages] == [("why?", channel["id"]),
                                                             ("because", channel["id"])]
    (conversation,) = build_conversations(messages)
    assert conversation.id == thread["id"] and len(conversation.messages) == 2


def test_server_failure_mid_run_then_restart_loses_nothing(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    channel = fake.add_channel("help")
    fill(fake, channel["id"], 350)
    store = Store()
    batches = channel_source(fake, tmp_path, channel["id"]).batches(None, {})
    store.consume([next(batches), next(batches)])
    fake.faults.fail_500 = 100  # Discord goes down for good
    with pytest.raises(TransientError):
        store.consume(batches)
    assert len(store.messages) == 200
    fake.faults.fail_500 = 0
    store.consume(channel_source(fake, tmp_path, channel["id"]).batches(None, store.watermarks))
    assert len(store.messages) == store.writes == 350


def test_announcement_and_media_channels(fake: FakeDiscord, tmp_path: Path) -> None:
    news, media = fake.add_channel("news", type_=5), fake.add_channel("gallery", type_=16)
    post = fake.add_message(news["id"], fake.user("Staff"), "v2 released")
    thread = fake.add_thread(news["id"], "v2 feedback", from_message=post)
    fake.add_message(thread["id"], fake.user("User"), "upgrade broke my build")
    shot = fake.add_thread(media["id"], "screenshot", starter=(fake.user("A"), "is this a bug?"))
    assert thread["type"] == 10
    messages = [m for b in guild_source(fake, tmp_path).batches(None, {}) for m in b.messages]
    grouped = {c.id: [m.content for m in c.messages] for c in build_conversations(messages)}
    assert grouped == {thread["id"]: ["v2 released", "upgrade broke my build"],
                       shot["id"]: ["is this a bug?"]}
