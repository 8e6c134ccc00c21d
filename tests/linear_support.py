"""Test helpers for Linear: a clock that moves only when slept on, and a client wired to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from docloop.backends.trackers.linear_client import LinearClient
from tests.fake_linear import API_KEY, FakeLinear


class FakeTime:
    """A clock that only moves when slept on; records each sleep and how many
    requests the server had seen at that moment."""

    def __init__(self, fake: FakeLinear) -> None:
        self.fake = fake
        self.now = 1_800_000_000.0
        self.sleeps: list[tuple[float, int]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append((round(seconds, 3), len(self.fake.requests)))
        self.now += seconds


@contextmanager
def timed_client(key: str = API_KEY) -> Iterator[tuple[FakeLinear, FakeTime, LinearClient]]:
    """A served fake Linear, its fake time, and a client that sleeps on that time."""
    box: list[FakeTime] = []
    with FakeLinear(clock=lambda: box[0]()) as server:
        clock = FakeTime(server)
        box.append(clock)
        http = httpx.Client(base_url=server.url, timeout=5.0, headers={"Authorization": key})
        yield server, clock, LinearClient(http, sleep=clock.sleep, clock=clock)
