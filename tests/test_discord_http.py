"""The Discord HTTP layer against the fake server: auth, rate limits, retries, errors."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from docloop.backends.sources.discord_http import (
    DiscordForbidden,
    DiscordHttp,
    RetryPolicy,
    route_key,
    token_from,
)
from docloop.config import Settings
from docloop.errors import ConfigError, PermanentError, TransientError
from tests.discord_support import FakeClock, http_for, settings_for
from tests.fake_discord import FakeDiscord


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        server.add_channel("general")
        yield server


def first_channel(fake: FakeDiscord) -> str:
    return next(iter(fake.channels))


def test_sends_bot_token_and_discordbot_user_agent(fake: FakeDiscord, tmp_path: Path) -> None:
    http = http_for(fake, tmp_path)
    assert http.get("/users/@me")["id"] == fake.bot["id"]
    (agent,) = fake.user_agents
    assert re.fullmatch(r"DiscordBot \(https://\S+, \d+\.\d+\.\d+\)", agent)


def test_token_with_pasted_bot_prefix_is_accepted(fake: FakeDiscord, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path, token=f"Bot {fake.token}")
    assert DiscordHttp(settings).get("/users/@me")["username"] == "docloop-bot"


def test_missing_token_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DISCORD_BOT_TOKEN"):
        token_from(Settings(home=tmp_path))


def test_401_stops_at_once_naming_the_token(fake: FakeDiscord, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path, token="wrong")
    with pytest.raises(PermanentError, match="DISCORD_BOT_TOKEN") as caught:
        DiscordHttp(settings).get("/users/@me")
    assert "401" in str(caught.value)
    assert fake.count() == 1


def test_403_names_the_channel_and_permissions(fake: FakeDiscord, tmp_path: Path) -> None:
    channel_id = first_channel(fake)
    fake.faults.forbidden.add(channel_id)
    http = http_for(fake, tmp_path)
    with pytest.raises(DiscordForbidden) as caught:
        http.get(f"/channels/{channel_id}/messages", what=f"channel {channel_id} (#general)")
    message = str(caught.value)
    assert f"channel {channel_id} (#general)" in message
    assert "View Channel" in message and "Read Message History" in message
    assert fake.count() == 1


def test_404_says_to_check_the_id(fake: FakeDiscord, tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="check the id"):
        http_for(fake, tmp_path).get("/channels/123456789/messages", what="channel 123456789")


def test_429_waits_body_retry_after_then_succeeds(fake: FakeDiscord, tmp_path: Path) -> None:
    fake.faults.every_429 = 2  # the second request is rate-limited
    clock = FakeClock()
    http = http_for(fake, tmp_path, clock)
    http.get("/users/@me")
    assert http.get("/users/@me")["id"] == fake.bot["id"]
    assert clock.sleeps == pytest.approx([0.05])  # body retry_after, not the rounded-up header
    assert [r.status for r in fake.requests] == [200, 429, 200]


def test_429_header_only_waits_retry_after_header(fake: FakeDiscord, tmp_path: Path) -> None:
    fake.faults.every_429, fake.faults.header_only, fake.faults.retry_after = 2, True, 3
    clock = FakeClock()
    http = http_for(fake, tmp_path, clock)
    http.get("/users/@me")
    http.get("/users/@me")
    assert clock.sleeps == pytest.approx([3.0])
    assert [r.status for r in fake.requests] == [200, 429, 200]


def test_global_429_blocks_every_route(fake: FakeDiscord, tmp_path: Path) -> None:
    fake.faults.every_429, fake.faults.global_429, fake.faults.retry_after = 1, True, 5
    clock = FakeClock(frozen=True)  # time stands still: the block stays in force
    http = http_for(fake, tmp_path, clock, RetryPolicy(max_rate_limited=1))
    with pytest.raises(TransientError, match="rate-limiting"):
        http.get("/users/@me")
    fake.faults.every_429 = 0
    http.get(f"/channels/{first_channel(fake)}")
    assert clock.sleeps == pytest.approx([5.0, 5.0])


def test_non_global_429_blocks_only_its_bucket(fake: FakeDiscord, tmp_path: Path) -> None:
    fake.faults.every_429, fake.faults.retry_after = 1, 5
    clock = FakeClock(frozen=True)
    http = http_for(fake, tmp_path, clock, RetryPolicy(max_rate_limited=1))
    with pytest.raises(TransientError):
        http.get("/users/@me")
    fake.faults.every_429 = 0
    http.get(f"/channels/{first_channel(fake)}")
    assert clock.sleeps == pytest.approx([5.0])


def test_shared_scope_429_waits_although_remaining_is_not_zero(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    fake.faults.every_429, fake.faults.scope_429, fake.faults.retry_after = 2, "shared", 2
    clock = FakeClock()
    http = http_for(fake, tmp_path, clock)
    http.get("/users/@me")
    http.get("/users/@me")
    assert clock.sleeps == pytest.approx([2.0])


def test_remaining_zero_waits_for_bucket_reset(fake: FakeDiscord, tmp_path: Path) -> None:
    """With a real clock: 2 requests per 0.2 s window, 6 requests, not one 429."""
    fake.faults.bucket_limit, fake.faults.bucket_window_s = 2, 0.2
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    http = DiscordHttp(settings_for(fake, tmp_path), sleep=sleep)
    for _ in range(6):
        http.get(f"/channels/{first_channel(fake)}")
    assert [r.status for r in fake.requests] == [200] * 6
    assert len(waits) >= 2


def test_never_more_than_50_requests_in_a_second(fake: FakeDiscord, tmp_path: Path) -> None:
    clock = FakeClock()  # time only moves when the client sleeps
    http = http_for(fake, tmp_path, clock)
    for _ in range(51):
        http.get("/users/@me")
    assert clock.sleeps == pytest.approx([1.0])
    assert fake.count() == 51


def test_500_is_retried_with_exponential_backoff(fake: FakeDiscord, tmp_path: Path) -> None:
    fake.faults.fail_500 = 2
    clock = FakeClock()
    http = http_for(fake, tmp_path, clock, RetryPolicy(backoff_base_s=0.5))
    assert http.get("/users/@me")["id"] == fake.bot["id"]
    assert clock.sleeps == pytest.approx([0.5, 1.0])
    assert [r.status for r in fake.requests] == [500, 500, 200]


def test_persistent_500_gives_up_after_bounded_attempts(fake: FakeDiscord, tmp_path: Path) -> None:
    fake.faults.fail_500 = 100
    http = http_for(fake, tmp_path, FakeClock(), RetryPolicy(max_attempts=4))
    with pytest.raises(TransientError, match="after 4 attempts"):
        http.get("/users/@me")
    assert fake.count() == 4


def test_timeout_is_retried(fake: FakeDiscord, tmp_path: Path) -> None:
    fake.faults.slow, fake.faults.slow_s = 1, 0.6
    clock = FakeClock()
    http = http_for(fake, tmp_path, clock, RetryPolicy(timeout_s=0.2))
    assert http.get("/users/@me")["id"] == fake.bot["id"]
    assert len(clock.sleeps) == 1


def test_route_key_keeps_only_the_major_id() -> None:
    assert route_key("/channels/123456/messages") == "/channels/123456/messages"
    assert route_key("/channels/123456/messages/987654") == "/channels/123456/messages/{id}"
    assert route_key("/guilds/42424242/threads/active") == "/guilds/42424242/threads/active"
    assert route_key("/users/@me") == "/users/@me"


def test_settings_token_is_never_logged(
    fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.faults.fail_500 = 1
    settings = Settings(home=tmp_path, discord_api_base=fake.base_url,
                        discord_bot_token=SecretStr(fake.token))
    DiscordHttp(settings, sleep=lambda _s: None).get("/users/@me")
    assert fake.token not in caplog.text


def test_api_base_must_be_a_url(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, discord_api_base="discord.com/api/v10",
                        discord_bot_token=SecretStr("t"))
    with pytest.raises(ConfigError, match="DOCLOOP_DISCORD_API_BASE"):
        DiscordHttp(settings)


def test_unreachable_server_is_transient_after_retries(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, discord_api_base="http://127.0.0.1:9/api/v10",
                        discord_bot_token=SecretStr("t"))
    clock = FakeClock()
    http = DiscordHttp(settings, sleep=clock.sleep, clock=clock.time,
                       policy=RetryPolicy(max_attempts=3))
    with pytest.raises(TransientError, match="ConnectError"):
        http.get("/users/@me")
    assert clock.sleeps == pytest.approx([0.5, 1.0])
