"""The Linear tracker against a fake Linear GraphQL server on loopback."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from docloop import db
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.backends.trackers.base import EvidenceDelta
from docloop.backends.trackers.linear import (
    FIND,
    LABELS,
    LinearTracker,
    evidence_marker,
    issue_uuid,
    priority_for,
)
from docloop.backends.trackers.linear_client import MAX_WAIT_S, LinearClient
from docloop.cli import main
from docloop.config import load_settings
from docloop.errors import ConfigError, PermanentError
from docloop.models import ThreadLink, TicketRef
from docloop.stages.file import file_insight
from tests.fake_linear import API_KEY, TEAM, FakeLinear
from tests.helpers import BASE, insight
from tests.linear_support import FakeTime, timed_client


@pytest.fixture
def fake() -> Iterator[FakeLinear]:
    with FakeLinear() as server:
        yield server


def _tracker(fake: FakeLinear, key: str = API_KEY, policy: str = "comment",
             timeout: float = 5.0) -> LinearTracker:
    env = {"LINEAR_API_KEY": key, "LINEAR_TEAM_ID": TEAM, "DOCLOOP_LINEAR_API_URL": fake.url,
           "DOCLOOP_LINEAR_LABELS": "docs,missing-label", "LINEAR_PROJECT_ID": "proj-1",
           "DOCLOOP_LINEAR_REOPEN_POLICY": policy}
    settings = load_settings(environ=env)
    http = httpx.Client(base_url=fake.url, timeout=timeout, headers={"Authorization": key})
    tracker = LinearTracker.from_settings(settings, http=http)
    tracker.client.sleep = lambda seconds: None
    return tracker


def _threaded():  # type: ignore[no-untyped-def]
    item = insight()
    item.threads = [ThreadLink(id="1", name="CORS", url="https://discord.com/channels/1/2/1")]
    return item


def test_issue_ids_are_valid_uuid4_and_stable() -> None:
    value = uuid.UUID(issue_uuid("DL-abc"))
    assert value.version == 4 and value.variant == uuid.RFC_4122
    assert issue_uuid("DL-abc") == str(value) != issue_uuid("DL-abd")
    assert [priority_for(s) for s in (12, 7, 2)] == [2, 3, 4]


def test_create_files_issue_with_team_project_labels_and_thread_links(fake: FakeLinear) -> None:
    filed = _tracker(fake).create("DL-1", _threaded())
    issue = fake.issues[issue_uuid("DL-1")]
    assert filed.external_id == issue_uuid("DL-1") and filed.identifier == "DOC-1"
    assert issue["teamId"] == TEAM and issue["projectId"] == "proj-1"
    assert issue["labelIds"] == ["label-docs"]  # the unknown label is skipped with a warning
    assert "What users said" in issue["description"]
    assert (issue["id"], "https://discord.com/channels/1/2/1") in fake.attachments


def test_crash_between_request_and_response_never_files_twice(fake: FakeLinear) -> None:
    tracker = _tracker(fake)
    tracker._labels()  # resolved up front so the fault hits the create itself
    fake.faults.extend(["ok", "drop"])  # the look-up answers; issueCreate is dropped
    filed = tracker.create("DL-1", _threaded())
    assert len(fake.issues) == 1 and filed.external_id == issue_uuid("DL-1")
    assert sum("issueCreate" in q for q in fake.requests) == 1
    again = _tracker(fake).create("DL-1", _threaded())  # a re-run after the crash
    assert again.external_id == filed.external_id and len(fake.issues) == 1


def test_rate_limits_and_server_errors_are_retried(fake: FakeLinear) -> None:
    fake.faults.extend(["ratelimited", "500"])
    _tracker(fake).create("DL-1", insight())
    assert len(fake.issues) == 1


DOCS = {"names": ["docs"]}  # a read that succeeds


@pytest.fixture
def timed() -> Iterator[tuple[FakeLinear, FakeTime, LinearClient]]:
    with timed_client() as parts:
        yield parts


@pytest.mark.parametrize("fault", ["spent", "spent-complexity"])
def test_a_spent_budget_holds_the_next_request_until_its_reset(
        timed: tuple[FakeLinear, FakeTime, LinearClient], fault: str) -> None:
    fake, clock, client = timed
    fake.faults.append(fault)  # answered normally, but the budget is now 0
    client.query(LABELS, DOCS)
    assert clock.sleeps == []  # nothing to wait for until another request is due
    client.execute(LABELS, DOCS)
    assert clock.sleeps == [(30.0, 1)]  # waited before the second request was sent
    assert len(fake.requests) == 2
    client.execute(LABELS, DOCS)
    assert len(clock.sleeps) == 1  # the budget had room again: no further wait


def test_budget_waits_are_capped_and_past_resets_are_not_waited_for(
        timed: tuple[FakeLinear, FakeTime, LinearClient]) -> None:
    fake, clock, client = timed
    fake.reset_after_s = 3600.0
    fake.faults.append("spent")
    client.execute(LABELS, DOCS)
    client.execute(LABELS, DOCS)
    assert clock.sleeps == [(MAX_WAIT_S, 1)]
    fake.reset_after_s = -5.0  # a reset already in the past
    fake.faults.append("spent")
    client.execute(LABELS, DOCS)
    client.execute(LABELS, DOCS)
    assert len(clock.sleeps) == 1


def test_retries_wait_through_the_injected_sleep(
        timed: tuple[FakeLinear, FakeTime, LinearClient]) -> None:
    fake, clock, client = timed
    fake.faults.append("500")
    client.query(LABELS, DOCS)
    assert clock.sleeps == [(1.0, 1)] and len(fake.requests) == 2


def test_timeouts_are_retried_after_checking(fake: FakeLinear) -> None:
    fake.faults.append("slow")
    _tracker(fake, timeout=0.5).create("DL-1", insight())
    assert len(fake.issues) == 1


def test_bad_key_is_a_clear_permanent_error(fake: FakeLinear) -> None:
    with pytest.raises(PermanentError, match="LINEAR_API_KEY"):
        _tracker(fake, key="wrong").create("DL-1", insight())
    assert fake.issues == {}


def test_missing_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="LINEAR_API_KEY"):
        LinearTracker.from_settings(load_settings(environ={"LINEAR_TEAM_ID": "t"}))
    with pytest.raises(ConfigError, match="LINEAR_TEAM_ID"):
        LinearTracker.from_settings(load_settings(environ={"LINEAR_API_KEY": "k"}))


def test_recurring_insight_comments_instead_of_filing(fake: FakeLinear) -> None:
    tracker, records = _tracker(fake), SQLiteRecordStore(db.memory())
    first = file_insight(insight(), tracker, records, BASE)
    grown = insight(conversations=("1", "2", "3"), messages=("1", "2", "3"),
                    quotes=("a", "b", "it still fails"))
    second = file_insight(grown, tracker, records, BASE)
    assert (first.action, second.action) == ("created", "updated")
    assert len(fake.issues) == 1 and len(fake.comments) == 1
    assert "it still fails" in fake.comments[0]["body"]
    assert file_insight(grown, tracker, records, BASE).action == "unchanged"
    assert len(fake.comments) == 1


def _grown():  # type: ignore[no-untyped-def]
    return insight(conversations=("1", "2", "3"), messages=("1", "2", "3"),
                   quotes=("a", "b", "it still fails"))


def test_evidence_comment_survives_a_dropped_answer_without_posting_twice(
        fake: FakeLinear) -> None:
    tracker, records = _tracker(fake), SQLiteRecordStore(db.memory())
    ref = file_insight(insight(), tracker, records, BASE)
    sent = len(fake.requests)
    fake.faults.extend(["ok", "drop"])  # look-up answers; commentCreate applied, answer lost
    assert file_insight(_grown(), tracker, records, BASE).action == "updated"
    assert sum("commentCreate" in q for q in fake.requests[sent:]) == 1
    assert len(fake.comments) == 1
    comment = fake.comments[0]
    marker = evidence_marker(ref.id, EvidenceDelta(new_conversation_ids=["3"],
                                                   new_message_ids=["3"]))
    assert comment["body"].rstrip().endswith(f"docloop evidence `{marker}`")
    assert comment["id"] == issue_uuid(f"comment:{marker}")
    assert uuid.UUID(comment["id"]).version == 4


def test_a_rerun_after_a_crash_finds_the_comment_by_its_marker(fake: FakeLinear) -> None:
    tracker, records = _tracker(fake), SQLiteRecordStore(db.memory())
    ref = file_insight(insight(), tracker, records, BASE)
    record = records.get(ref.id)
    assert record is not None
    delta = EvidenceDelta(new_conversation_ids=["3"], new_message_ids=["3"])
    tracker.update(record, _grown(), delta)  # then docloop crashes before storing the record
    fake.comments[0]["id"] = "server-chose-this"  # even if Linear ignored the client id
    tracker.update(record, _grown(), delta)
    assert len(fake.comments) == 1
    other = EvidenceDelta(new_conversation_ids=["4"], new_message_ids=["4"])
    tracker.update(record, _grown(), other)  # different evidence is a different comment
    assert len(fake.comments) == 2


@pytest.mark.parametrize(("policy", "issues", "state"), [
    ("comment", 1, "triage"), ("reopen", 1, "unstarted"), ("new-linked-issue", 2, "triage")])
def test_regression_policies(fake: FakeLinear, policy: str, issues: int, state: str) -> None:
    tracker, records = _tracker(fake, policy=policy), SQLiteRecordStore(db.memory())
    ref = file_insight(insight(), tracker, records, BASE)
    records.set_status(ref.id, "done", BASE, "linear-webhook")
    back = file_insight(insight(conversations=("1", "2", "9"), messages=("1", "2", "9")),
                        tracker, records, BASE)
    assert len(fake.issues) == issues
    assert fake.issues[issue_uuid(ref.id)]["state"]["type"] == state
    if policy == "new-linked-issue":
        assert back.action == "created" and fake.relations[0]["type"] == "related"
        assert fake.relations[0]["relatedIssueId"] == issue_uuid(ref.id)
    else:
        assert back.status == "regressed" and len(fake.comments) == 1
        assert fake.comments[0]["body"].startswith("**Regression:**")


def test_an_issue_on_a_section_with_open_issues_lists_and_links_them(fake: FakeLinear) -> None:
    """Insights matched to one docs section are often one problem split in two: the new
    issue lists the open one in its description and is `related` to it in Linear."""
    tracker, records = _tracker(fake), SQLiteRecordStore(db.memory())
    first = file_insight(insight(), tracker, records, BASE)
    second = file_insight(insight("ins_b", messages=("3", "4"), conversations=("3", "4")),
                          tracker, records, BASE)
    assert second.related == [first.id]
    old, new = issue_uuid(first.id), issue_uuid(second.id)
    assert [(r["issueId"], r["relatedIssueId"], r["type"]) for r in fake.relations] == [
        (new, old, "related")]
    description = fake.issues[new]["description"]
    assert "**Also open on this section**" in description
    assert "[DOC-1](https://linear.app/i/1) — How do I allow my frontend origin? (open)" in (
        description)
    assert "Also open" not in fake.issues[old]["description"]
    grown = file_insight(insight(messages=("1", "2", "5"), conversations=("1", "2", "5")),
                         tracker, records, BASE)
    assert grown.action == "updated" and len(fake.relations) == 1  # a comment, no new link


def test_links_to_several_open_issues_read_the_new_issues_links_once(
        fake: FakeLinear) -> None:
    tracker, records = _tracker(fake), SQLiteRecordStore(db.memory())
    open_ones = [file_insight(insight(f"ins_{n}", messages=(f"{n}1", f"{n}2"),
                                      conversations=(f"{n}1", f"{n}2")), tracker, records, BASE)
                 for n in range(3)]
    before = len(fake.requests)
    fourth = file_insight(insight("ins_x", messages=("x1", "x2"), conversations=("x1", "x2")),
                          tracker, records, BASE)
    assert sorted(fourth.related) == sorted(ref.id for ref in open_ones)
    new = issue_uuid(fourth.id)
    assert sorted(r["relatedIssueId"] for r in fake.relations if r["issueId"] == new) == sorted(
        issue_uuid(ref.id) for ref in open_ones)
    assert sum("inverseRelations" in q for q in fake.requests[before:]) == 1


def _regress(tracker: LinearTracker, records: SQLiteRecordStore) -> TicketRef:
    """File an insight, mark it done, and bring its problem back."""
    ref = file_insight(insight(), tracker, records, BASE)
    records.set_status(ref.id, "done", BASE, "linear-webhook")
    return ref


def test_linked_issue_relation_survives_a_dropped_answer_without_linking_twice(
        fake: FakeLinear) -> None:
    tracker, records = _tracker(fake, policy="new-linked-issue"), SQLiteRecordStore(db.memory())
    ref = _regress(tracker, records)
    fake.fault_on("issueRelationCreate", "drop")  # the link is made, its answer lost
    back = file_insight(insight(conversations=("1", "2", "9"), messages=("1", "2", "9")),
                        tracker, records, BASE)
    assert back.action == "created" and len(fake.issues) == 2
    assert sum("issueRelationCreate" in q for q in fake.requests) == 1
    old, new = issue_uuid(ref.id), issue_uuid(f"{ref.id}:regression")
    assert [(r["issueId"], r["relatedIssueId"], r["type"]) for r in fake.relations] == [
        (new, old, "related")]
    assert uuid.UUID(fake.relations[0]["id"]).version == 4
    record = records.get(ref.id)
    assert record is not None
    delta = EvidenceDelta(new_conversation_ids=["9"], new_message_ids=["9"], regression=True)
    tracker.update(record, insight(), delta)  # a re-run after a crash before the record
    assert len(fake.relations) == 1 and len(fake.issues) == 2


def test_an_existing_link_either_way_round_is_not_made_again(fake: FakeLinear) -> None:
    tracker, records = _tracker(fake, policy="new-linked-issue"), SQLiteRecordStore(db.memory())
    ref = _regress(tracker, records)
    old, new = issue_uuid(ref.id), issue_uuid(f"{ref.id}:regression")
    fake.relations.append({"id": "by-hand", "issueId": old, "relatedIssueId": new,
                           "type": "blocks"})  # someone linked them already, the other way
    file_insight(insight(conversations=("1", "2", "9"), messages=("1", "2", "9")),
                 tracker, records, BASE)
    assert len(fake.issues) == 2 and [r["id"] for r in fake.relations] == ["by-hand"]
    assert not any("issueRelationCreate" in q for q in fake.requests)


def _linear_env(fake: FakeLinear, monkeypatch: pytest.MonkeyPatch) -> SQLiteRecordStore:
    for name, value in {"LINEAR_API_KEY": API_KEY, "LINEAR_TEAM_ID": TEAM,
                        "DOCLOOP_LINEAR_API_URL": fake.url, "DOCLOOP_TRACKER": "linear"}.items():
        monkeypatch.setenv(name, value)
    return SQLiteRecordStore(db.connect(load_settings().db_path))


def _sync() -> str:
    result = CliRunner().invoke(main, ["tickets", "sync"])
    assert result.exit_code == 0, result.output
    return result.output


def test_tickets_sync_pulls_states(fake: FakeLinear, monkeypatch: pytest.MonkeyPatch) -> None:
    records = _linear_env(fake, monkeypatch)
    ref = file_insight(insight(), LinearTracker.from_settings(load_settings()), records, BASE)
    fake.set_state(issue_uuid(ref.id), "started")
    assert "1 changed" in _sync()
    record = records.get(ref.id)
    assert record is not None and record.status == "in_progress"
    assert record.history[-1].source == "linear-sync"


DAY = timedelta(days=1)


@pytest.mark.parametrize(("state", "after", "expected"), [
    ("completed", False, "regressed"),  # still completed, nothing changed since
    ("unstarted", False, "regressed"),  # docloop's own reopen, just before it recorded it
    ("started", True, "in_progress"),   # someone picked it up after the regression
    ("completed", True, "done"),        # reopened and completed again since
])
def test_tickets_sync_moves_a_regressed_ticket_only_after_a_later_state_change(
        fake: FakeLinear, monkeypatch: pytest.MonkeyPatch, state: str, after: bool,
        expected: str) -> None:
    records = _linear_env(fake, monkeypatch)
    tracker = LinearTracker.from_settings(load_settings())
    ref = file_insight(insight(), tracker, records, BASE)
    issue = issue_uuid(ref.id)
    fake.set_state(issue, "completed", at=BASE + DAY)
    records.set_status(ref.id, "done", BASE + DAY, "linear-sync")
    back = file_insight(insight(conversations=("1", "2", "9"), messages=("1", "2", "9")),
                        tracker, records, BASE + 2 * DAY)  # the problem came back
    assert back.status == "regressed"
    if state != "completed" or after:
        moved = BASE + 3 * DAY if after else BASE + 2 * DAY - timedelta(seconds=1)
        fake.set_state(issue, state, at=moved)
    output = _sync()
    record = records.get(ref.id)
    assert record is not None and record.status == expected
    assert ("1 kept regressed" in output) == (expected == "regressed")
    assert fake.requests[-1].count("stateHistory") == 1


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tidepool"
MUTATIONS = ("issueCreate", "commentCreate", "attachmentLinkURL", "issueUpdate",
             "issueRelationCreate")


def _linear_cli(fake: FakeLinear, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI at the fake Linear and index the example's docs."""
    for name, value in {"LINEAR_API_KEY": API_KEY, "LINEAR_TEAM_ID": TEAM,
                        "DOCLOOP_LINEAR_API_URL": fake.url}.items():
        monkeypatch.setenv(name, value)
    indexed = CliRunner().invoke(main, ["index-docs", str(EXAMPLE / "docs"), "--base-url",
                                        "https://docs.tidepool.example/"])
    assert indexed.exit_code == 0, indexed.output


def _cli_run(out: Path, discord: Path = EXAMPLE / "discord") -> dict[str, Any]:
    result = CliRunner().invoke(main, ["run", "--source", f"discord-export:{discord}",
                                       "--since", "all", "--tracker", "linear",
                                       "--json", str(out)])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report


def test_docloop_run_files_into_linear_once_and_a_second_run_files_nothing(
        fake: FakeLinear, tmp_path: Path, minilm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole loop through the CLI: bundled example, fake Linear, one dropped answer."""
    _linear_cli(fake, monkeypatch)
    fake.faults.extend(["ok", "drop"])  # the first issueCreate is applied, its answer lost
    first = _cli_run(tmp_path / "one.json")
    tickets = [i["ticket"] for i in first["insights"] if i["ticket"]]
    assert len(tickets) >= 3
    assert {t["tracker"] for t in tickets} == {"linear"}
    assert {t["action"] for t in tickets} == {"created"}
    assert {t["external_id"] for t in tickets} == set(fake.issues)
    assert sum("issueCreate" in q for q in fake.requests) == len(fake.issues)
    assert fake.requests.count(FIND) == len(fake.issues) + 1  # the lost answer was looked up
    sent = len(fake.requests)
    second = _cli_run(tmp_path / "two.json")
    assert [i["id"] for i in second["insights"]] == [i["id"] for i in first["insights"]]
    assert {i["ticket"]["action"] for i in second["insights"] if i["ticket"]} == {"unchanged"}
    assert [q for q in fake.requests[sent:] if any(m in q for m in MUTATIONS)] == []
    assert len(fake.issues) == len(tickets) and fake.comments == []


class Killed(BaseException):
    """The process dies here: not an error any `except Exception` would record."""


def test_a_run_killed_after_a_create_before_its_record_files_nothing_twice(
        fake: FakeLinear, tmp_path: Path, minilm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed between Linear's answer and docloop's record: the re-run finds the issue."""
    _linear_cli(fake, monkeypatch)

    def killed(self: SQLiteRecordStore, record: Any) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(SQLiteRecordStore, "put", killed)
        with pytest.raises(Killed):
            CliRunner().invoke(main, ["run", "--source", f"discord-export:{EXAMPLE / 'discord'}",
                                      "--since", "all", "--tracker", "linear"],
                               catch_exceptions=False)
    assert len(fake.issues) == 1  # filed in Linear, never recorded by docloop
    (lost,) = fake.issues
    report = _cli_run(tmp_path / "after.json")
    tickets = [i["ticket"] for i in report["insights"] if i["ticket"]]
    assert lost in {t["external_id"] for t in tickets}
    assert {t["external_id"] for t in tickets} == set(fake.issues)
    assert sum("issueCreate" in q for q in fake.requests) == len(fake.issues)


def _add_to_thread(folder: Path, thread_id: str, text: str) -> str:
    """Append a message by a new user to a thread's export file; returns its id."""
    (path,) = folder.glob(f"*[[]{thread_id}[]].json")
    export = json.loads(path.read_text(encoding="utf-8"))
    last = export["messages"][-1]
    new_id = str(int(last["id"]) + (1 << 22) * 60_000)  # a minute later
    author = {**last["author"], "id": "1999999999999999999", "name": "latecomer",
              "nickname": "Latecomer", "isBot": False}
    export["messages"].append({**last, "id": new_id, "content": text, "author": author,
                               "reactions": [], "mentions": [], "attachments": []})
    path.write_text(json.dumps(export), encoding="utf-8")
    return new_id


def test_docloop_run_updates_a_linear_issue_with_new_evidence_once(
        fake: FakeLinear, tmp_path: Path, minilm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files, then new evidence: one comment on the same issue, then nothing more."""
    _linear_cli(fake, monkeypatch)
    discord = tmp_path / "discord"
    shutil.copytree(EXAMPLE / "discord", discord)
    first = _cli_run(tmp_path / "one.json", discord)
    target = next(i for i in first["insights"] if i["ticket"] and any(
        list(discord.glob(f"*[[]{c}[]].json")) for c in i["conversation_ids"]))
    thread = next(c for c in target["conversation_ids"] if list(discord.glob(f"*[[]{c}[]].json")))
    _add_to_thread(discord, thread, "same here, this still fails for us after the upgrade")
    second = _cli_run(tmp_path / "two.json", discord)
    actions = {i["id"]: i["ticket"]["action"] for i in second["insights"] if i["ticket"]}
    assert actions[target["id"]] == "updated"
    assert [c["issueId"] for c in fake.comments] == [target["ticket"]["external_id"]]
    sent = len(fake.requests)
    third = _cli_run(tmp_path / "three.json", discord)
    assert {i["ticket"]["action"] for i in third["insights"] if i["ticket"]} == {"unchanged"}
    assert [q for q in fake.requests[sent:] if any(m in q for m in MUTATIONS)] == []
    assert len(fake.comments) == 1
