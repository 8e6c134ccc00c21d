"""Webhook load: 2,000 signed Linear deliveries (10% replays) against `docloop serve`.

Starts `docloop serve` (uvicorn) on 127.0.0.1 with a temporary DOCLOOP_HOME
holding 200 Linear tickets and sends them Issue `update` deliveries shaped
like Linear's (the real payloads in /work/shared/fixtures/linear): the full
issue in `data`, `createdAt`, `webhookId`, `organizationId`, `url`, and
`updatedFrom` with the previous values of what changed. Two rounds in three
move each issue to its next workflow state (`updatedFrom.stateId`, plus
`startedAt` / `completedAt` as Linear reports them); every third round is a
title edit, which carries the issue's current state but must change nothing.
Every tenth delivery is a retry of an earlier one (same `Linear-Delivery`,
fresh `webhookTimestamp`). Deliveries go out from 4 client threads; then the
run checks that every state change produced exactly one transition, every
edit none, every retry none, and that each ticket ends in the status of the
last state its issue was moved to.
Usage: PYTHONPATH=src python benchmarks/webhook_bench.py
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
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from docloop import db
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.linear_states import STATE_TYPES
from docloop.models import TicketRecord

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "webhook.md"
TICKETS, DELIVERIES, REPLAY_SHARE, WORKERS = 200, 2000, 0.10, 4
UNIQUE = int(DELIVERIES * (1 - REPLAY_SHARE))
SECRET = "bench-secret"
ORG, TEAM, WEBHOOK = (str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench:{n}"))
                      for n in ("org", "team", "webhook"))
#: Workflow states of the team, by type: (id, name, color), as in Linear's payloads.
STATES = {kind: (str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench:state:{kind}")), name, color)
          for kind, name, color in (("unstarted", "Todo", "#e2e2e2"),
                                    ("started", "In Progress", "#f2c94c"),
                                    ("completed", "Done", "#5e6ad2"))}
NEXT = {"unstarted": "started", "started": "completed", "completed": "unstarted"}
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@dataclass(frozen=True)
class Event:
    """One Issue update: `before` is the previous state type, None for a title edit."""

    k: int
    ticket: int
    state: str
    before: str | None


def _issue_id(n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench:issue:{n}"))


def _seed(home: Path) -> None:
    store = SQLiteRecordStore(db.connect(home / "docloop.db"))
    for n in range(TICKETS):
        store.put(TicketRecord(id=f"DL-{n}", tracker="linear", external_id=_issue_id(n),
                               identifier=f"DOC-{n + 1}", insight_id=f"ins-{n}",
                               title=f"t{n}", created_at=START, updated_at=START))


def _events() -> list[Event]:
    """One event per unique delivery; each issue starts in Todo (docloop's `open`)."""
    current = dict.fromkeys(range(TICKETS), "unstarted")
    events = []
    for k in range(UNIQUE):
        ticket, edit = k % TICKETS, (k // TICKETS) % 3 == 2
        before = current[ticket]
        current[ticket] = before if edit else NEXT[before]
        events.append(Event(k, ticket, current[ticket], None if edit else before))
    return events


def _deliveries(events: list[Event]) -> list[tuple[str, Event]]:
    """(delivery id, event); every tenth is a retry of an earlier delivery."""
    plan = [(f"delivery-{e.k}", e) for e in events]
    for r in range(DELIVERIES - UNIQUE):
        plan.insert(10 * r + 9, plan[10 * r])
    return plan


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _at(k: int) -> datetime:
    """When Linear recorded event k (a retry keeps it; only webhookTimestamp is fresh)."""
    return START + timedelta(seconds=k + 1)


def _title(n: int, k: int) -> str:
    return f"How do I allow my frontend origin? ({n}, rev {k // TICKETS})"


def _updated_from(event: Event) -> dict[str, Any]:
    """Linear's previous values of the fields the update changed."""
    previous = _iso(_at(event.k - TICKETS)) if event.k >= TICKETS else _iso(START)
    if event.before is None:
        return {"title": _title(event.ticket, event.k - TICKETS), "updatedAt": previous}
    changed: dict[str, Any] = {"stateId": STATES[event.before][0], "updatedAt": previous}
    if event.state in ("started", "completed"):
        changed[f"{event.state}At"] = None  # set by entering that state
    return changed


def _body(event: Event) -> bytes:
    n, at = event.ticket, _iso(_at(event.k))
    state_id, name, color = STATES[event.state]
    data = {
        "id": _issue_id(n), "identifier": f"DOC-{n + 1}", "number": n + 1,
        "title": _title(n, event.k), "description": "Users hit CORS errors.",
        "priority": 3, "priorityLabel": "Medium", "boardOrder": 0, "sortOrder": -1000.5 * (n + 1),
        "createdAt": _iso(START), "updatedAt": at,
        "startedAt": at if event.state == "started" else None,
        "completedAt": at if event.state == "completed" else None,
        "teamId": TEAM, "team": {"id": TEAM, "key": "DOC", "name": "Docs"},
        "stateId": state_id, "state": {"id": state_id, "name": name, "type": event.state,
                                       "color": color},
        "labelIds": [], "labels": [], "subscriberIds": [], "previousIdentifiers": [],
    }
    return json.dumps({
        "action": "update", "type": "Issue", "createdAt": at, "data": data,
        "url": f"https://linear.app/bench/issue/DOC-{n + 1}/how-do-i-allow-my-frontend-origin",
        "updatedFrom": _updated_from(event), "organizationId": ORG, "webhookId": WEBHOOK,
        "webhookTimestamp": int(time.time() * 1000),
    }, ensure_ascii=False).encode()


def _send(client: httpx.Client, delivery: str, event: Event) -> tuple[float, str]:
    body = _body(event)
    sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    started = time.perf_counter()
    response = client.post("/webhooks/linear", content=body, headers={
        "Linear-Signature": sig, "Linear-Delivery": delivery, "Linear-Event": "Issue",
        "User-Agent": "Linear-Webhook", "Content-Type": "application/json; charset=utf-8"})
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
    events = _events()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        _seed(home)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = _start(home, port)
        try:
            plan = _deliveries(events)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client, \
                    ThreadPoolExecutor(WORKERS) as pool:
                started = time.perf_counter()
                results = list(pool.map(lambda d: _send(client, *d), plan))
                seconds = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=10)
        histories = _histories(home)
    report(results, seconds, events, histories)


def _histories(home: Path) -> dict[int, list[str]]:
    """Each ticket's recorded statuses, oldest first (the first is "filed")."""
    records = SQLiteRecordStore(db.connect(home / "docloop.db")).all()
    return {int(r.id.removeprefix("DL-")): [c.status for c in r.history] for r in records}


def _expected_histories(events: list[Event]) -> dict[int, list[str]]:
    """What exactly-once application gives: "open", then one entry per state change."""
    expected: dict[int, list[str]] = {n: ["open"] for n in range(TICKETS)}
    for event in events:
        if event.before is not None:
            expected[event.ticket].append(STATE_TYPES[event.state])
    return expected


def report(results: list[tuple[float, str]], seconds: float, events: list[Event],
           histories: dict[int, list[str]]) -> None:
    latencies = sorted(r[0] for r in results)
    outcomes = {s: sum(1 for _, o in results if o == s) for s in sorted({o for _, o in results})}
    changes = sum(1 for e in events if e.before is not None)
    edits, replays = len(events) - changes, len(results) - len(events)
    expected = _expected_histories(events)
    transitions = sum(len(h) - 1 for h in histories.values())
    matching = sum(1 for n, h in histories.items() if h == expected[n])
    ok = (outcomes == {"applied": changes, "duplicate": replays, "ignored": edits}
          and transitions == changes and matching == TICKETS)
    p = lambda q: 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    text = "\n".join([
        "## Webhook receiver under load", "",
        "Command: `PYTHONPATH=src python benchmarks/webhook_bench.py` (`docloop serve` on "
        f"127.0.0.1, {WORKERS} client threads, {TICKETS} Linear tickets, SQLite). Issue "
        "`update` deliveries shaped like Linear's: state changes carry "
        "`updatedFrom.stateId`, title edits `updatedFrom.title` and the unchanged state; "
        "retries reuse the `Linear-Delivery` id with a fresh `webhookTimestamp`.", "",
        "| deliveries | state changes | title edits | retries | requests/s | p50 ms | p99 ms "
        "| outcomes | transitions recorded | expected | tickets with the expected history |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
        f"| {len(results)} | {changes} | {edits} | {replays} | {len(results) / seconds:.0f} | "
        f"{p(0.50):.1f} | {p(0.99):.1f} | {outcomes} | {transitions} | {changes} | "
        f"{matching}/{TICKETS} |", "",
        "Every state change is applied once, every title edit is answered `ignored` and "
        "changes nothing, every retry is answered `duplicate` and changes nothing, and each "
        "ticket's history is exactly its issue's sequence of states: "
        f"{'exactly once' if ok else 'MISMATCH'}.",
        ""])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
