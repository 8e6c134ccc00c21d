"""Ingest 20,000 messages (10 channels, 50 threads) from the fake Discord server.

Run: PYTHONPATH=src python benchmarks/discord_bench.py

Two runs over the same history in one process: a baseline without faults, and
one where every 40th request is answered 429 (`retry_after` 0.05 s, a short
real wait so the run stays quick; real Discord asks for longer). Each run goes
through the real ingest stage (redaction, message store, watermarks,
conversations) into a fresh database; rows stored and rows the store reports
written are both checked against 20,000, so "exactly once" is measured. The request minimum is
messages / 100 pages plus the listing calls (guild channels, active threads,
archived public + private per channel).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fakes live in the tests package

from pydantic import SecretStr  # noqa: E402

from docloop import db  # noqa: E402
from docloop.config import Settings  # noqa: E402
from docloop.registry import sqlite_stores  # noqa: E402
from docloop.stages.ingest import ingest  # noqa: E402
from docloop.storage.messages import MessageStore  # noqa: E402
from tests.fake_discord import FakeDiscord  # noqa: E402

MESSAGES, CHANNELS, THREADS = 20_000, 10, 50
RESULTS = ROOT / "benchmarks" / "results" / "discord.md"
COMMAND = "PYTHONPATH=src python benchmarks/discord_bench.py"


@dataclass
class RunResult:
    name: str
    requests: int
    rate_limited: int
    seconds: float
    stored: int
    inserts: int


def build_history(fake: FakeDiscord) -> None:
    """10 text channels, 5 threads each (2 active, 3 archived), 20,000 user messages."""
    rng = random.Random(7)
    users = [fake.user(f"User {n}") for n in range(40)]
    channels = [fake.add_channel(f"channel-{n}") for n in range(CHANNELS)]
    streams: list[str] = []
    for channel in channels:
        streams.append(channel["id"])
        for n in range(THREADS // CHANNELS):
            root = fake.add_message(channel["id"], rng.choice(users), f"question {n}?")
            thread = fake.add_thread(channel["id"], f"q{n}", from_message=root, archived=n >= 2)
            streams.append(thread["id"])
    remaining = MESSAGES - THREADS  # the thread roots are already there
    weights = [rng.uniform(1, 3) if s in fake.channels and fake.channels[s]["type"] == 0
               else rng.uniform(0.2, 0.6) for s in streams]
    for stream, share in zip(streams, _split(remaining, weights), strict=True):
        for n in range(share):
            fake.add_message(stream, rng.choice(users), f"message {n} in {stream}")


def _split(total: int, weights: list[float]) -> list[int]:
    shares = [int(total * w / sum(weights)) for w in weights]
    shares[0] += total - sum(shares)
    return shares


def run_ingest(fake: FakeDiscord, name: str) -> RunResult:
    """One full guild ingest through the real ingest stage into a fresh database."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), sources=[f"discord-guild:{fake.guild_id}"],
                            discord_api_base=fake.base_url,
                            discord_bot_token=SecretStr(fake.token))
        conn = db.connect(settings.db_path)
        before = len(fake.requests)
        started = time.perf_counter()
        result = ingest(settings, sqlite_stores(conn), None)
        seconds = time.perf_counter() - started
        stored = MessageStore(conn).count()
        conn.close()
    served = fake.requests[before:]
    return RunResult(name, len(served), sum(r.status == 429 for r in served), seconds, stored,
                     result.stored)


def best_of(fake: FakeDiscord, name: str, repeats: int = 3) -> RunResult:
    """The median-time run of `repeats` (the timings of a ~1 s run are noisy)."""
    runs = sorted((run_ingest(fake, name) for _ in range(repeats)), key=lambda r: r.seconds)
    return runs[len(runs) // 2]


def minimum_requests(fake: FakeDiscord) -> tuple[int, int, int]:
    """(messages/100, listing calls, per-stream minimum) for this history.

    The per-stream minimum is what forward paging must cost: every stream ends
    with a short (or empty) page, so a stream of n messages takes n//100 + 1.
    """
    listings = 2 + 2 * CHANNELS  # guild channels, active threads; archived public+private each
    per_stream = sum(len(page) // 100 + 1 for page in fake.messages.values() if page)
    return MESSAGES // 100, listings, per_stream + listings


def render(results: list[RunResult], pages: int, listings: int, tight: int) -> str:
    minimum = pages + listings
    lines = [
        "## Discord REST ingestion (fake server on 127.0.0.1)",
        "",
        f"Command: `{COMMAND}`",
        "",
        f"{MESSAGES:,} user messages in {CHANNELS} text channels and {THREADS} threads "
        f"(20 active, 30 archived). Minimum requests = {MESSAGES:,}/100 pages + {listings} "
        f"listing calls = {minimum}.",
        "",
        "| run | requests | 429s served | requests / minimum | seconds (median of 3) | rows | "
        "rows written |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(f"| {r.name} | {r.requests} | {r.rate_limited} | "
                     f"{r.requests / minimum:.2f} | {r.seconds:.2f} | {r.stored:,} | "
                     f"{r.inserts:,} |")
    base, faulty = results
    lines += ["", _interpretation(base, faulty, minimum, tight)]
    return "\n".join(lines) + "\n"


def _interpretation(base: RunResult, faulty: RunResult, minimum: int, tight: int) -> str:
    once = all(r.stored == r.inserts == MESSAGES for r in (base, faulty))
    return (
        f"Every message stored exactly once: {'yes' if once else 'NO'}. Without faults the "
        f"client makes {base.requests - minimum} requests above the minimum: each of the 60 "
        "streams is read in ceil(n/100) pages (plus one empty page when n is a multiple of "
        f"100), which messages/100 does not count; against that per-stream minimum ({tight}) "
        f"the baseline ratio is {base.requests / tight:.2f}. With a 429 every 40 requests "
        f"({faulty.rate_limited} served, real `retry_after` 0.05 s) the client repeats only "
        f"those requests ({faulty.requests - base.requests} extra) and takes "
        f"{faulty.seconds / base.seconds:.2f}× the baseline time. Both runs are paced by "
        "the client's cap of 50 requests per second (Discord's global limit), which is why "
        "~250 requests take ~5 s even against a local server; the short 429 waits mostly fall "
        "inside that pacing, so they barely change the total."
    )


def main() -> None:
    with FakeDiscord() as fake:
        build_history(fake)
        assert sum(1 for m in _user_messages(fake)) == MESSAGES
        baseline = best_of(fake, "baseline (no faults)")
        fake.faults.every_429, fake.faults.retry_after = 40, 0.05
        faulty = best_of(fake, "429 every 40 requests")
        pages, listings, tight = minimum_requests(fake)
    table = render([baseline, faulty], pages, listings, tight)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table, encoding="utf-8")
    print(table)


def _user_messages(fake: FakeDiscord) -> list[dict]:
    return [m for page in fake.messages.values() for m in page if m["type"] in (0, 19)]


if __name__ == "__main__":
    main()
