"""The Discord fake answers as Discord does, and the client reads every recorded shape.

Requests go over HTTP to the fake and the answers are compared with what Discord
is recorded or documented to send for the same request:

- 429 bodies and headers: the docs' examples in ../shared/fixtures/discord-api
  (`docs-429-{user,shared-resource,global}-rate-limit.http`, SOURCE.md §1);
- rate-limit headers on every answer: `docs-rate-limit-headers-example.txt`;
- message and thread objects: `docs-message-example.json`, `docs-channel-thread-example.json`;
- guild channel objects by type (the guild's channel list): the docs' text, voice and
  category examples and the recorded forum channel;
- error bodies (API-FACTS §1: JSON with `code` and `message`): 401
  `{"message": "401: Unauthorized", "code": 0}` (as a discordgo user's log shows
  Discord's answer, public code index find_string id 26299300352); 403 "Missing
  Access" code 50001 and 404 "Unknown Channel" code 10003 (Discord's JSON error
  code table, discord-api-docs opcodes-and-status-codes, copy at id 4694949723);
  400 "Invalid Form Body" 50035 for a `limit` outside 1–100 or two anchors;
- paging (API-FACTS §1): newest first even with `after`, `limit` default 50.

Then the recorded payloads are served through the fake and read by
`DiscordSource`: a sticker-only message with empty content, a forwarded message
whose text is in `message_snapshots`, a type-19 reply (Discord4J's recordings),
and a 2022 forum channel without the fields added since (discord-payloads). The voice
channel example, not JSON as Discord's docs publish it, answers the guild's name lists:
the names read as unknown and the run goes on.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from docloop.backends.sources.discord_http import DiscordHttp
from docloop.errors import PermanentError, TransientError
from docloop.models import Message
from docloop.registry import build_source
from tests.discord_support import (
    FakeClock,
    channel_source,
    guild_source,
    http_for,
    settings_for,
)
from tests.fake_discord import FakeDiscord

HUMAN = {"id": "80351110224678912", "username": "nelly", "discriminator": "0",
         "global_name": "Nelly", "avatar": None}


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        server.add_channel("general")
        yield server


def get(fake: FakeDiscord, path: str, token: str | None = None, **params: Any) -> httpx.Response:
    return httpx.get(f"{fake.base_url}{path}", params=params, timeout=5.0,
                     headers={"Authorization": f"Bot {token or fake.token}"})


def recorded(shared_dir: Path, name: str) -> Any:
    return json.loads((shared_dir / "fixtures" / "discord-api" / name).read_text("utf-8"))


def recorded_http(shared_dir: Path, name: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers and body of a docs example written as `< HTTP/1.1 …` lines + JSON."""
    text = (shared_dir / "fixtures" / "discord-api" / name).read_text("utf-8")
    head, _, body = text.partition("\n{")
    lines = [line.removeprefix("< ") for line in head.splitlines()]
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return status, headers, json.loads("{" + body)


SCOPES = [("docs-429-user-rate-limit.http", "user", False),
          ("docs-429-shared-resource-rate-limit.http", "shared", False),
          ("docs-429-global-rate-limit.http", "global", True)]


@pytest.mark.parametrize(("name", "scope", "is_global"), SCOPES)
def test_a_429_has_the_documented_body_and_headers(
        fake: FakeDiscord, shared_dir: Path, name: str, scope: str, is_global: bool) -> None:
    status, headers, body = recorded_http(shared_dir, name)
    fake.faults.every_429, fake.faults.global_429 = 1, is_global
    fake.faults.scope_429, fake.faults.retry_after = scope, body["retry_after"]
    response = get(fake, f"/channels/{next(iter(fake.channels))}/messages")
    assert response.status_code == status == 429
    assert response.json() == body
    names = {n.lower() for n in headers}
    assert names <= {n.lower() for n in response.headers}
    rate_headers = {n.lower() for n in response.headers if n.lower().startswith("x-ratelimit")}
    assert rate_headers == {n for n in names if n.startswith("x-ratelimit")}
    assert response.headers["Retry-After"] == headers["Retry-After"]
    assert response.headers["X-RateLimit-Scope"] == headers["X-RateLimit-Scope"]
    if "X-RateLimit-Remaining" in headers:
        assert (response.headers["X-RateLimit-Remaining"] == "0") == (
            headers["X-RateLimit-Remaining"] == "0")


def test_every_answer_carries_the_documented_rate_limit_headers(
        fake: FakeDiscord, shared_dir: Path) -> None:
    text = (shared_dir / "fixtures" / "discord-api" /
            "docs-rate-limit-headers-example.txt").read_text("utf-8")
    documented = dict(line.split(": ", 1) for line in text.splitlines() if line)
    response = get(fake, "/users/@me")
    for name, example in documented.items():
        value = response.headers[name]
        assert re.fullmatch(r"[\d.]+", example) is None or float(value) >= 0, name
    assert float(response.headers["X-RateLimit-Reset"]) > 1_600_000_000  # epoch seconds


def test_messages_and_threads_are_served_with_the_documented_fields(
        fake: FakeDiscord, shared_dir: Path) -> None:
    channel = fake.add_channel("help")
    message = fake.add_message(channel["id"], fake.user("A"), "question?")
    fake.add_thread(channel["id"], "thread", from_message=message)
    (served,) = [m for m in get(fake, f"/channels/{channel['id']}/messages").json()
                 if m["id"] == message["id"]]
    real = recorded(shared_dir, "docs-message-example.json")
    assert set(real) - {"reactions"} <= set(served)
    assert set(real["author"]) <= set(served["author"])
    (thread,) = get(fake, f"/guilds/{fake.guild_id}/threads/active").json()["threads"]
    real_thread = recorded(shared_dir, "docs-channel-thread-example.json")
    assert set(real_thread) <= set(thread)
    assert set(real_thread["thread_metadata"]) <= set(thread["thread_metadata"])


@pytest.mark.parametrize(("path", "token", "status", "body"), [
    ("/users/@me", "wrong", 401, {"message": "401: Unauthorized", "code": 0}),
    ("/channels/1234567890/messages", None, 404, {"message": "Unknown Channel", "code": 10003}),
    ("/guilds/1234567890/channels", None, 404, {"message": "Unknown Guild", "code": 10004}),
])
def test_error_answers_are_json_with_code_and_message(
        fake: FakeDiscord, path: str, token: str | None, status: int,
        body: dict[str, Any]) -> None:
    response = get(fake, path, token)
    assert (response.status_code, response.json()) == (status, body)


def test_a_channel_without_access_is_403_missing_access(fake: FakeDiscord) -> None:
    channel_id = next(iter(fake.channels))
    fake.faults.forbidden.add(channel_id)
    response = get(fake, f"/channels/{channel_id}/messages")
    assert (response.status_code, response.json()) == (
        403, {"message": "Missing Access", "code": 50001})


def test_pages_come_newest_first_even_after_an_id(fake: FakeDiscord) -> None:
    channel_id = next(iter(fake.channels))
    ids = [fake.add_message(channel_id, fake.user("A"), f"m{n}")["id"] for n in range(60)]
    page = get(fake, f"/channels/{channel_id}/messages", after=ids[4], limit=3).json()
    assert [m["id"] for m in page] == [ids[7], ids[6], ids[5]]
    assert len(get(fake, f"/channels/{channel_id}/messages").json()) == 50  # default limit
    for params in ({"limit": 101}, {"limit": 0}, {"after": ids[0], "before": ids[9]}):
        response = get(fake, f"/channels/{channel_id}/messages", **params)
        assert (response.status_code, response.json()["code"]) == (400, 50035)


def read(fake: FakeDiscord, home: Path, channel_id: str) -> dict[str, Message]:
    return {m.id: m for batch in channel_source(fake, home, channel_id).batches(None, {})
            for m in batch.messages}


def test_recorded_sticker_forward_and_reply_are_read_as_discord_sent_them(
        fake: FakeDiscord, shared_dir: Path, tmp_path: Path) -> None:
    """The recorded forward's author is a bot; here a person forwards the same message."""
    channel_id = next(iter(fake.channels))
    sticker = recorded(shared_dir, "d4j-rest-message-sticker-empty-content.json")
    reply = recorded(shared_dir, "d4j-rest-message-reply-type19.json")
    forward = {**recorded(shared_dir, "d4j-rest-message-forward-snapshot.json"), "author": HUMAN}
    fake.messages[channel_id].extend(sorted([sticker, reply, forward], key=lambda m: int(m["id"])))
    got = read(fake, tmp_path, channel_id)
    assert got[sticker["id"]].content == "" and got[sticker["id"]].has_sticker
    assert got[reply["id"]].reply_to == reply["message_reference"]["message_id"]
    assert got[reply["id"]].content == reply["content"]
    assert got[reply["id"]].mentions == [user["id"] for user in reply["mentions"]] != []
    snapshot = forward["message_snapshots"][0]["message"]
    assert got[forward["id"]].forwarded and got[forward["id"]].content == snapshot["content"]
    assert fake.count("/applications/@me") == 0  # a sticker or a snapshot is not a missing intent


def test_a_recorded_2022_forum_channel_is_read_through_its_posts(
        shared_dir: Path, tmp_path: Path) -> None:
    """discord-payloads replaced every snowflake (the forum and its post share an id);
    the post gets its own id and the forum as its parent here."""
    forum = recorded(shared_dir, "dpayloads-gateway-forum-channel-create.json")["d"]
    post = recorded(shared_dir, "dpayloads-gateway-forum-thread-create.json")["d"]
    assert "available_tags" not in forum  # the first shape, without the later fields
    with FakeDiscord(guild_id=forum["guild_id"]) as fake:
        post = {**post, "id": fake.snowflake(), "parent_id": forum["id"]}
        for channel in (forum, post):
            fake.channels[channel["id"]] = channel
            fake.messages[channel["id"]] = []
        question = fake.add_message(post["id"], fake.user("Asker"), "Are otters cute?",
                                    id=post["id"])
        answer = fake.add_message(post["id"], fake.user("Helper"), "very")
        batches = list(guild_source(fake, tmp_path).batches(None, {}))
    messages = {m.id: m for b in batches for m in b.messages}
    assert set(messages) == {question["id"], answer["id"]}
    assert {m.thread_id for m in messages.values()} == {post["id"]}
    assert {m.channel_id for m in messages.values()} == {forum["id"]}


def test_the_client_maps_each_error_answer(fake: FakeDiscord, tmp_path: Path) -> None:
    """401 → the token to fix; 404 → the id to check; 5xx → retried, then a typed error."""
    with pytest.raises(PermanentError, match="DISCORD_BOT_TOKEN"):
        DiscordHttp(settings_for(fake, tmp_path, token="wrong")).get("/users/@me")
    with pytest.raises(PermanentError, match=r"Unknown Channel.*check the id"):
        http_for(fake, tmp_path).get("/channels/1234567890/messages")
    fake.faults.fail_500 = 10
    clock = FakeClock()
    with pytest.raises(TransientError, match="HTTP 500"):
        http_for(fake, tmp_path, clock).get("/users/@me")
    assert clock.sleeps == pytest.approx([0.5, 1.0, 2.0, 4.0])


def post(fake: FakeDiscord, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{fake.base_url}{path}", json=body, timeout=5.0,
                      headers={"Authorization": f"Bot {fake.token}"})


def test_create_message_answers_a_message_and_a_reply_as_recorded(
        fake: FakeDiscord, shared_dir: Path) -> None:
    channel = fake.add_channel("help")
    question = fake.add_message(channel["id"], fake.user("A"), "question?")
    plain = post(fake, f"/channels/{channel['id']}/messages", {"content": "fixed", "nonce": "n1"})
    assert plain.status_code == 200
    created = plain.json()
    real = recorded(shared_dir, "docs-message-example.json")
    assert set(real) - {"reactions"} <= set(created)
    assert created["author"]["id"] == fake.bot["id"] and created["nonce"] == "n1"
    reply = post(fake, f"/channels/{channel['id']}/messages", {
        "content": "see the docs", "message_reference": {"message_id": question["id"]}}).json()
    real_reply = recorded(shared_dir, "d4j-rest-message-reply-type19.json")
    assert set(real_reply) <= set(reply)
    assert set(real_reply["message_reference"]) <= set(reply["message_reference"])
    assert (reply["type"], reply["referenced_message"]["id"]) == (19, question["id"])
    history = get(fake, f"/channels/{channel['id']}/messages").json()
    assert [m["id"] for m in history[:2]] == [reply["id"], created["id"]]
    assert "nonce" not in history[1]  # the nonce is echoed on create only


def test_create_message_errors_are_discords(fake: FakeDiscord) -> None:
    channel = fake.add_channel("help")
    fake.faults.send_forbidden.add(channel["id"])
    refused = post(fake, f"/channels/{channel['id']}/messages", {"content": "x"})
    assert (refused.status_code, refused.json()) == (
        403, {"message": "Missing Permissions", "code": 50013})
    fake.faults.send_forbidden.clear()
    empty = post(fake, f"/channels/{channel['id']}/messages", {"content": ""})
    assert (empty.status_code, empty.json()["code"]) == (400, 50035)
    unknown = post(fake, "/channels/1234567890/messages", {"content": "x"})
    assert (unknown.status_code, unknown.json()) == (
        404, {"message": "Unknown Channel", "code": 10003})
    fake.faults.every_429 = 1
    limited = post(fake, f"/channels/{channel['id']}/messages", {"content": "x"})
    assert limited.status_code == 429 and "retry_after" in limited.json()
    assert limited.headers["Retry-After"]


def test_enforced_nonce_returns_the_first_message(fake: FakeDiscord) -> None:
    channel = fake.add_channel("help")
    body = {"content": "fixed", "nonce": "reply-1", "enforce_nonce": True}
    first = post(fake, f"/channels/{channel['id']}/messages", body).json()
    second = post(fake, f"/channels/{channel['id']}/messages", body).json()
    assert first["id"] == second["id"] and len(fake.posted) == 1
    loose = post(fake, f"/channels/{channel['id']}/messages", {**body, "enforce_nonce": False})
    assert loose.json()["id"] != first["id"]


def test_roles_and_the_bot_member_are_served_for_permission_checks(fake: FakeDiscord) -> None:
    roles = get(fake, f"/guilds/{fake.guild_id}/roles").json()
    assert roles[0]["id"] == fake.guild_id and isinstance(roles[0]["permissions"], str)
    member = get(fake, f"/guilds/{fake.guild_id}/members/{fake.bot['id']}").json()
    assert member["user"]["id"] == fake.bot["id"] and member["roles"] == []
    stranger = get(fake, f"/guilds/{fake.guild_id}/members/1234567890")
    assert (stranger.status_code, stranger.json()["code"]) == (404, 10007)


VOICE_EXAMPLE = "docs-channel-guild-voice-example.INVALID-trailing-comma.json"


def _published(shared_dir: Path, name: str) -> str:
    return (shared_dir / "fixtures" / "discord-api" / name).read_text("utf-8")


def test_guild_channels_carry_the_fields_of_their_type_as_documented(
        fake: FakeDiscord, shared_dir: Path) -> None:
    """The docs' text, voice and category examples and the recorded forum channel: each
    channel type the guild listing answers has their fields, no more (the voice example is
    published with a trailing comma; its fields are read without it)."""
    voice_text = _published(shared_dir, VOICE_EXAMPLE)
    examples = {
        0: recorded(shared_dir, "docs-channel-guild-text-example.json"),
        2: json.loads(re.sub(r",(\s*})\s*$", r"\1", voice_text)),
        4: recorded(shared_dir, "docs-channel-category-example.json"),
        15: recorded(shared_dir, "dpayloads-gateway-forum-channel-create.json")["d"],
    }
    made = {kind: fake.add_channel(f"c{kind}", type_=kind) for kind in examples}
    listed = {c["id"]: c for c in get(fake, f"/guilds/{fake.guild_id}/channels").json()}
    for kind, real in examples.items():
        ours = listed[made[kind]["id"]]
        assert set(ours) == set(real), kind
        assert all(type(ours[key]) is type(value) for key, value in real.items()
                   if value is not None and ours[key] is not None), kind


def test_a_guild_listing_that_is_not_json_leaves_names_unknown_and_the_run_goes_on(
        fake: FakeDiscord, shared_dir: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """The voice-channel example as Discord's docs publish it is not JSON (a trailing
    comma). Answered for the guild's channel and role lists, the names a message uses read
    as unknown, with a warning, and the messages are still read."""
    help_, voice = fake.add_channel("help"), fake.add_channel("Lounge", type_=2)
    fake.faults.guild_lists_body = _published(shared_dir, VOICE_EXAMPLE).encode()
    fake.add_message(help_["id"], fake.user("Asker"), f"join <#{voice['id']}>, <@&42>?")
    source = build_source(f"discord:{help_['id']}", settings_for(fake, tmp_path))
    with caplog.at_level(logging.WARNING):
        messages = [m for b in source.batches(None, {}) for m in b.messages]
    assert [m.content for m in messages] == ["join #unknown-channel, @unknown-role?"]
    assert "non-JSON" in caplog.text
