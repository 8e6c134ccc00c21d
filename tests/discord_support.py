"""Helpers shared by the Discord source tests: a fake clock and a consumer loop."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from docloop.backends.sources.base import Batch
from docloop.backends.sources.discord_api import DiscordSource
from docloop.backends.sources.discord_http import DiscordHttp, RetryPolicy
from docloop.config import Settings
from docloop.models import Message
from tests.fake_discord import FakeDiscord


@dataclass
class FakeClock:
    """A monotonic clock whose sleeps are recorded (and advance it unless frozen)."""

    now: float = 1000.0
    frozen: bool = False
    sleeps: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if not self.frozen:
            self.now += seconds


def settings_for(fake: FakeDiscord, home: Path, token: str | None = None) -> Settings:
    return Settings(
        home=home,
        discord_api_base=fake.base_url,
        discord_bot_token=SecretStr(token or fake.token),
    )


def http_for(
    fake: FakeDiscord,
    home: Path,
    clock: FakeClock | None = None,
    policy: RetryPolicy | None = None,
) -> DiscordHttp:
    clock = clock or FakeClock()
    return DiscordHttp(settings_for(fake, home), sleep=clock.sleep, clock=clock.time, policy=policy)


def channel_source(
    fake: FakeDiscord, home: Path, *ids: str, clock: FakeClock | None = None
) -> DiscordSource:
    return DiscordSource(http_for(fake, home, clock), channel_ids=list(ids))


def guild_source(fake: FakeDiscord, home: Path, clock: FakeClock | None = None) -> DiscordSource:
    return DiscordSource(http_for(fake, home, clock), guild_id=fake.guild_id)


@dataclass
class Store:
    """What the ingest stage does with batches: store, then save the watermark."""

    messages: dict[str, Message] = field(default_factory=dict)
    writes: int = 0
    watermarks: dict[str, str] = field(default_factory=dict)

    def consume(self, batches: Iterable[Batch], stop_after: int | None = None) -> None:
        for number, batch in enumerate(batches, start=1):
            for message in batch.messages:
                self.writes += 1
                self.messages[message.id] = message
            if batch.watermark_key and batch.watermark:
                self.watermarks[batch.watermark_key] = batch.watermark
            if stop_after is not None and number >= stop_after:
                raise KeyboardInterrupt("killed mid-run")
