"""Webhook load against `docloop serve`: an in-Python client (baseline) and wrk.

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
last state its issue was moved to. That in-Python generator competes with the
server for the two cores, so it is kept as the baseline row only.

The main rows drive the server with wrk (Debian's `wrk`, compiled C; its Lua has
no HMAC, so every request is signed beforehand into a file that
`webhook_wrk.lua` replays, see there): one row against a trivial ASGI endpoint
under the same uvicorn (the generator's own ceiling), one against `docloop
serve`, one against two server processes sharing one listening socket and the
database. There each distinct delivery moves its own ticket (two in three a
state change, one in three a title edit; every tenth request a retry with a
fresh `webhookTimestamp`), so arrival order cannot matter, and the check reads
the database: every state-change delivery the server claimed made exactly one
transition, every edit none, and no ticket moved twice.
Usage: PYTHONPATH=src python benchmarks/webhook_bench.py [--seconds S] [--skip-baseline]
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
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


def _seed(home: Path, tickets: int = TICKETS) -> None:
    conn = db.connect(home / "docloop.db")
    store = SQLiteRecordStore(conn)
    with db.transaction(conn):
        for n in range(tickets):
            store.put(TicketRecord(id=f"DL-{n}", tracker="linear", external_id=_issue_id(n),
                                   identifier=f"DOC-{n + 1}", insight_id=f"ins-{n}",
                                   title=f"t{n}", created_at=START, updated_at=START))
    conn.close()


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


def baseline() -> dict[str, Any]:
    """The in-Python generator (httpx, 4 threads) against `docloop serve`, with its checks."""
    events = _events()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        _seed(home)
        port = _free_port()
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
    return report(results, seconds, events, histories)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
           histories: dict[int, list[str]]) -> dict[str, Any]:
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
    return {"generator": f"in-Python (httpx, {WORKERS} threads)", "server": "docloop serve",
            "requests": len(results), "per_second": len(results) / seconds, "p50": p(0.50),
            "p99": p(0.99), "errors": 0, "outcomes": outcomes,
            "check": (f"{transitions} transitions for {changes} state changes, "
                      f"{matching}/{TICKETS} histories exact"), "ok": ok}


# ---- wrk: a compiled generator that does not compete for the interpreter ----

WRK_SCRIPT = HERE / "webhook_wrk.lua"
WRK_THREADS, WRK_CONNECTIONS = 1, 32
#: an ASGI app answering every request at once, under the same uvicorn as `docloop serve`
TRIVIAL = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"status": "trivial"}'})
SERVE
"""
#: serve `app` on the inherited listening socket (uvicorn's own `fd=` takes it for a Unix
#: socket, so no TCP_NODELAY: 40 ms delayed ACKs on every answer)
SERVE = """
import socket
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, fileno=int(sys.argv[1]))
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])
""".strip()
TRIVIAL = TRIVIAL.replace("SERVE", SERVE)
#: `docloop serve`'s app on an inherited listening socket, so N processes share one port
SHARED_SOCKET = """
import logging, sys, uvicorn
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                    stream=sys.stderr)  # every delivery logged, as `docloop serve` does
from docloop.config import load_settings
from docloop.web.app import create_app
app = create_app(load_settings())
SERVE
""".replace("SERVE", SERVE)


#: the same, but the writer's connection without `synchronous=FULL` (comparison only: what
#: the fsync per group costs; `docloop serve` never runs like this)
NO_FSYNC = SHARED_SOCKET.replace("from docloop.web.app import create_app", """\
from docloop import db
_connect = db.connect
db.connect = lambda path, durable=False: _connect(path)
from docloop.web.app import create_app""")


def fsync_probe(commits: int = 300) -> dict[str, float]:
    """Commit latency of a one-row transaction, WAL with synchronous FULL vs NORMAL (ms)."""
    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory(dir=HERE) as tmp:
        for mode in ("FULL", "NORMAL"):
            conn = db.connect(Path(tmp) / f"{mode}.db", durable=mode == "FULL")
            conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
            took = []
            for k in range(commits):
                started = time.perf_counter()
                with db.transaction(conn):
                    conn.execute("INSERT INTO t VALUES (?, ?)", (k, "x" * 100))
                took.append(1000 * (time.perf_counter() - started))
            conn.close()
            took.sort()
            found[f"{mode} p50"] = took[commits // 2]
            found[f"{mode} p99"] = took[commits * 99 // 100]
    return found


def _wrk_events(distinct: int) -> list[Event]:
    """Distinct deliveries, each on its own ticket: two in three move it to started."""
    return [Event(k, k, "unstarted" if k % 3 == 2 else "started",
                  None if k % 3 == 2 else "unstarted") for k in range(distinct)]


def _write_requests(path: Path, events: list[Event]) -> int:
    """Signed requests, one a line; every tenth a retry (fresh timestamp, same id)."""
    lines = []
    for event in events:
        lines.append(_signed(f"delivery-{event.k}", event))
        if event.k % 9 == 8:
            lines.append(_signed(f"delivery-{event.k - 4}", events[event.k - 4]))
    path.write_text("".join(lines), encoding="utf-8")
    return len(lines)


def _signed(delivery: str, event: Event) -> str:
    body = _body(event)
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return f"{delivery}\t{signature}\t{body.decode()}\n"


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _spawn(code: str, sock: socket.socket, home: Path, count: int) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ, DOCLOOP_HOME=str(home), LINEAR_WEBHOOK_SECRET=SECRET)
    return [subprocess.Popen([sys.executable, "-c", code, str(sock.fileno())], env=env,
                             pass_fds=(sock.fileno(),), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            for _ in range(count)]


def _wrk(port: int, requests: Path, seconds: int, connections: int) -> dict[str, Any]:
    out = subprocess.run(["wrk", "-t", str(WRK_THREADS), "-c", str(connections),
                          "-d", f"{seconds}s", "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}",
                          "--", str(requests), str(WRK_THREADS)],
                         check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _ready(port: int) -> None:
    """Wait until the port accepts connections (/healthz reads every ticket: too slow)."""
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            time.sleep(0.5)  # a shared socket accepts before its servers run
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start")


def wrk_row(server: str, processes: int, seconds: int,
            connections: int = WRK_CONNECTIONS) -> dict[str, Any]:
    """wrk for `seconds` against the trivial app, `docloop serve` (1 or 2 processes) or
    its app without fsync ("no-fsync")."""
    distinct = 4000 * seconds  # more than any run answers, so few requests repeat
    events = _wrk_events(distinct)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        if server != "trivial":
            _seed(home, distinct)
        with _listening_socket() as sock:
            port = sock.getsockname()[1]
            code = {"trivial": TRIVIAL, "no-fsync": NO_FSYNC}.get(server, SHARED_SOCKET)
            servers = (_spawn(code, sock, home, processes) if server != "docloop" or processes > 1
                       else [_start_on(sock, home)])
            try:
                _ready(port)
                sent = _write_requests(home / "requests.tsv", events)  # signed just now
                result = _wrk(port, home / "requests.tsv", seconds, connections)
            finally:
                for process in servers:
                    process.terminate()
                    process.wait(timeout=30)
        check, ok = ("-", True) if server == "trivial" else _exactly_once(home, events)
    seconds_run = result["duration_us"] / 1e6
    label = {"trivial": "trivial ASGI app (generator ceiling)",
             "no-fsync": "docloop's app without fsync (comparison only)"}.get(
        server, f"docloop serve, {processes} process{'es' if processes > 1 else ''}")
    return {"generator": f"wrk ({WRK_THREADS} thread, {connections} connections)",
            "server": label, "requests": result["requests"],
            "per_second": result["requests"] / seconds_run, "p50": result["p50_us"] / 1000,
            "p99": result["p99_us"] / 1000, "errors": sum(result["errors"].values()),
            "outcomes": dict(sorted(result["outcomes"].items())), "check": check, "ok": ok,
            "file_lines": sent}


def _start_on(sock: socket.socket, home: Path) -> subprocess.Popen[bytes]:
    """`docloop serve` itself (the CLI) for the one-process row, on the socket's port."""
    port = sock.getsockname()[1]
    sock.close()  # the CLI binds the port itself (SO_REUSEADDR lets it at once)
    env = dict(os.environ, DOCLOOP_HOME=str(home), LINEAR_WEBHOOK_SECRET=SECRET)
    return subprocess.Popen([sys.executable, "-m", "docloop.cli", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _exactly_once(home: Path, events: list[Event]) -> tuple[str, bool]:
    """From the database: each claimed state change moved its ticket once, edits none."""
    conn = db.connect(home / "docloop.db")
    claimed = {int(r[0].removeprefix("delivery-"))
               for r in conn.execute("SELECT delivery_id FROM webhook_deliveries")}
    moves = dict(conn.execute("SELECT ticket_id, COUNT(*) FROM ticket_history "
                              "WHERE seq > 1 AND applied = 1 GROUP BY ticket_id").fetchall())
    conn.close()
    changes = {k for k in claimed if events[k].before is not None}
    moved = {int(t.removeprefix("DL-")): n for t, n in moves.items()}
    ok = set(moved) == changes and all(n == 1 for n in moved.values())
    text = (f"{len(claimed)} distinct deliveries claimed, {len(changes)} of them state "
            f"changes; {sum(moved.values())} transitions on {len(moved)} tickets, "
            f"none twice: {'exactly once' if ok else 'MISMATCH'}")
    return text, ok


def render(rows: list[dict[str, Any]], probe: dict[str, float]) -> str:
    lines = [
        "## Webhook receiver under load", "",
        "Command: `PYTHONPATH=src python benchmarks/webhook_bench.py` (2-core machine shared "
        "with other jobs; server and generator on the same cores). Issue `update` deliveries "
        "shaped like Linear's (`updatedFrom.stateId` for a state change, `updatedFrom.title` "
        "for an edit), each signed with HMAC-SHA256; retries reuse the `Linear-Delivery` id "
        "with a fresh `webhookTimestamp`. Rows, all from one run: the in-Python generator "
        "(baseline; it competes with the server for the interpreter's cores), wrk against a "
        "trivial ASGI app under the same uvicorn (uvloop + httptools: the generator's and "
        "the HTTP stack's ceiling), wrk against `docloop serve` (32 connections, and 8: a "
        "closed-loop generator's latency is mostly its own queue, connections / rate), wrk "
        "against two server processes sharing the socket and the database, and against the "
        "app with the fsync taken out (comparison only).", "",
        "| generator | server | requests | requests/s | p50 ms | p99 ms | errors | outcomes "
        "| exactly-once check |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    lines += [f"| {r['generator']} | {r['server']} | {r['requests']} | {r['per_second']:.0f} | "
              f"{r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} | {r['outcomes']} | "
              f"{r['check']} |" for r in rows]
    lines += ["", "The disk in the same run (`fsync_probe`, one-row commits in WAL mode): "
              + ", ".join(f"{k} {v:.2f} ms" for k, v in probe.items())
              + ". With `synchronous=FULL` no answer can come sooner than its commit's fsync, "
              "so the p99 of the durable rows cannot be lower than the disk's fsync p99.", ""]
    lines += ["", "A delivery is answered 200 only once the transaction holding it is "
              "committed with `synchronous=FULL` (the WAL fsynced): deliveries that arrive "
              "together share one commit (`web/deliveries.py`), each inside its own savepoint. "
              "A crash before that commit loses only unanswered deliveries, which Linear "
              "retries; none answered is lost, and the delivery id's primary key refuses a "
              "second application.", ""]
    return "\n".join(lines)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    rows = [] if args.skip_baseline else [baseline()]
    if shutil.which("wrk"):
        rows.append(wrk_row("trivial", 1, args.seconds))
        rows.append(wrk_row("docloop", 1, args.seconds))
        rows.append(wrk_row("docloop", 1, args.seconds, connections=8))  # less queueing
        rows.append(wrk_row("docloop", 2, args.seconds))
        rows.append(wrk_row("no-fsync", 1, args.seconds))
    else:
        print("wrk is not installed (apt-get install -y wrk): only the baseline row ran",
              file=sys.stderr)
    text = render(rows, fsync_probe())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    if not all(r["ok"] for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
