"""The AWS workflow end to end: the real state machine definition, executed by moto's
Step Functions engine, its Lambda tasks running docloop's handlers (tests/aws_bridge.py),
S3, DynamoDB and Secrets Manager in moto, Linear a local fake.

A week with more conversations than one state payload holds (> 256 KB) and more than
40 insights; one insight's `issueCreate` fails for good. The execution succeeds,
every other insight is filed once, the report names the failure; a second execution
with nothing new reuses the analysis (no extraction or embedding) and files nothing.
One execution runs at a time: another one meanwhile retries Ingest (waiting out a short
holder such as a review decision), then ends `RunLocked` having written nothing, and a
failed execution gives the run lease back.
The stack is deployed with EmbedderMode=local-image, so the steps that
embed run as the container-image functions with the local model.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from graphql import GraphQLResolveInfo

from docloop.aws.clients import AWSClients
from docloop.aws.run_lease import RunLease
from docloop.cli import main
from docloop.config import Settings
from docloop.errors import TransientError
from tests.aws_bridge import CONTAINER_THREAD, Invocation, bridge_lambda
from tests.aws_stack import REGION, Stack, deploy, history, load_definition, run_execution
from tests.aws_workload import generate
from tests.fake_linear import API_KEY, TEAM, FakeLinear, input_error

moto = pytest.importorskip("moto")
pytestmark = [pytest.mark.aws, pytest.mark.usefixtures("minilm")]

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "examples" / "tidepool" / "docs"
FAILING_TOPIC = "Zebrafish"
STATE_LIMIT = 256 * 1024
LOCK_RETRIES = next(r["MaxAttempts"] for r in json.loads(load_definition())["States"]["Ingest"]
                    ["Retry"] if r["ErrorEquals"] == ["RunLocked"])


class RefusingLinear(FakeLinear):
    """Linear refusing, every time, to create the issue about one topic (a bad input)."""

    def m_issue_create(self, _: Any, info: GraphQLResolveInfo,
                       input: dict[str, Any]) -> dict[str, Any]:
        if FAILING_TOPIC in str(input.get("title", "")):
            raise input_error("Argument Validation Error",
                              "The issue could not be created: title rejected.")
        return super().m_issue_create(_, info, input)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                        "POWERTOOLS_METRICS_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    from docloop.aws import handlers

    handlers.reset_container()


@contextmanager
def _deployed(tmp_path: Path, linear: FakeLinear, export: Path) -> Iterator[
        tuple[Stack, list[Invocation]]]:
    """The template's stack in moto, its functions bridged to the handlers."""
    indexed = CliRunner().invoke(main, ["index-docs", str(DOCS)], catch_exceptions=False)
    assert indexed.exit_code == 0, indexed.output
    with moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True},
                               "lambda": {"use_docker": False}}), bridge_lambda() as calls:
        stack = deploy(
            parameters={"Sources": f"discord-export:{export.parent}", "Tracker": "linear",
                        "LinearTeamId": TEAM, "MaxInsights": "0", "MaxConcurrency": "4",
                        "EmbedderMode": "local-image", "DocsIndex": "sqlite"},
            environment={"DOCLOOP_HOME": str(tmp_path / "home"),
                         "DOCLOOP_LINEAR_API_URL": linear.url},
            secret={"LINEAR_API_KEY": API_KEY, "LINEAR_WEBHOOK_SECRET": "whsec-test"})
        yield stack, calls


@pytest.fixture
def workflow(tmp_path: Path, aws_env: None) -> Iterator[tuple[Stack, FakeLinear,
                                                              list[Invocation], Path]]:
    export = generate(tmp_path / "export")
    with RefusingLinear() as linear, _deployed(tmp_path, linear, export) as (stack, calls):
        yield stack, linear, calls, export


def _report(stack: Stack, key: str) -> dict[str, Any]:
    body = boto3.client("s3", region_name=REGION).get_object(
        Bucket=stack.names["ArtifactsBucket"], Key=key)["Body"].read()
    data: dict[str, Any] = json.loads(body)
    return data


def _no_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, extracting, embedding or clustering a window fails the test."""
    from docloop import steps

    def analysed_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the window was analysed again")

    monkeypatch.setattr(steps, "analyse", analysed_again)


def _clients_made_in_functions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From here on, the service of every boto3 client a bridged function builds. Each costs
    a service-model load (about 0.3 s): a warm Lambda that builds one per invocation pays
    that on every task."""
    import botocore.session

    made: list[str] = []
    original = botocore.session.Session.create_client

    def counting(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name.startswith(CONTAINER_THREAD):
            made.append(service_name)
        return original(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    return made


def _failure(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The execution's error and cause, from its history."""
    failed: dict[str, Any] = next(e for e in events if e["type"] == "ExecutionFailed")
    return dict(failed["executionFailedEventDetails"])


def _lease(stack: Stack) -> RunLease:
    settings = Settings.model_validate({"store": "dynamodb",
                                        "dynamodb_table": stack.names["StateTable"],
                                        "s3_bucket": stack.names["ArtifactsBucket"]})
    return RunLease(AWSClients.from_settings(settings, need_bucket=True))


@pytest.mark.timeout(900)  # two executions of 44 insights each, on a shared 2-core machine
def test_a_week_runs_as_the_deployed_workflow_and_a_rerun_files_nothing(
        workflow: tuple[Stack, FakeLinear, list[Invocation], Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    stack, linear, calls, export = workflow
    assert export.stat().st_size > STATE_LIMIT

    first = run_execution(stack, "week-1", {"since": "all"})
    assert first["status"] == "SUCCEEDED", first.get("cause") or first.get("error")
    output = json.loads(first["output"])
    assert len(first["output"]) < 1024  # keys and counts, never the payloads
    report = _report(stack, output["report_key"])
    conversations = report["stats"]["conversations"]
    assert conversations > 300 and report["stats"]["insights"] > 40
    failed = [i for i in report["insights"] if i["error"]]
    assert len(failed) == 1 and FAILING_TOPIC in failed[0]["title"]
    assert failed[0]["ticket"] is None
    assert len(report["errors"]) == 1 and "Argument Validation Error" in report["errors"][0]
    filed = [i for i in report["insights"] if i["ticket"]]
    assert len(filed) == len(report["insights"]) - 1
    assert {i["ticket"]["action"] for i in filed} == {"created"}
    assert len(linear.issues) == len(filed)  # each once: no retry filed twice
    assert output["failed"] == 1 and output["filed"] == len(filed)
    events = history(first["executionArn"])
    assert all(len(json.dumps(e, default=str)) < STATE_LIMIT for e in events)
    # the local model runs as the image functions (EmbedderMode=local-image)
    assert {c.function for c in calls} >= {"docloop-IngestImageFunction",
                                           "docloop-AnalyseImageFunction",
                                           "docloop-InsightImageFunction",
                                           "docloop-ReportFunction"}

    assert _lease(stack).holder() is None  # the report gave the run lease back

    _no_analysis(monkeypatch)
    made = _clients_made_in_functions(monkeypatch)
    second = run_execution(stack, "week-1-again", {"since": "all"})
    assert made == []  # a warm container reuses every AWS client it built
    assert second["status"] == "SUCCEEDED", second.get("cause")
    again = _report(stack, json.loads(second["output"])["report_key"])
    assert "nothing changed since run week-1" in again["stats"]["analysis_reused"]
    assert again["stats"]["embedded"] == 0
    assert [i["id"] for i in again["insights"]] == [i["id"] for i in report["insights"]]
    assert len(linear.issues) == len(filed)  # nothing new filed
    actions = {i["ticket"]["action"] for i in again["insights"] if i["ticket"]}
    assert actions == {"unchanged"}
    assert again["stats"]["messages"] == 0
    table = boto3.client("dynamodb", region_name=REGION).scan(
        TableName=stack.names["StateTable"])["Items"]
    done = [i for i in table if i["pk"]["S"] == "idempotency#insight"]
    assert len(done) == 2 * report["stats"]["insights"]  # one record per task and run


def test_an_execution_while_another_holds_the_lease_ends_locked_having_written_nothing(
        tmp_path: Path, aws_env: None) -> None:
    export = generate(tmp_path / "export", topics=4, per_topic=3, noise=5)
    with FakeLinear() as linear, _deployed(tmp_path, linear, export) as (stack, calls):
        lease = _lease(stack)
        lease.acquire("still-running")
        locked = run_execution(stack, "overlap", {"since": "all"})
        events = history(locked["executionArn"])
        ran = {c.function for c in calls}
        attempts = len(calls)
        items = boto3.client("dynamodb", region_name=REGION).scan(
            TableName=stack.names["StateTable"])["Items"]
        written = boto3.client("s3", region_name=REGION).list_objects_v2(
            Bucket=stack.names["ArtifactsBucket"]).get("KeyCount", 0)
        assert lease.holder() == "still-running"  # the locked run freed nothing
        lease.release("still-running")
        later = run_execution(stack, "later", {"since": "all"})
        assert later["status"] == "SUCCEEDED", later.get("cause")
        assert lease.holder() is None
    assert locked["status"] == "FAILED"
    details = _failure(events)
    assert details["error"] == "RunLocked"
    assert "run still-running is still running" in details["cause"]
    assert ran == {"docloop-IngestImageFunction"}
    assert attempts == 1 + LOCK_RETRIES  # retried, then ended Locked
    assert [i["pk"]["S"] for i in items] == ["RUN_LEASE"] and written == 0
    assert linear.issues


def _release_after_first_ingest(lease: RunLease, calls: list[Invocation], holder: str,
                                wait: float = 120.0) -> None:
    """Release the lease once the first Ingest has run (and found it held): a release
    timed in seconds raced the first Ingest on a loaded machine, which then ran once."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not any(
            c.function == "docloop-IngestImageFunction" for c in list(calls)):
        time.sleep(0.05)
    lease.release(holder)


def test_an_execution_waits_out_a_short_lease_holder_and_then_runs(
        tmp_path: Path, aws_env: None) -> None:
    """A review decision or `tickets sync` holds the lease for seconds: a scheduled
    execution that starts then retries Ingest instead of skipping its week."""
    export = generate(tmp_path / "export", topics=4, per_topic=3, noise=5)
    with FakeLinear() as linear, _deployed(tmp_path, linear, export) as (stack, calls):
        lease = _lease(stack)
        lease.acquire("cli-review")
        releaser = threading.Thread(target=_release_after_first_ingest,
                                    args=(lease, calls, "cli-review"))
        releaser.start()
        try:
            done = run_execution(stack, "after-review", {"since": "all"})
        finally:
            releaser.join()
        ingests = [c for c in calls if c.function == "docloop-IngestImageFunction"]
        assert done["status"] == "SUCCEEDED", done.get("cause")
        assert 2 <= len(ingests) <= 1 + LOCK_RETRIES
        assert lease.holder() is None
        assert linear.issues


def test_a_failed_execution_gives_the_lease_back_and_keeps_its_error(
        tmp_path: Path, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from docloop.aws import handlers

    def broken(ctx: Any, ingested: Any) -> Any:
        raise RuntimeError("out of memory while clustering")

    monkeypatch.setattr(handlers, "analyse_step", broken)
    export = generate(tmp_path / "export", topics=3, per_topic=3, noise=5)
    with FakeLinear() as linear, _deployed(tmp_path, linear, export) as (stack, _):
        run = run_execution(stack, "broken", {"since": "all"})
        events = history(run["executionArn"])
        holder = _lease(stack).holder()
    assert run["status"] == "FAILED"
    details = _failure(events)
    assert details["error"] == "RuntimeError"
    assert "out of memory while clustering" in details["cause"]
    assert any(e["type"] == "TaskStateEntered" and
               e["stateEnteredEventDetails"]["name"] == "ReleaseLease" for e in events)
    assert holder is None and not linear.issues


def _crash_one_and_flake_another(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """Rank 0's task dies every time (as on a timeout); rank 1's fails transiently once."""
    from docloop.aws import handlers

    real = handlers.insight_step
    attempts: dict[int, int] = {}

    def flaky(ctx: Any, task: Any) -> Any:
        attempts[task.rank] = attempts.get(task.rank, 0) + 1
        if task.rank == 0:
            raise RuntimeError("Task timed out after 300.00 seconds")
        if task.rank == 1 and attempts[1] == 1:
            raise TransientError("Linear answered 503")
        return real(ctx, task)

    monkeypatch.setattr(handlers, "insight_step", flaky)
    return attempts


def test_a_crashed_task_is_caught_and_recorded_and_a_transient_one_retried(
        tmp_path: Path, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    export = generate(tmp_path / "export", topics=6, per_topic=3, noise=10)
    attempts = _crash_one_and_flake_another(monkeypatch)
    with FakeLinear() as linear, _deployed(tmp_path, linear, export) as (stack, calls):
        run = run_execution(stack, "crash", {"since": "all"})
        assert run["status"] == "SUCCEEDED", run.get("cause")
        report = _report(stack, json.loads(run["output"])["report_key"])
    assert attempts[0] == 1  # a function error other than TransientError is not retried
    assert attempts[1] == 2  # TransientError: retried by the definition, then filed
    crashed = report["insights"][0]
    assert crashed["ticket"] is None
    assert "RuntimeError: Task timed out" in crashed["error"]
    assert report["errors"] == [crashed["error"]]
    assert all(i["ticket"] for i in report["insights"][1:])
    assert len(linear.issues) == len(report["insights"]) - 1
    assert sum(1 for c in calls if c.error) == 2


def test_the_execution_fails_only_when_every_insight_failed(
        tmp_path: Path, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from docloop.aws import handlers

    export = generate(tmp_path / "export", topics=4, per_topic=3, noise=5)

    def broken(ctx: Any, task: Any) -> Any:
        raise RuntimeError("docs index unreachable")

    monkeypatch.setattr(handlers, "insight_step", broken)
    with FakeLinear() as linear, _deployed(tmp_path, linear, export) as (stack, _):
        run = run_execution(stack, "all-fail", {"since": "all"})
        assert run["status"] == "FAILED"
        events = history(run["executionArn"])
        report = _report(stack, "runs/all-fail/report.json")
        assert _lease(stack).holder() is None
    failed = [e for e in events if e["type"] == "ExecutionFailed"]
    assert failed[0]["executionFailedEventDetails"]["error"] == "AllInsightsFailed"
    assert report["insights"] and all(i["error"] for i in report["insights"])
    assert not linear.issues
