"""The Linear fake answers as Linear does: the same shape for the same request.

What the fake is held to, and where each shape was read:

- the schema: `../shared/reference/linear-schema.graphql` (the SDK's schema.graphql); the
  committed cut must be exactly what pruning it gives today, and every document
  docloop sends must be valid against the full schema;
- an absent entity: API-FACTS §3 "Errors: an entity that does not exist" (the
  literal answer is read from API-FACTS and compared whole);
- authentication: a Rust Linear client's test keeps "Linear's verbatim 401 body for a
  key it rejects, captured from POST https://api.linear.app/graphql with an invalid
  key" (public code index, find_string id 61945409865): message "Authentication
  required, not authenticated", `extensions.type` "authentication error", `code`
  AUTHENTICATION_ERROR, `statusCode` 401; other clients see it with HTTP 400
  (id 71085335474), which is what the fake sends by default;
- rate limit: a body "kept byte-for-byte" from a real incident (id 61371586461):
  HTTP 400, `code` RATELIMITED, `type` "ratelimited", `statusCode` 429, `userError`,
  `http.status` 400; headers `X-RateLimit-Requests-Remaining: 0` and
  `X-RateLimit-Requests-Reset` in epoch ms (API-FACTS §3; id 70090588731); HTTP 429
  also happens (the SDK maps it to Ratelimited, API-FACTS §3);
- a document the schema refuses: HTTP 400, graphql-js's message ("Cannot query field
  \\"nosuchfield\\" on type \\"Issue\\"."), `locations`, `extensions.code`
  GRAPHQL_VALIDATION_FAILED, `type` "graphql error" (a Linear stand-in's recorded
  shape, id 69392200202 — secondary);
- recorded Issue payloads (../shared/fixtures/linear, SOURCE.md): the fields docloop
  reads from an issue have the types Linear sends.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import build_schema, parse, validate

from docloop.backends.trackers.linear import (
    CREATE,
    FIND,
    OPERATIONS,
    PROJECT,
    TEAM_QUERY,
    issue_uuid,
)
from tests.fake_linear import API_KEY, TEAM, FakeLinear
from tests.fake_linear import PROJECT as PROJECT_ID
from tests.linear_schema import PRUNED, prune, pruned_schema


@pytest.fixture
def fake() -> Iterator[FakeLinear]:
    with FakeLinear() as server:
        yield server


def post(fake: FakeLinear, query: str, variables: dict[str, Any] | None = None,
         key: str = API_KEY) -> httpx.Response:
    return httpx.post(fake.url, json={"query": query, "variables": variables or {}},
                      headers={"Authorization": key}, timeout=5.0)


def create(fake: FakeLinear, **fields: Any) -> httpx.Response:
    return post(fake, CREATE, {"input": {"id": issue_uuid("DL-1"), "teamId": TEAM,
                                         "title": "t", **fields}})


@pytest.fixture
def full_sdl(shared_dir: Path) -> str:
    return (shared_dir / "reference" / "linear-schema.graphql").read_text(encoding="utf-8")


def test_every_document_docloop_sends_is_valid_against_linears_schema(full_sdl: str) -> None:
    schema = build_schema(full_sdl)
    for document in OPERATIONS:
        assert validate(schema, parse(document)) == [], document


def test_the_committed_cut_is_what_linears_schema_gives_today(full_sdl: str) -> None:
    assert prune(full_sdl) == PRUNED.read_text(encoding="utf-8"), (
        "regenerate: python -m tests.linear_schema ../shared/reference/linear-schema.graphql")


def test_recorded_issue_create_input_is_the_one_the_fake_validates(shared_dir: Path) -> None:
    recorded = (shared_dir / "fixtures" / "linear" /
                "linear-schema-IssueCreateInput.graphql").read_text(encoding="utf-8")
    names = set(re.findall(r"^  (\w+): ", recorded, flags=re.MULTILINE))
    cut = pruned_schema().get_type("IssueCreateInput")
    assert names and names <= set(cut.fields)  # type: ignore[union-attr]
    assert str(cut.fields["teamId"].type) == "String!"  # type: ignore[union-attr]
    assert str(cut.fields["id"].type) == "String"  # type: ignore[union-attr]


def test_the_fake_answers_an_issue_with_the_types_linear_sends(
        fake: FakeLinear, shared_dir: Path) -> None:
    create(fake)
    answered = post(fake, FIND, {"id": issue_uuid("DL-1")}).json()["data"]["issue"]
    checked = 0
    for path in sorted((shared_dir / "fixtures" / "linear").glob("*Issue*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        for key, value in answered.items():
            if key in data:
                assert type(value) is type(data[key]), (path.name, key)
                checked += 1
        assert set(answered["state"]) <= set(data["state"]), path.name
        assert isinstance(data["state"]["type"], str)
    assert checked >= 6


def test_an_absent_issue_answers_exactly_what_api_facts_documents(
        fake: FakeLinear, shared_dir: Path) -> None:
    facts = (shared_dir / "reference" / "API-FACTS.md").read_text(encoding="utf-8")
    literal = re.search(r'`(\{"errors":\[\{"message":"Entity not found: Issue".*?"data":null\})`',
                        facts)
    assert literal is not None
    response = post(fake, FIND, {"id": str(uuid.uuid4())})
    assert response.status_code == 200
    assert response.json() == json.loads(literal.group(1))


def test_an_absent_issue_is_an_error_not_a_null(fake: FakeLinear) -> None:
    """The hermetic half of the test above: the shape without reading ../shared."""
    body = post(fake, FIND, {"id": str(uuid.uuid4())}).json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["message"] == "Entity not found: Issue" and error["path"] == ["issue"]
    assert error["extensions"]["code"] == "INPUT_ERROR"
    assert error["extensions"]["userPresentableMessage"] == "Could not find referenced Issue."


def test_an_absent_issue_under_a_comment_or_an_update_is_the_same_error(
        fake: FakeLinear) -> None:
    absent = str(uuid.uuid4())
    for query, variables in [
        ("mutation($input: CommentCreateInput!) { commentCreate(input: $input) { success } }",
         {"input": {"issueId": absent, "body": "x"}}),
        ("mutation { issueUpdate(id: \"DOC-9\", input: {title: \"x\"}) { success } }", {}),
    ]:
        body = post(fake, query, variables).json()
        assert body["data"] is None and body["errors"][0]["message"] == "Entity not found: Issue"


@pytest.mark.parametrize(("fields", "message"), [
    ({"teamId": "no-such-team"}, "Entity not found: Team"),
    ({"labelIds": ["no-such-label"]},
     "Entity not found: IssueLabel: labelIds contained an entry that could not be found."),
    ({"id": "not-a-uuid"}, "Argument Validation Error"),
])
def test_bad_input_is_an_input_error(fake: FakeLinear, fields: dict[str, Any],
                                     message: str) -> None:
    response = create(fake, **fields)
    body = response.json()
    assert response.status_code == 200 and body["data"] is None
    assert body["errors"][0]["message"] == message
    assert body["errors"][0]["extensions"]["code"] == "INPUT_ERROR"
    assert fake.issues == {}


def test_a_field_linear_does_not_have_is_refused_as_linear_refuses_it(fake: FakeLinear) -> None:
    response = post(fake, "query($id: String!) { issue(id: $id) { id nosuchfield } }", {"id": "x"})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"] == 'Cannot query field "nosuchfield" on type "Issue".'
    assert error["locations"] and error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["extensions"]["type"] == "graphql error"


def test_a_missing_required_variable_is_refused_before_execution(fake: FakeLinear) -> None:
    response = post(fake, FIND, {})
    assert response.status_code == 400
    assert "$id" in response.json()["errors"][0]["message"]


def test_the_team_answers_with_its_workflow_states(fake: FakeLinear) -> None:
    body = post(fake, TEAM_QUERY, {"team": TEAM}).json()
    team = body["data"]["team"]
    assert team["id"] == TEAM and "errors" not in body
    assert {s["type"] for s in team["states"]["nodes"]} == {"unstarted"}
    assert all(set(s) == {"id", "name", "type", "position"} for s in team["states"]["nodes"])


@pytest.mark.parametrize(("query", "variables", "entity"), [
    (TEAM_QUERY, {"team": "no-such-team"}, "Team"),
    (PROJECT, {"id": "no-such-project"}, "Project"),
])
def test_an_absent_team_or_project_is_the_same_error_as_an_absent_issue(
        fake: FakeLinear, query: str, variables: dict[str, Any], entity: str) -> None:
    response = post(fake, query, variables)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["message"] == f"Entity not found: {entity}"
    assert error["path"] == [entity.lower()]
    assert error["extensions"] == {"code": "INPUT_ERROR", "statusCode": 400, "userError": True,
                                   "userPresentableMessage": f"Could not find referenced {entity}."}
    assert post(fake, PROJECT, {"id": PROJECT_ID}).json()["data"]["project"]["id"] == PROJECT_ID


def test_a_team_query_with_a_rejected_key_is_the_authentication_error(fake: FakeLinear) -> None:
    response = post(fake, TEAM_QUERY, {"team": TEAM}, key="lin_api_wrong")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "AUTHENTICATION_ERROR"


def test_a_rejected_key_answers_the_recorded_authentication_error(fake: FakeLinear) -> None:
    response = post(fake, FIND, {"id": "x"}, key="Bearer lin_api_test")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"] == "Authentication required, not authenticated"
    assert error["extensions"]["code"] == "AUTHENTICATION_ERROR"
    assert error["extensions"]["statusCode"] == 401


@pytest.mark.parametrize(("fault", "status"), [("ratelimited", 400), ("429", 429)])
def test_rate_limits_answer_with_the_code_and_reset_headers(
        fake: FakeLinear, fault: str, status: int) -> None:
    fake.faults.append(fault)
    response = post(fake, FIND, {"id": "x"})
    assert response.status_code == status
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "RATELIMITED"
    assert error["extensions"]["statusCode"] == 429
    assert response.headers["X-RateLimit-Requests-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Requests-Reset"]) > 1_600_000_000_000  # epoch ms
    assert ("Retry-After" in response.headers) == (status == 429)


def test_a_normal_answer_carries_the_budget_headers(fake: FakeLinear) -> None:
    response = create(fake)
    assert response.status_code == 200 and response.json()["data"]["issueCreate"]["success"]
    for name in ("Requests-Limit", "Requests-Remaining", "Requests-Reset",
                 "Complexity-Limit", "Complexity-Remaining", "Complexity-Reset"):
        assert f"X-RateLimit-{name}" in response.headers
    assert "X-Complexity" in response.headers


def test_a_server_error_is_a_5xx(fake: FakeLinear) -> None:
    fake.faults.append("500")
    assert post(fake, FIND, {"id": "x"}).status_code == 500


def test_a_crash_inside_the_fake_fails_the_test_instead_of_looking_like_linear() -> None:
    fake = FakeLinear()
    with pytest.raises(AssertionError, match="the Linear fake crashed: division by zero"), fake:
        labels = fake.schema.get_type("Query").fields["issueLabels"]  # type: ignore[union-attr]
        labels.resolve = lambda *args, **kwargs: 1 / 0
        response = post(fake, "{ issueLabels { nodes { id } } }")
        assert response.status_code == 500
