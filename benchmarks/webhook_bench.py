"""Webhook load: 2,000 signed Linear deliveries (10% replays) against `docloop serve`.

Starts `docloop serve` (uvicorn) on 127.0.0.1 with a temporary DOCLOOP_HOME
holding 200 Linear tickets, sends the deliveries from 4 client threads, then
checks that every unique delivery produced exactly one status transition and
every replay none. Usage: PYTHONPATH=src python benchmarks/webhook_bench.py
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

from docloop import db
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.models import TicketRecord

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "webhook.md"
TICKETS, DELIVERIES, REPLAY_SHARE, WORKERS = 200, 2000, 0.10, 4
SECRET = "bench-secret"
STATES = ("started", "completed", "unstarted")


def _seed(home: Path) -> None:
    store = SQLiteRecordStore(db.connect(home / "docloop.db"))
    now = datetime.now(UTC)
    for n in range(TICKETS):
        store.put(TicketRecord(id=f"DL-{n}", tracker="linear", external_id=f"issue-{n}",
                               insight_id=f"ins-{n}", title=f"t{n}", created_at=now,
                               updated_at=now))


def _deliveries() -> list[tuple[str, int]]:
    """(delivery id, sequence number); every tenth is a replay of an earlier one."""
    unique = int(DELIVERIES * (1 - REPLAY_SHARE))
    plan = [(f"delivery-{k}", k) for k in range(unique)]
    for r in range(DELIVERIES - unique):
        plan.insert(10 * r + 9, plan[10 * r])
    return plan


def _body(k: int) -> bytes:
    state = STATES[(k // TICKETS) % len(STATES)]
    return json.dumps({"type": "Issue", "action": "update",
                       "webhookTimestamp": int(time.time() * 1000),
                       "data": {"id": f"issue-{k % TICKETS}",
                                "state": {"type": state, "name": state}}}).encode()


def _send(client: httpx.Client, delivery: str, k: int) -> tuple[float, str]:
    body = _body(k)
    sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    started = time.perf_counter()
    response = client.post("/webhooks/linear", content=body, headers={
        "Linear-Signature": sig, "Linear-Delivery": delivery,
        "Content-Type": "application/json"})
    response.raise_for_status()
    return time.perf_counter() - started, response.json()["status"]


def _start(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DOCLOOP_HOME=str(home), LINEAR_WEBHOOK_SECRET=SECRET)
    server = subprocess.Popen([sys.executable, "-m", "docloop.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("docloop serve did not start")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        _seed(home)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = _start(home, port)
        try:
            plan = _deliveries()
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client, \
                    ThreadPoolExecutor(WORKERS) as pool:
                started = time.perf_counter()
                results = list(pool.map(lambda d: _send(client, *d), plan))
                seconds = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=10)
        history = db.connect(home / "docloop.db").execute(
            "SELECT COUNT(*) FROM ticket_history").fetchone()[0]
    report(results, seconds, history - TICKETS)


def report(results: list[tuple[float, str]], seconds: float, transitions: int) -> None:
    latencies = sorted(r[0] for r in results)
    outcomes = {s: sum(1 for _, o in results if o == s) for s in {o for _, o in results}}
    unique = int(DELIVERIES * (1 - REPLAY_SHARE))
    verdict = "exactly once" if transitions == unique else "MISMATCH"
    p = lambda q: 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    text = "\n".join([
        "## Webhook receiver under load", "",
        "Command: `PYTHONPATH=src python benchmarks/webhook_bench.py` (`docloop serve` on "
        f"127.0.0.1, {WORKERS} client threads, {TICKETS} Linear tickets, SQLite).", "",
        "| deliveries | replays | requests/s | p50 ms | p99 ms | outcomes | transitions recorded "
        "| expected |", "|---:|---:|---:|---:|---:|---|---:|---:|",
        f"| {len(results)} | {len(results) - unique} | {len(results) / seconds:.0f} | "
        f"{p(0.50):.1f} | {p(0.99):.1f} | {outcomes} | {transitions} | {unique} |", "",
        "Every unique delivery changes its ticket's state once; every replay is answered "
        f"`duplicate` and changes nothing: {verdict}.",
        ""])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
