"""A fake Linear GraphQL server on 127.0.0.1 that answers as Linear does.

Every request is parsed, validated and executed with graphql-core against
Linear's own schema (the cut in `tests/linear_schema.py`), so:

- a query naming a field or argument Linear does not have is refused as Linear
  refuses it: HTTP 400, `GRAPHQL_VALIDATION_FAILED`, with `locations`;
- non-null types shape the answers: `issue(id:)` is `Issue!`, so an id that
  does not exist answers HTTP 200, `"data": null` and the `Entity not found:
  Issue` error of API-FACTS §3 (`path`, `extensions.code` `INPUT_ERROR`,
  `statusCode` 400, `userError`, `userPresentableMessage`), never
  `{"issue": null}`; the same for a comment's issue, a state, a label, a team
  (`team(id:)` is `Team!`: a wrong id is `Entity not found: Team` at `["team"]`),
  a project (`project(id:)`);
- bad input (an `id` that is not a UUID v4, an id already taken, an unknown
  label) is an `INPUT_ERROR` with `"data": null`.

Shapes the fake cannot derive from the schema are Linear's recorded answers
(sources in `tests/test_contract_linear.py`): authentication (HTTP 400,
`AUTHENTICATION_ERROR`, `statusCode` 401), rate limit (HTTP 400 + `RATELIMITED`
with `statusCode` 429 and `X-RateLimit-*` headers, or a bare HTTP 429 with
`Retry-After`), and 5xx. Every normal answer carries `X-RateLimit-*` headers.

It stores issues (with their workflow-state spans, as `stateHistory` reports
them), comments, attachments and relations, and can be told to fail the next
requests: `ratelimited` (400 + RATELIMITED), `429`, `500`, `401` (the
authentication error with HTTP 401, as some clients report it), `slow`, `drop`
(process the request, then close the connection without answering — a crash
between request and response), or `spent` / `spent-complexity` (answer
normally, but say the request / complexity budget is now spent and resets
`reset_after_s` from `clock()`). `faults` applies to the next requests in
order; `fault_on(field, fault)` to the next request naming that field.

It simplifies only what docloop does not read: pagination cursors, most
fields of an issue, and filters beyond the comparators docloop uses (an
unknown comparator fails the test loudly).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    execute,
    parse,
    validate,
)

from tests.linear_schema import pruned_schema
from tests.local_server import ServedFake

API_KEY = "lin_api_test"
TEAM = "team-1"
PROJECT = "project-1"

#: Linear's answer to a rejected key, as recorded (see test_contract_linear).
AUTH_ERROR = {"message": "Authentication required, not authenticated", "extensions": {
    "type": "authentication error", "code": "AUTHENTICATION_ERROR", "statusCode": 401,
    "userError": True,
    "userPresentableMessage": "You need to authenticate to access this operation."}}
RATE_LIMITED = {"message": "Rate limit exceeded. Only 1500 requests are allowed per 1 hour.",
                "extensions": {"type": "ratelimited", "code": "RATELIMITED", "statusCode": 429,
                               "userError": True,
                               "userPresentableMessage": "Rate limit exceeded.",
                               "http": {"headers": {}, "status": 400}}}


class FakeBug(Exception):
    """A resolver failed with something other than a Linear error: the fake is wrong."""


def not_found(entity: str, detail: str = "") -> GraphQLError:
    """Linear's error for a look-up or reference of an entity that does not exist."""
    return GraphQLError(f"Entity not found: {entity}{detail}", extensions={
        "code": "INPUT_ERROR", "statusCode": 400, "userError": True,
        "userPresentableMessage": f"Could not find referenced {entity}."})


def input_error(message: str, presentable: str) -> GraphQLError:
    """Linear's error for an argument it refuses (INPUT_ERROR, a user error)."""
    return GraphQLError(message, extensions={
        "code": "INPUT_ERROR", "statusCode": 400, "userError": True,
        "userPresentableMessage": presentable})


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
        self.bugs: list[FakeBug] = []
        self.labels = {"docs": "label-docs", "community": "label-community"}
        team = {"id": TEAM}
        self.states = [
            {"id": "state-todo", "name": "Todo", "type": "unstarted", "position": 1, "team": team},
            {"id": "state-backlog", "name": "Backlog", "type": "unstarted", "position": 0,
             "team": team}]
        self.projects = {PROJECT: {"id": PROJECT, "name": "Docs feedback"}}
        self.schema = _schema(self)
        self._lock = threading.Lock()
        self._handler = _handler(self)

    @property
    def url(self) -> str:
        return f"{self.origin()}/graphql"

    def __exit__(self, *exc: object) -> None:
        """Stop serving; a resolver that crashed fails the test here, whatever it caught."""
        super().__exit__(*exc)
        if self.bugs:
            raise AssertionError(f"the Linear fake crashed: {self.bugs[0]}") from self.bugs[0]

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

    def run(self, query: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """HTTP status and body for one GraphQL request, as Linear would answer it."""
        try:
            document = parse(query)
        except GraphQLError as exc:
            return 400, {"errors": [_validation_error(exc)]}
        invalid = validate(self.schema, document)
        if invalid:
            return 400, {"errors": [_validation_error(e) for e in invalid]}
        with self._lock:
            result = execute(self.schema, document, variable_values=variables,
                             context_value=self)
        assert isinstance(result, ExecutionResult)  # no resolver is async
        return _answer(result)

    def _enter(self, issue: dict[str, Any], state: dict[str, Any],
               at: datetime | None = None) -> None:
        """Put the issue in `state`, closing its current span and opening a new one."""
        moment = (at or datetime.fromtimestamp(self.clock(), UTC)).isoformat()
        spans = issue.setdefault("spans", [])
        if spans:
            spans[-1]["endedAt"] = moment
        spans.append({"startedAt": moment, "endedAt": None})
        issue["state"] = state

    def issue(self, issue_id: str) -> dict[str, Any]:
        """The stored issue, by UUID or identifier (`DOC-1`), or Linear's not-found error."""
        for issue in self.issues.values():
            if issue_id in (issue["id"], issue["identifier"]):
                return issue
        raise not_found("Issue")

    # Query ---------------------------------------------------------------------------
    def q_issue(self, _: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
        return self.issue(id)

    def q_issues(self, _: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return _page(list(self.issues.values()), args)

    def q_issue_labels(self, _: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return _page([{"id": i, "name": n} for n, i in self.labels.items()], args)

    def q_team(self, _: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
        if id != TEAM:
            raise not_found("Team")
        return {"id": TEAM, "name": "Docs"}

    def q_project(self, _: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
        if id not in self.projects:
            raise not_found("Project")
        return self.projects[id]

    def f_team_states(self, team: dict[str, Any], info: GraphQLResolveInfo,
                      **args: Any) -> dict[str, Any]:
        return _page([s for s in self.states if s["team"]["id"] == team["id"]], args)

    def q_workflow_states(self, _: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return _page(self.states, args)

    # Issue fields ----------------------------------------------------------------------
    def f_comments(self, issue: dict[str, Any], info: GraphQLResolveInfo,
                   **args: Any) -> dict[str, Any]:
        return _page([c for c in self.comments if c["issueId"] == issue["id"]], args)

    def f_relations(self, issue: dict[str, Any], info: GraphQLResolveInfo,
                    **args: Any) -> dict[str, Any]:
        return _page([_relation(r) for r in self.relations if r["issueId"] == issue["id"]], args)

    def f_inverse_relations(self, issue: dict[str, Any], info: GraphQLResolveInfo,
                            **args: Any) -> dict[str, Any]:
        return _page([_relation(r) for r in self.relations
                      if r["relatedIssueId"] == issue["id"]], args)

    def f_state_history(self, issue: dict[str, Any], info: GraphQLResolveInfo,
                        **args: Any) -> dict[str, Any]:
        return _page(issue.get("spans", []), args)

    # Mutation --------------------------------------------------------------------------
    def m_issue_create(self, _: Any, info: GraphQLResolveInfo,
                       input: dict[str, Any]) -> dict[str, Any]:
        issue_id = _client_id(input.get("id"), self.issues)
        if input["teamId"] != TEAM:
            raise not_found("Team")
        if not set(input.get("labelIds") or ()) <= set(self.labels.values()):
            raise not_found("IssueLabel",
                            ": labelIds contained an entry that could not be found.")
        number = len(self.issues) + 1
        issue = {**input, "id": issue_id, "identifier": f"DOC-{number}",
                 "url": f"https://linear.app/i/{number}"}
        self._enter(issue, {"type": "triage", "name": "Triage"})
        self.issues[issue_id] = issue
        return {"success": True, "issue": issue, "lastSyncId": float(number)}

    def m_issue_update(self, _: Any, info: GraphQLResolveInfo, id: str,
                       input: dict[str, Any]) -> dict[str, Any]:
        issue = self.issue(id)
        if "stateId" in input:
            state = next((s for s in self.states if s["id"] == input["stateId"]), None)
            if state is None:
                raise not_found("WorkflowState")
            self._enter(issue, {"type": state["type"], "name": state["name"]})
        return {"success": True, "issue": issue, "lastSyncId": 1.0}

    def m_comment_create(self, _: Any, info: GraphQLResolveInfo,
                         input: dict[str, Any]) -> dict[str, Any]:
        issue = self.issue(input["issueId"])
        taken = {c["id"]: c for c in self.comments}
        comment = {**input, "id": _client_id(input.get("id"), taken), "issueId": issue["id"]}
        self.comments.append(comment)
        return {"success": True, "comment": comment, "lastSyncId": 1.0}

    def m_attachment_link_url(self, _: Any, info: GraphQLResolveInfo, issueId: str, url: str,
                              **args: Any) -> dict[str, Any]:
        issue = self.issue(issueId)
        self.attachments[(issue["id"], url)] = args.get("title") or ""
        return {"success": True, "lastSyncId": 1.0}

    def m_issue_relation_create(self, _: Any, info: GraphQLResolveInfo,
                                input: dict[str, Any], **args: Any) -> dict[str, Any]:
        ends = self.issue(input["issueId"]), self.issue(input["relatedIssueId"])
        taken = {r["id"]: r for r in self.relations}
        relation = {**input, "id": _client_id(input.get("id"), taken),
                    "issueId": ends[0]["id"], "relatedIssueId": ends[1]["id"]}
        self.relations.append(relation)
        return {"success": True, "issueRelation": _relation(relation), "lastSyncId": 1.0}


def _schema(fake: FakeLinear) -> GraphQLSchema:
    """The cut of Linear's schema with this fake's resolvers attached."""
    schema = pruned_schema()
    resolvers: dict[str, dict[str, Callable[..., Any]]] = {
        "Query": {"issue": fake.q_issue, "issues": fake.q_issues,
                  "issueLabels": fake.q_issue_labels, "workflowStates": fake.q_workflow_states,
                  "team": fake.q_team, "project": fake.q_project},
        "Team": {"states": fake.f_team_states},
        "Issue": {"comments": fake.f_comments, "relations": fake.f_relations,
                  "inverseRelations": fake.f_inverse_relations,
                  "stateHistory": fake.f_state_history},
        "Mutation": {"issueCreate": fake.m_issue_create, "issueUpdate": fake.m_issue_update,
                     "commentCreate": fake.m_comment_create,
                     "attachmentLinkURL": fake.m_attachment_link_url,
                     "issueRelationCreate": fake.m_issue_relation_create},
    }
    for type_name, fields in resolvers.items():
        object_type = schema.get_type(type_name)
        for name, resolver in fields.items():
            if name in object_type.fields:  # type: ignore[union-attr]
                object_type.fields[name].resolve = resolver  # type: ignore[union-attr]
    return schema


def _client_id(given: str | None, taken: dict[str, Any]) -> str:
    """The entity's id: the client's (a UUID v4, not yet used) or a new one, as Linear does.

    What Linear answers for an id already taken is not documented (API-FACTS
    §3 "UNCONFIRMED"); the fake refuses it, the stricter choice.
    """
    if given is None:
        return str(uuid.uuid4())
    try:
        valid = uuid.UUID(given).version == 4
    except ValueError:
        valid = False
    if not valid:
        raise input_error("Argument Validation Error", "id must be a UUID v4.")
    if given in taken:
        raise input_error("Entity already exists", "An entity with this id already exists.")
    return given


def _relation(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "type": row.get("type"), "issue": {"id": row["issueId"]},
            "relatedIssue": {"id": row["relatedIssueId"]}}


def _page(rows: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
    """A connection page: `filter` applied, then `first` (default 50) or `last`."""
    chosen = [row for row in rows if _matches(row, args.get("filter") or {})]
    if args.get("last") is not None:
        chosen = chosen[-args["last"]:] if args["last"] else []
    else:
        chosen = chosen[:args.get("first") or 50]
    return {"nodes": chosen}


COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda value, wanted: value == wanted,
    "neq": lambda value, wanted: value != wanted,
    "in": lambda value, wanted: value in wanted,
    "nin": lambda value, wanted: value not in wanted,
    "contains": lambda value, wanted: wanted in (value or ""),
}


def _matches(row: Any, condition: dict[str, Any]) -> bool:
    """Linear's filter semantics for the parts docloop uses: and/or, nested, comparators."""
    for key, wanted in condition.items():
        if key == "or":
            ok = any(_matches(row, sub) for sub in wanted)
        elif key == "and":
            ok = all(_matches(row, sub) for sub in wanted)
        elif key in COMPARATORS:
            ok = COMPARATORS[key](row, wanted)
        elif isinstance(wanted, dict):  # a nested filter, or the comparators of one field
            ok = _matches(row.get(key) if isinstance(row, dict) else None, wanted)
        else:
            raise NotImplementedError(f"the Linear fake has no filter for {key!r}")
        if not ok:
            return False
    return True


def _validation_error(error: GraphQLError) -> dict[str, Any]:
    """Linear's shape for a document its schema refuses (HTTP 400).

    Linear's server is graphql-js, which quotes names with `"`; graphql-core 3.3
    quotes them with `'`, so the message is given graphql-js's quotes.
    """
    formatted = dict(error.formatted)
    formatted["message"] = re.sub(r"'([^']*)'", r'"\1"', error.message)  # graphql-js quotes
    formatted["extensions"] = {"http": {"status": 400, "headers": {}},
                               "code": "GRAPHQL_VALIDATION_FAILED", "type": "graphql error",
                               "userError": True}
    return formatted


def _answer(result: ExecutionResult) -> tuple[int, dict[str, Any]]:
    """HTTP 200 with `data` (null when a non-null root failed) and Linear-shaped errors."""
    if not result.errors:
        return 200, {"data": result.data}
    errors = []
    for error in result.errors:
        if error.path is None:  # variables Linear cannot coerce: refused before execution
            return 400, {"errors": [_validation_error(e) for e in result.errors]}
        if not error.extensions:  # not an answer Linear gives: a bug in the fake
            raise FakeBug(error.message) from error.original_error
        errors.append({"message": error.message, "path": error.path,
                       "extensions": error.extensions})
    return 200, {"errors": errors, "data": result.data}


def _handler(fake: FakeLinear) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(body["query"])
            fault = fake.next_fault(body["query"])
            if self.headers.get("Authorization") != API_KEY or fault == "401":
                return self._send(401 if fault == "401" else 400, {"errors": [AUTH_ERROR]})
            if fault == "500":
                return self._send(500, {"errors": [{"message": "Internal server error"}]})
            if fault in ("ratelimited", "429"):
                return self._limited(fault)
            if fault == "slow":
                time.sleep(1.5)
            try:
                status, answer = fake.run(body["query"], body.get("variables") or {})
            except FakeBug as bug:
                fake.bugs.append(bug)
                return self._send(500, {"errors": [{"message": f"fake Linear bug: {bug}"}]})
            if fault == "drop":
                self.close_connection = True
                self.connection.close()
                return None
            return self._send(status, answer, self._budget(fault))

        def _limited(self, fault: str) -> None:
            """400 + RATELIMITED (what Linear sends) or a bare 429, with the reset headers."""
            wait = max(0, math.ceil(fake.reset_after_s))
            headers = {**self._budget("spent"), "Retry-After": str(wait)}
            if fault == "429":
                return self._send(429, {"errors": [RATE_LIMITED]}, headers)
            del headers["Retry-After"]
            return self._send(400, {"errors": [RATE_LIMITED]}, headers)

        def _budget(self, fault: str | None) -> dict[str, str]:
            """Rate-limit headers; a `spent*` fault reports that budget at 0."""
            reset = str(int((fake.clock() + fake.reset_after_s) * 1000))
            requests = "0" if fault == "spent" else "1499"
            complexity = "0" if fault == "spent-complexity" else "249000"
            return {"X-RateLimit-Requests-Limit": "1500",
                    "X-RateLimit-Requests-Remaining": requests,
                    "X-RateLimit-Requests-Reset": reset,
                    "X-Complexity": "12",
                    "X-RateLimit-Complexity-Limit": "250000",
                    "X-RateLimit-Complexity-Remaining": complexity,
                    "X-RateLimit-Complexity-Reset": reset}

        def _send(self, status: int, payload: dict[str, Any],
                  headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            try:
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (a "slow" fault)

    return Handler
