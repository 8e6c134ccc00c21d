"""A fake Linear GraphQL server on 127.0.0.1 for tests and benchmarks.

It speaks the wire format docloop uses (POST JSON `{query, variables}` →
`{"data": …}` or `{"errors": [{message, extensions: {code}}]}`), checks the
`Authorization` header, stores issues (with their workflow-state spans, as
`stateHistory` reports them), comments, attachments and relations, and can be
told to fail the next requests: `ratelimited` (GraphQL RATELIMITED with
rate-limit headers), `500`, `slow`, `drop` (process the request, then close
the connection without answering — a crash between request and response), or
`spent` / `spent-complexity` (answer normally, but say the request /
complexity budget is now spent and resets `reset_after_s` from `clock()`).
`faults` applies to the next requests in order; `fault_on(field, fault)` to
the next request naming that field (e.g. the one `issueRelationCreate`).
Every normal answer carries `X-RateLimit-*` headers, as Linear's do.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.local_server import ServedFake

API_KEY = "lin_api_test"
TEAM = "team-1"


class FakeLinear(ServedFake):
    """State plus fault queue; use as a context manager."""

    def __init__(self, clock: Callable[[], float] = time.time, reset_after_s: float = 30.0) -> None:
        self.clock = clock
        self.reset_after_s = reset_after_s
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: list[dict[str, Any]] = []
        self.attachments: dict[tuple[str, str], str] = {}
        self.relations: list[dict[str, Any]] = []
        self.faults: deque[str] = deque()
        self.field_faults: dict[str, str] = {}
        self.requests: list[str] = []
        self.labels = {"docs": "label-docs", "community": "label-community"}
        self.states = [{"id": "state-todo", "name": "Todo", "type": "unstarted", "position": 1},
                       {"id": "state-backlog", "name": "Backlog", "type": "unstarted",
                        "position": 0}]
        self._lock = threading.Lock()
        self._handler = _handler(self)

    @property
    def url(self) -> str:
        return f"{self.origin()}/graphql"

    def set_state(self, issue_id: str, state_type: str, at: datetime | None = None) -> None:
        """Move an issue, as a person would in Linear (`at`: when; default `clock()`)."""
        self._enter(self.issues[issue_id], {"type": state_type, "name": state_type}, at)

    def fault_on(self, field: str, fault: str) -> None:
        """Fail the next request whose query names `field` (before the `faults` queue)."""
        self.field_faults[field] = fault

    def next_fault(self, query: str) -> str | None:
        for field, fault in list(self.field_faults.items()):
            if field in query:
                del self.field_faults[field]
                return fault
        return self.faults.popleft() if self.faults else None  # "ok" = no fault

    def _enter(self, issue: dict[str, Any], state: dict[str, Any],
               at: datetime | None = None) -> None:
        """Put the issue in `state`, closing its current span and opening a new one."""
        moment = (at or datetime.fromtimestamp(self.clock(), UTC)).isoformat()
        spans = issue.setdefault("spans", [])
        if spans:
            spans[-1]["endedAt"] = moment
        spans.append({"startedAt": moment, "endedAt": None})
        issue["state"] = state

    def resolve(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The `data` for one operation, chosen by its top-level field."""
        with self._lock:
            for field, handler in self._fields():
                if field in query:
                    return handler(variables)
        raise KeyError(query)

    def _fields(self) -> list[tuple[str, Any]]:
        return [("issueCreate", self._create), ("commentCreate", self._comment),
                ("attachmentLinkURL", self._attach), ("issueLabels", self._labels),
                ("workflowStates", self._workflow), ("issueUpdate", self._update),
                ("issueRelationCreate", self._relate), ("issues(", self._issues),
                ("comments(", self._find_comments), ("relations(", self._find_relations),
                ("issue(", self._find)]

    def _create(self, v: dict[str, Any]) -> dict[str, Any]:
        data = v["input"]
        if data["id"] in self.issues:
            raise GraphQLError("Entity already exists", "INVALID_INPUT")
        number = len(self.issues) + 1
        issue = {**data, "identifier": f"DOC-{number}", "url": f"https://linear.app/i/{number}"}
        self._enter(issue, {"type": "triage", "name": "Triage"})
        self.issues[data["id"]] = issue
        return {"issueCreate": {"success": True, "issue": _public(issue)}}

    def _find(self, v: dict[str, Any]) -> dict[str, Any]:
        issue = self.issues.get(v["id"])
        return {"issue": _public(issue) if issue else None}

    def _comment(self, v: dict[str, Any]) -> dict[str, Any]:
        return _create_once(self.comments, "c", v["input"], "commentCreate", "comment")

    def _find_comments(self, v: dict[str, Any]) -> dict[str, Any]:
        """`issue(id) { comments(filter: {or: [{id: {eq}}, {body: {contains}}]}) }`."""
        nodes = [{"id": c["id"]} for c in self.comments if c["issueId"] == v["issue"]
                 and (c["id"] == v["id"] or v["marker"] in c["body"])]
        return {"issue": {"comments": {"nodes": nodes[:1]}}}

    def _attach(self, v: dict[str, Any]) -> dict[str, Any]:
        self.attachments[(v["issueId"], v["url"])] = v.get("title") or ""
        return {"attachmentLinkURL": {"success": True}}

    def _labels(self, v: dict[str, Any]) -> dict[str, Any]:
        nodes = [{"id": i, "name": n} for n, i in self.labels.items() if n in v["names"]]
        return {"issueLabels": {"nodes": nodes}}

    def _workflow(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"workflowStates": {"nodes": self.states}}

    def _update(self, v: dict[str, Any]) -> dict[str, Any]:
        state = next(s for s in self.states if s["id"] == v["input"]["stateId"])
        self._enter(self.issues[v["id"]], {"type": state["type"], "name": state["name"]})
        return {"issueUpdate": {"success": True}}

    def _relate(self, v: dict[str, Any]) -> dict[str, Any]:
        return _create_once(self.relations, "r", v["input"], "issueRelationCreate",
                            "issueRelation")

    def _find_relations(self, v: dict[str, Any]) -> dict[str, Any]:
        """`issue(id) { relations { … } inverseRelations { … } }`: links from and to it."""
        def node(r: dict[str, Any]) -> dict[str, Any]:
            return {"id": r["id"], "issue": {"id": r["issueId"]},
                    "relatedIssue": {"id": r["relatedIssueId"]}}

        return {"issue": {
            "relations": {"nodes": [node(r) for r in self.relations if r["issueId"] == v["id"]]},
            "inverseRelations": {"nodes": [node(r) for r in self.relations
                                           if r["relatedIssueId"] == v["id"]]}}}

    def _issues(self, v: dict[str, Any]) -> dict[str, Any]:
        """`issues(filter: {id: {in}})`, each with its latest `stateHistory` span."""
        nodes = [{**_public(self.issues[i]),
                  "stateHistory": {"nodes": self.issues[i]["spans"][-1:]}}
                 for i in v["ids"] if i in self.issues]
        return {"issues": {"nodes": nodes}}


class GraphQLError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _public(issue: dict[str, Any]) -> dict[str, Any]:
    return {k: issue[k] for k in ("id", "identifier", "url", "state")}


def _handler(fake: FakeLinear) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(body["query"])
            fault = fake.next_fault(body["query"])
            if self.headers.get("Authorization") != API_KEY:
                return self._send(400, {"errors": [{"message": "Authentication required",
                                                    "extensions": {"code":
                                                                   "AUTHENTICATION_ERROR"}}]})
            if fault == "500":
                return self._send(500, {"error": "internal"})
            if fault == "ratelimited":
                return self._send(400, {"errors": [{"message": "Rate limit exceeded",
                                                    "extensions": {"code": "RATELIMITED"}}]},
                                  {"X-RateLimit-Requests-Remaining": "0", "Retry-After": "0"})
            if fault == "slow":
                time.sleep(1.5)
            try:
                data = fake.resolve(body["query"], body.get("variables") or {})
            except GraphQLError as exc:
                return self._send(200, {"errors": [{"message": str(exc),
                                                    "extensions": {"code": exc.code}}]})
            if fault == "drop":
                self.close_connection = True
                self.connection.close()
                return None
            return self._send(200, {"data": data}, self._budget(fault))

        def _budget(self, fault: str | None) -> dict[str, str]:
            """Rate-limit headers; a `spent*` fault reports that budget at 0."""
            reset = str(int((fake.clock() + fake.reset_after_s) * 1000))
            requests = "0" if fault == "spent" else "1499"
            complexity = "0" if fault == "spent-complexity" else "249000"
            return {"X-RateLimit-Requests-Limit": "1500",
                    "X-RateLimit-Requests-Remaining": requests,
                    "X-RateLimit-Requests-Reset": reset,
                    "X-RateLimit-Complexity-Limit": "250000",
                    "X-RateLimit-Complexity-Remaining": complexity,
                    "X-RateLimit-Complexity-Reset": reset}

        def _send(self, status: int, payload: dict[str, Any],
                  headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            try:
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (a "slow" fault)

    return Handler


def _create_once(rows: list[dict[str, Any]], prefix: str, fields: dict[str, Any],
                 mutation: str, entity: str) -> dict[str, Any]:
    """Store a new entity; a client-chosen id that exists already is refused, like Linear."""
    data = {"id": f"{prefix}{len(rows) + 1}", **fields}
    if any(row["id"] == data["id"] for row in rows):
        raise GraphQLError("Entity already exists", "INVALID_INPUT")
    rows.append(data)
    return {mutation: {"success": True, entity: {"id": data["id"]}}}
