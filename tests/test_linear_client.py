"""Each answer Linear can give maps to the right typed error or outcome.

The shapes come from the fake, which `test_contract_linear` holds to Linear's
documented and recorded answers: not-found → absent (only for the look-up's
own entity), a rejected key → a configuration error and no further requests,
a rate limit → a wait until the reset (Retry-After or `X-RateLimit-*-Reset`)
and a retry, 5xx → retries with backoff and then a typed backend error,
validation and input errors → permanent errors, never "absent".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from docloop import db
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.backends.trackers.base import EvidenceDelta
from docloop.backends.trackers.linear import FIND, LABELS, LinearTracker, issue_uuid
from docloop.backends.trackers.linear_client import (
    LinearAuthError,
    LinearClient,
    LinearNotFound,
)
from docloop.cli import main
from docloop.config import load_settings
from docloop.errors import ConfigError, PermanentError, TransientError
from docloop.stages.file import file_insight
from tests.fake_linear import TEAM, FakeLinear
from tests.helpers import BASE, insight
from tests.linear_support import FakeTime, timed_client

Parts = tuple[FakeLinear, FakeTime, LinearClient]
DOCS = {"names": ["docs"]}


@pytest.fixture
def timed() -> Iterator[Parts]:
    with timed_client() as parts:
        yield parts


def test_an_absent_issue_is_a_typed_not_found_at_its_path(timed: Parts) -> None:
    _, _, client = timed
    with pytest.raises(LinearNotFound) as caught:
        client.query(FIND, {"id": str(uuid.uuid4())})
    assert (caught.value.entity, caught.value.path) == ("Issue", ("issue",))


def test_find_before_create_reads_not_found_as_absent_and_files_once(timed: Parts) -> None:
    fake, _, client = timed
    tracker = LinearTracker(client, TEAM)
    filed = tracker.create("DL-1", insight())
    assert filed.external_id == issue_uuid("DL-1") and len(fake.issues) == 1
    assert tracker.create("DL-1", insight()).external_id == filed.external_id
    assert len(fake.issues) == 1 and sum("issueCreate" in q for q in fake.requests) == 1


def test_another_entity_not_found_stays_an_error(timed: Parts) -> None:
    fake, _, client = timed
    with pytest.raises(LinearNotFound, match="Team"):
        LinearTracker(client, "no-such-team").create("DL-1", insight())
    assert fake.issues == {}
    assert sum("issueCreate" in q for q in fake.requests) == 1  # not retried


@pytest.mark.parametrize("fault", ["400", "401"])
def test_a_rejected_key_is_a_config_error_and_nothing_more_is_sent(fault: str) -> None:
    with timed_client(key="lin_api_wrong" if fault == "400" else "lin_api_test") as parts:
        fake, _, client = parts
        if fault == "401":
            fake.faults.append("401")
        with pytest.raises(LinearAuthError, match="LINEAR_API_KEY") as caught:
            LinearTracker(client, TEAM).create("DL-1", insight())
        assert isinstance(caught.value, ConfigError) and isinstance(caught.value, PermanentError)
        sent = len(fake.requests)
        assert sent == 1
        with pytest.raises(LinearAuthError):
            client.query(LABELS, DOCS)
        assert len(fake.requests) == sent


def test_ratelimited_with_http_400_waits_for_the_reset_header(timed: Parts) -> None:
    fake, clock, client = timed
    fake.faults.append("ratelimited")  # 400 + RATELIMITED, no Retry-After
    assert client.query(LABELS, DOCS)["issueLabels"]["nodes"]
    assert clock.sleeps == [(fake.reset_after_s, 1)] and len(fake.requests) == 2


def test_http_429_waits_for_retry_after(timed: Parts) -> None:
    fake, clock, client = timed
    fake.faults.append("429")
    fake.reset_after_s = 12.0
    client.query(LABELS, DOCS)
    assert clock.sleeps == [(12.0, 1)] and len(fake.requests) == 2


def test_server_errors_back_off_then_raise_a_transient_backend_error(timed: Parts) -> None:
    fake, clock, client = timed
    fake.faults.extend(["500"] * 5)
    with pytest.raises(TransientError, match="500"):
        client.query(LABELS, DOCS)
    assert [seconds for seconds, _ in clock.sleeps] == [1.0, 2.0, 4.0, 8.0]
    assert len(fake.requests) == 5


def test_a_document_linear_refuses_is_a_permanent_error_not_absent(timed: Parts) -> None:
    fake, clock, client = timed
    with pytest.raises(PermanentError, match="GRAPHQL_VALIDATION_FAILED") as caught:
        client.query("query { issue(id: \"x\") { id nosuchfield } }")
    assert not isinstance(caught.value, LinearNotFound)
    assert len(fake.requests) == 1 and clock.sleeps == []


def test_bad_input_is_a_permanent_error_not_absent(timed: Parts) -> None:
    fake, _, client = timed
    create = "mutation($input: IssueCreateInput!) { issueCreate(input: $input) { success } }"
    with pytest.raises(PermanentError, match="INPUT_ERROR: Argument Validation Error") as caught:
        client.execute(create, {"input": {"id": "DL-1", "teamId": TEAM}})
    assert not isinstance(caught.value, LinearNotFound) and fake.issues == {}


def test_tickets_sync_with_a_rejected_key_exits_2_with_a_clear_message(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLinear() as fake:
        for name, value in {"LINEAR_API_KEY": "lin_api_wrong", "LINEAR_TEAM_ID": TEAM,
                            "DOCLOOP_LINEAR_API_URL": fake.url,
                            "DOCLOOP_TRACKER": "linear"}.items():
            monkeypatch.setenv(name, value)
        records = SQLiteRecordStore(db.connect(load_settings().db_path))
        monkeypatch.setenv("LINEAR_API_KEY", "lin_api_test")
        file_insight(insight(), LinearTracker.from_settings(load_settings()), records, BASE)
        monkeypatch.setenv("LINEAR_API_KEY", "lin_api_wrong")
        result = CliRunner().invoke(main, ["tickets", "sync"])
    assert result.exit_code == 2
    assert "LINEAR_API_KEY" in result.output and "Traceback" not in result.output


def test_a_rate_limited_create_waits_then_looks_before_creating_again(timed: Parts) -> None:
    fake, clock, client = timed
    fake.fault_on("issueCreate", "429")
    LinearTracker(client, TEAM).create("DL-1", insight())
    creates = [n for n, q in enumerate(fake.requests) if "issueCreate" in q]
    assert len(creates) == 2 and len(fake.issues) == 1
    assert clock.sleeps == [(fake.reset_after_s, creates[0] + 1)]  # before the next request
    assert fake.requests[creates[0] + 1] == FIND  # looked up again before re-creating


def test_evidence_for_an_issue_deleted_in_linear_fails_with_linears_message(
        timed: Parts) -> None:
    """The look-up reads "not found" as "no comment yet"; the create then fails, typed."""
    fake, _, client = timed
    tracker, records = LinearTracker(client, TEAM), SQLiteRecordStore(db.memory())
    ref = file_insight(insight(), tracker, records, BASE)
    del fake.issues[issue_uuid(ref.id)]  # someone deleted it in Linear
    record = records.get(ref.id)
    assert record is not None
    delta = EvidenceDelta(new_conversation_ids=["3"], new_message_ids=["3"])
    with pytest.raises(LinearNotFound, match="Entity not found: Issue") as caught:
        tracker.update(record, insight(), delta)
    assert caught.value.path == ("commentCreate",)
    assert sum("commentCreate" in q for q in fake.requests) == 1 and fake.comments == []
