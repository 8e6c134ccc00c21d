"""The review desk's insight list with 10,000 insights and 100,000 status changes stored.

Seeds a temporary DOCLOOP_HOME through the stores, as runs leave it
(tests/desk_support.py): 10,000 insight identities with snapshots, members
and quoted messages, one recorded run holding them all, and 5,000 filed
tickets that move through 20 status changes each (100,000 history rows).
Then times GET / (the first page of the list by score), a filtered list, a
deep page and one insight's page: in-process (starlette's TestClient, no
network) and over loopback against `docloop serve` (uvicorn, httpx from
another process), median and p95 over N sequential requests each. The
baseline, measured in the same run, is the desk's static stylesheet: a
request through the same guard (headers, CSRF cookie) that reads nothing.

The list is paginated (50 a page): a person reads the top of a ranked list
and filters, not 10,000 rows; the page reads the per-insight summary table
through its score index, and status, trend and weekly counts only for the
rows shown.

Usage: PYTHONPATH=src python benchmarks/dashboard_bench.py [--insights N]
       [--changes-per-ticket N] [--requests N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from docloop import db, registry  # noqa: E402
from docloop.config import Settings  # noqa: E402
from tests.browser.conftest import free_port  # noqa: E402
from tests.desk_support import file_ticket, insight, record_run  # noqa: E402

RESULTS = HERE / "results" / "dashboard.md"
NOW = datetime.now(UTC).replace(microsecond=0)
CHANNELS = ["help", "sdk-python", "sdk-node", "api-questions", "general", "cli", "deploy",
            "webhooks", "billing", "self-hosting", "integrations", "showcase"]
CYCLE = ["in_progress", "done", "regressed", "open"]
TARGET_MS = 200.0


def seed(settings: Settings, insights: int, changes_per_ticket: int) -> tuple[int, int]:
    """Insights, one run and tickets with their histories; (tickets, status changes)."""
    rng = random.Random(7)
    verdicts = ["covered", "partial", "missing"]
    items = [insight(n, NOW, score=round(rng.uniform(0.5, 40), 3),
                     conversations=rng.randint(2, 8), verdict=rng.choice(verdicts),
                     doc_path=f"guide/page-{rng.randrange(200)}.md",
                     channels=rng.sample(CHANNELS, rng.randint(1, 3)))
             for n in range(insights)]
    with closing(db.connect(settings.db_path)) as conn:
        record_run(settings, conn, items, "bench-run", NOW - timedelta(hours=1))
        records = registry.sqlite_stores(conn).records
        changes = 0
        with records.atomic():
            for number, item in enumerate(items[::2]):
                filed = NOW - timedelta(days=60, minutes=number)
                steps = [(CYCLE[k % len(CYCLE)], filed + timedelta(hours=k + 1), "linear-webhook")
                         for k in range(changes_per_ticket)]
                file_ticket(settings, conn, item, filed, steps)
                changes += len(steps)
        return len(items[::2]), changes


def timed(get: Callable[[str], httpx.Response], path: str, requests: int) -> tuple[float, float]:
    """(median, p95) milliseconds of `requests` sequential GETs (after one warm-up)."""
    assert get(path).status_code == 200, path
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


def in_process(settings: Settings, paths: list[str],
               requests: int) -> dict[str, tuple[float, float]]:
    from starlette.testclient import TestClient

    from docloop.web.app import create_app

    client = TestClient(create_app(settings))
    return {path: timed(client.get, path, requests) for path in paths}


def uncached_reads(settings: Settings, requests: int) -> tuple[float, float]:
    """(median, p95) ms of the list's reads with the status counts not cached: what the
    first view after a change (a run, a decision, a webhook) costs, before rendering."""
    from docloop.web.dashboard.queries import CountsCache, Desk, Filters

    samples = []
    with closing(db.connect(settings.db_path)) as conn:
        for _ in range(requests):
            started = time.perf_counter()
            desk = Desk(settings, registry.sqlite_stores(conn), CountsCache())
            desk.insight_list(Filters(), NOW)
            desk.new_insights_per_week(12, NOW)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


def over_loopback(settings: Settings, paths: list[str],
                  requests: int) -> dict[str, tuple[float, float]]:
    port = free_port()
    env = {"DOCLOOP_HOME": str(settings.home), "LINEAR_WEBHOOK_SECRET": "bench-secret-000000",
           "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen([sys.executable, "-m", "docloop.cli", "serve", "--port", str(port)],
                              env=env | {"PYTHONPATH": str(HERE.parent / "src")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/static/desk.css")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            return {path: timed(client.get, path, requests) for path in paths}
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--insights", type=int, default=10_000)
    parser.add_argument("--changes-per-ticket", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home")
        started = time.perf_counter()
        tickets, changes = seed(settings, args.insights, args.changes_per_ticket)
        seeding = time.perf_counter() - started
        print(f"seeded {args.insights} insights, {tickets} tickets, {changes} status changes "
              f"in {seeding:.0f} s", file=sys.stderr)
        paths = ["/static/desk.css", "/", "/?status=filed&channel=help", "/?p=100",
                 "/insights/ins_00002"]
        local = in_process(settings, paths, args.requests)
        remote = over_loopback(settings, paths, args.requests)
        cold = uncached_reads(settings, args.requests)
    write(args, tickets, changes, local, remote, cold)
    return 0 if max(local["/"][0], remote["/"][0]) <= TARGET_MS else 1


def write(args: argparse.Namespace, tickets: int, changes: int,
          local: dict[str, tuple[float, float]], remote: dict[str, tuple[float, float]],
          cold: tuple[float, float]) -> None:
    what = {"/static/desk.css": "baseline: stylesheet through the same guard",
            "/": "insight list, first page (50 of all, by score)",
            "/?status=filed&channel=help": "list filtered by status and channel",
            "/?p=100": "list, page 100", "/insights/ins_00002": "one insight's page"}
    base_local, base_remote = local["/static/desk.css"][0], remote["/static/desk.css"][0]
    lines = ["## Review desk: the insight list", "",
             f"Command: `PYTHONPATH=src python benchmarks/dashboard_bench.py` "
             f"({args.insights:,} insights, {tickets:,} tickets, {changes:,} status changes "
             f"stored; {args.requests} sequential requests per row after one warm-up; "
             "in-process = starlette TestClient, loopback = `docloop serve` (uvicorn) and "
             "httpx in another process). Target: GET / at most 200 ms. Load average when "
             f"it ran: {os.getloadavg()[0]:.1f} on 2 cores (other work shares the machine).",
             "",
             "| request | what | in-process median ms | p95 | × baseline | loopback median ms "
             "| p95 | × baseline |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for path, label in what.items():
        (lm, lp), (rm, rp) = local[path], remote[path]
        lines.append(f"| `GET {path}` | {label} | {lm:.1f} | {lp:.1f} | {lm / base_local:.1f} "
                     f"| {rm:.1f} | {rp:.1f} | {rm / base_remote:.1f} |")
    lines.append(f"| (reads only) | the list's queries with status counts not cached (first "
                 f"view after a change) | {cold[0]:.1f} | {cold[1]:.1f} | | | | |")
    lines += ["", "The list is paginated, 50 insights a page, and reads the per-insight "
              "summary table (`insight_summaries`, indexed by score) written when a run is "
              "recorded; the status of each row is its newest ticket's (one index lookup) or "
              "its review's, and the weekly sparkline reads only the 50 shown insights' "
              "conversations. Status counts (a pass over every insight) are cached per data "
              "version (the latest run, ticket history row, review decision and ticket "
              "update), so only the first view after a change pays for them (last row). The "
              "status-change history is read only on an insight's page and for the "
              "filed-to-done chart on /runs.", ""]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
