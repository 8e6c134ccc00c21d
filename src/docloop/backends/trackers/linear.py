"""The Linear tracker: one issue per insight, filed exactly once.

`issueCreate` gets a client-supplied id, a UUID v4 derived from docloop's
ticket id, so the same ticket always means the same Linear issue. The issue
is looked up by that id before every create attempt: a retry, or a re-run
after a crash between request and response, can never file twice. New
evidence becomes a comment, filed the same way: it carries a client id and a
footer marker derived from the ticket and the evidence, and is looked up by
them before every attempt, so a dropped answer or a re-run never posts it
twice. A regression follows `linear_reopen_policy`:
`comment` (default), `reopen` (back to the team's first unstarted state) or
`new-linked-issue` (a new issue related to the old one; the relation, too, is
looked up before every attempt, so a lost answer never links them twice).
A new issue is linked the same way (`related`) to the open issues docloop filed
on the same docs section (`stages.file.related_tickets`), which its body lists.

Priority from significance: score ≥ 9 → 2 (high), ≥ 6 → 3 (medium), else 4 (low).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx

from docloop import __version__
from docloop.backends.trackers.base import EvidenceDelta, Filed, Tracker, TrackerState
from docloop.backends.trackers.linear_client import LinearClient, LinearNotFound
from docloop.config import Settings
from docloop.errors import ConfigError, TransientError
from docloop.linear_states import STATE_TYPES, parse_time
from docloop.models import Insight, TicketRecord
from docloop.ticket_text import render_ticket, render_update

log = logging.getLogger("docloop.linear")
CREATE_ATTEMPTS = 3
STATUS_BATCH = 50

ISSUE_FIELDS = "id identifier url state { type name }"
CREATE = ("mutation($input: IssueCreateInput!) { issueCreate(input: $input) "
          f"{{ success issue {{ {ISSUE_FIELDS} }} }} }}")
FIND = f"query($id: String!) {{ issue(id: $id) {{ {ISSUE_FIELDS} }} }}"
COMMENT = ("mutation($input: CommentCreateInput!) { commentCreate(input: $input) "
           "{ success comment { id } } }")
FIND_COMMENT = ("query($issue: String!, $id: ID!, $marker: String!) { issue(id: $issue) { "
                "comments(filter: {or: [{id: {eq: $id}}, {body: {contains: $marker}}]}, "
                "first: 1) { nodes { id } } } }")
ATTACH = ("mutation($issueId: String!, $url: String!, $title: String) { attachmentLinkURL("
          "issueId: $issueId, url: $url, title: $title) { success } }")
LABELS = ("query($names: [String!]) { issueLabels(filter: {name: {in: $names}}) "
          "{ nodes { id name } } }")
UNSTARTED = ("query($team: ID!) { workflowStates(filter: {team: {id: {eq: $team}}, "
             "type: {eq: \"unstarted\"}}) { nodes { id name position } } }")
MOVE = ("mutation($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, "
        "input: $input) { success } }")
RELATE = ("mutation($input: IssueRelationCreateInput!) { issueRelationCreate(input: $input) "
          "{ success issueRelation { id } } }")
_ENDS = "nodes { id issue { id } relatedIssue { id } }"
FIND_RELATIONS = (f"query($id: String!) {{ issue(id: $id) {{ relations(first: 50) {{ {_ENDS} }} "
                  f"inverseRelations(first: 50) {{ {_ENDS} }} }} }}")
STATES = ("query($ids: [ID!]) { issues(filter: {id: {in: $ids}}, first: 50) "
          "{ nodes { id state { type } stateHistory(last: 1) { nodes { startedAt } } } } }")
TEAM_QUERY = ("query($team: String!) { team(id: $team) { id name "
              "states { nodes { id name type position } } } }")
PROJECT = "query($id: String!) { project(id: $id) { id name } }"
#: Every GraphQL document docloop sends to Linear (the tests validate them against its schema).
OPERATIONS = (CREATE, FIND, COMMENT, FIND_COMMENT, ATTACH, LABELS, UNSTARTED, MOVE, RELATE,
              FIND_RELATIONS, STATES, TEAM_QUERY, PROJECT)


def issue_uuid(ticket_id: str) -> str:
    """A valid UUID version 4 derived from docloop's ticket id (stable across runs)."""
    raw = bytearray(hashlib.sha256(f"docloop:{ticket_id}".encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def evidence_marker(ticket_id: str, delta: EvidenceDelta) -> str:
    """`DL-…:<hash>`: names one batch of evidence for one ticket, the same on every run.

    It is written in the comment's footer and searched for before each attempt,
    so a comment whose answer was lost is found instead of posted again. It
    depends only on what the comment reports, which a re-run after a crash
    computes again identically (the stored record has not moved on).
    """
    seen = "\n".join([*sorted(delta.new_conversation_ids), "", *sorted(delta.new_message_ids)])
    return f"{ticket_id}:{hashlib.sha256(seen.encode()).hexdigest()[:12]}"


def priority_for(score: float) -> int:
    """Linear priority (1 urgent … 4 low) from the significance score."""
    return 2 if score >= 9 else 3 if score >= 6 else 4


class LinearTracker(Tracker):
    """Files and updates Linear issues over GraphQL."""

    name = "linear"

    def __init__(self, client: LinearClient, team_id: str, project_id: str | None = None,
                 labels: Sequence[str] = (), reopen_policy: str = "comment") -> None:
        self.client = client
        self.team_id = team_id
        self.project_id = project_id
        self.label_names = list(labels)
        self.reopen_policy = reopen_policy
        self._label_ids: list[str] | None = None
        self._states: list[dict[str, Any]] | None = None  # the team's, read by `preflight`

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.Client | None = None,
                      **deps: Any) -> LinearTracker:
        if settings.linear_api_key is None:
            raise ConfigError("the Linear tracker needs LINEAR_API_KEY (a personal API key) "
                              "in the environment or .env")
        if not settings.linear_team_id:
            raise ConfigError("the Linear tracker needs LINEAR_TEAM_ID (linear_team_id)")
        http = http or httpx.Client(
            base_url=settings.linear_api_url, timeout=httpx.Timeout(30.0, connect=10.0),
            headers={"Authorization": settings.linear_api_key.get_secret_value(),
                     "User-Agent": f"docloop/{__version__}"})
        return cls(LinearClient(http), settings.linear_team_id, settings.linear_project_id,
                   settings.linear_labels, settings.linear_reopen_policy)

    def preflight(self) -> None:
        """Prove the key and the team (and project, labels) before anything is written.

        One `team(id:)` query proves both the key (a refused key is
        `LinearAuthError`, exit 2) and LINEAR_TEAM_ID (`Entity not found:
        Team`), and returns the team's workflow states, kept for reopening.
        A configured project is looked up the same way; labels are resolved
        now, so an unknown one is warned about before the run, not mid-way.
        """
        team = self._must_exist(TEAM_QUERY, {"team": self.team_id}, "Team",
                                f"Linear has no team '{self.team_id}' that this key can see: "
                                "check LINEAR_TEAM_ID (linear_team_id), the team's UUID")
        self._states = list(team["team"]["states"]["nodes"])
        if self.project_id:
            self._must_exist(PROJECT, {"id": self.project_id}, "Project",
                             f"Linear has no project '{self.project_id}' that this key can see: "
                             "check LINEAR_PROJECT_ID (linear_project_id)")
        self._labels()

    def _must_exist(self, document: str, variables: dict[str, Any], entity: str,
                    hint: str) -> dict[str, Any]:
        """The query's data; Linear's `Entity not found: <entity>` becomes a ConfigError."""
        try:
            return self.client.query(document, variables)
        except LinearNotFound as exc:
            if exc.entity != entity:
                raise
            raise ConfigError(hint) from None

    def create(self, ticket_id: str, insight: Insight) -> Filed:
        issue_id = issue_uuid(ticket_id)
        issue = self._create_once(issue_id, insight)
        for thread in insight.threads:
            self.client.query(ATTACH, {"issueId": issue_id, "url": thread.url,
                                       "title": thread.name[:200]})
        related = [other.external_id for other in insight.related if other.external_id]
        if related:  # open issues on the same docs section: the new issue's links read once
            known = self._relations(issue_id)
            for related_id in related:
                self._relate_once(issue_id, related_id, known)
        return Filed(external_id=issue["id"], identifier=issue.get("identifier"),
                     url=issue.get("url"))

    def update(self, record: TicketRecord, insight: Insight, delta: EvidenceDelta) -> Filed | None:
        if delta.regression and self.reopen_policy == "new-linked-issue":
            filed = self.create(f"{record.id}:regression", insight)
            self._relate_once(filed.external_id or issue_uuid(f"{record.id}:regression"),
                              record.external_id or issue_uuid(record.id))
            return filed
        issue_id = record.external_id or issue_uuid(record.id)
        self._comment_once(issue_id, evidence_marker(record.id, delta),
                           render_update(insight, delta))
        if delta.regression and self.reopen_policy == "reopen":
            self._reopen(issue_id)
        return None

    def fetch_statuses(self, records: Sequence[TicketRecord]) -> dict[str, TrackerState]:
        """Each issue's state type, and since when: the start of its latest state span."""
        by_issue = {r.external_id: r.id for r in records if r.external_id}
        ids = list(by_issue)
        states: dict[str, TrackerState] = {}
        for start in range(0, len(ids), STATUS_BATCH):
            data = self.client.query(STATES, {"ids": ids[start:start + STATUS_BATCH]})
            for node in data["issues"]["nodes"]:
                state_type = (node.get("state") or {}).get("type")
                if node["id"] in by_issue and state_type in STATE_TYPES:
                    states[by_issue[node["id"]]] = TrackerState(STATE_TYPES[state_type],
                                                                _state_since(node))
        return states

    def _create_once(self, issue_id: str, insight: Insight) -> dict[str, Any]:
        """issueCreate under the issue's derived id, looked up first (`_find_or_create`)."""
        def find() -> dict[str, Any] | None:
            found = self._look_up(FIND, {"id": issue_id})
            return dict(found["issue"]) if found else None

        def create() -> dict[str, Any]:
            data = self.client.execute(CREATE, {"input": self._input(issue_id, insight)})
            return dict(data["issueCreate"]["issue"])

        return _find_or_create(f"issue {issue_id}", find, create)

    def _comment_once(self, issue_id: str, marker: str, text: str) -> None:
        """commentCreate, looking for the same evidence before every attempt.

        The comment's client id and its footer marker both come from `marker`;
        the look-up matches either, so it holds even if Linear kept only one.
        """
        comment_id = issue_uuid(f"comment:{marker}")
        body = f"{text.rstrip()}\n\n---\ndocloop evidence `{marker}`\n"
        look = {"issue": issue_id, "id": comment_id, "marker": marker}

        def find() -> dict[str, Any] | None:
            found = self._look_up(FIND_COMMENT, look)
            nodes = found["issue"]["comments"]["nodes"] if found else []
            return dict(nodes[0]) if nodes else None

        def create() -> dict[str, Any]:
            data = self.client.execute(COMMENT, {"input": {"id": comment_id, "issueId": issue_id,
                                                           "body": body}})
            return dict(data["commentCreate"]["comment"])

        _find_or_create(f"comment {marker} on issue {issue_id}", find, create)

    def _relate_once(self, issue_id: str, related_id: str,
                     known: list[dict[str, Any]] | None = None) -> None:
        """A `related` link from the new issue to the old, created once.

        `issueRelationCreate` gets a client id derived from the two issues, and
        before every attempt the new issue's links are looked up in both
        directions (`_relations`): any relation between the two, made by docloop
        (whose answer may have been lost) or by a person, either way round,
        means there is nothing to add. `known`: the links just read for several
        pairs at once, used for the first look; a retry reads them again.
        """
        relation_id = issue_uuid(f"relation:{issue_id}:{related_id}")
        pair = {issue_id, related_id}
        first_look = [known] if known is not None else []

        def find() -> dict[str, Any] | None:
            nodes = first_look.pop() if first_look else self._relations(issue_id)
            return next((dict(n) for n in nodes if n["id"] == relation_id
                         or {n["issue"]["id"], n["relatedIssue"]["id"]} == pair), None)

        def create() -> dict[str, Any]:
            data = self.client.execute(RELATE, {"input": {
                "id": relation_id, "issueId": issue_id, "relatedIssueId": related_id,
                "type": "related"}})
            return dict(data["issueRelationCreate"]["issueRelation"])

        _find_or_create(f"relation {issue_id} -> {related_id}", find, create)

    def _relations(self, issue_id: str) -> list[dict[str, Any]]:
        """The issue's links both ways round (none when Linear does not know the issue). A
        freshly filed issue has few, so one page of each direction is enough."""
        issue = (self._look_up(FIND_RELATIONS, {"id": issue_id}) or {}).get("issue") or {}
        return [*(issue.get("relations") or {}).get("nodes", []),
                *(issue.get("inverseRelations") or {}).get("nodes", [])]

    def _look_up(self, document: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        """A query for an issue by id, or None when Linear says the issue does not exist.

        Linear answers a look-up of an absent issue with an error ("Entity not
        found: Issue", `data: null`), not with `{"issue": null}`. Only that
        answer, at this query's `issue` field, means "absent"; any other error
        (auth, rate limit, another entity missing) is raised as it is, so
        find-before-create never mistakes a failure for room to create.
        """
        try:
            return self.client.query(document, variables)
        except LinearNotFound as exc:
            if exc.entity == "Issue" and exc.path[:1] == ("issue",):
                return None
            raise

    def _input(self, issue_id: str, insight: Insight) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "id": issue_id, "teamId": self.team_id, "title": insight.title[:250],
            "description": render_ticket(insight), "priority": priority_for(insight.score),
        }
        if self.project_id:
            fields["projectId"] = self.project_id
        labels = self._labels()
        if labels:
            fields["labelIds"] = labels
        return fields

    def _labels(self) -> list[str]:
        if self._label_ids is None:
            self._label_ids = []
            if self.label_names:
                nodes = self.client.query(LABELS, {"names": self.label_names})
                found = {n["name"]: n["id"] for n in nodes["issueLabels"]["nodes"]}
                missing = [n for n in self.label_names if n not in found]
                if missing:
                    log.warning("Linear labels not found and skipped: %s", ", ".join(missing))
                self._label_ids = [found[n] for n in self.label_names if n in found]
        return self._label_ids

    def _reopen(self, issue_id: str) -> None:
        if self._states is not None:
            nodes = [n for n in self._states if n.get("type") == "unstarted"]
        else:
            nodes = self.client.query(UNSTARTED, {"team": self.team_id})["workflowStates"]["nodes"]
        if not nodes:
            log.warning("team %s has no unstarted state; issue %s not reopened",
                        self.team_id, issue_id)
            return
        first = min(nodes, key=lambda n: n.get("position", 0))
        self.client.query(MOVE, {"id": issue_id, "input": {"stateId": first["id"]}})


def _state_since(node: dict[str, Any]) -> datetime | None:
    """When the issue entered its current state: the latest span of `stateHistory`."""
    spans = (node.get("stateHistory") or {}).get("nodes") or []
    starts = [t for t in (parse_time(span.get("startedAt")) for span in spans) if t]
    return max(starts, default=None)


def _find_or_create(what: str, find: Callable[[], dict[str, Any] | None],
                    create: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Create once: look before every attempt, retry only transient failures.

    A create whose answer was lost (timeout, dropped connection, 5xx) may have
    happened, so it is never simply re-sent: the next attempt first looks for
    what it would create, by the id or marker the caller derived from docloop's
    own ids. The look-up also covers a run that crashed after Linear created
    the object but before docloop stored the outcome.
    """
    last: TransientError | None = None
    for _ in range(CREATE_ATTEMPTS):
        found = find()
        if found:
            log.info("%s already exists; not creating it again", what)
            return found
        try:
            return create()
        except TransientError as exc:
            log.warning("creating %s failed (%s); checking before retrying", what, exc)
            last = exc
    assert last is not None
    raise last
