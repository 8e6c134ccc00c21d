"""The run lease on AWS (moto): one execution at a time, a crashed run's lease lapses.

Locally `docloop.lock` keeps one run per home; on AWS a run spans several
Lambdas, so it is a DynamoDB item taken with a conditional put. The workflow
tests (tests/test_aws_workflow.py) check the state machine's side of it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from docloop.aws.clients import AWSClients
from docloop.aws.run_lease import LEASE_S, RunLease, RunLocked
from docloop.config import Settings
from tests.aws_support import aws_settings

pytestmark = pytest.mark.aws


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_one_run_holds_the_lease_until_it_gives_it_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with aws_settings(tmp_path, monkeypatch) as settings:
        clock = Clock()
        lease = RunLease(AWSClients.from_settings(settings), clock)
        lease.acquire("week-1")
        lease.acquire("week-1")  # a retried ingest of the same run
        with pytest.raises(RunLocked, match="run week-1 is still running") as locked:
            lease.acquire("week-2")
        assert "week-2 stopped before writing anything" in str(locked.value)
        assert "pk=RUN_LEASE" in str(locked.value)
        assert lease.release("week-2") is False  # never another run's lease
        assert lease.holder() == "week-1"
        assert lease.release("week-1") is True
        assert lease.holder() is None
        lease.acquire("week-2")
        assert lease.holder() == "week-2"


def test_a_crashed_runs_lease_lapses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with aws_settings(tmp_path, monkeypatch) as settings:
        clock = Clock()
        lease = RunLease(AWSClients.from_settings(settings), clock)
        lease.acquire("crashed")
        clock.now += LEASE_S - 1
        with pytest.raises(RunLocked):
            lease.acquire("next")
        clock.now += 2
        assert lease.holder() is None
        lease.acquire("next")
        assert lease.holder() == "next"
        assert lease.release("crashed") is False


def _step_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """The environment the deployed functions read (store, table, bucket)."""
    monkeypatch.setenv("DOCLOOP_HOME", str(settings.home))
    monkeypatch.setenv("DOCLOOP_STORE", "dynamodb")
    monkeypatch.setenv("DOCLOOP_DYNAMODB_TABLE", str(settings.dynamodb_table))
    monkeypatch.setenv("DOCLOOP_S3_BUCKET", str(settings.s3_bucket))


def test_every_step_renews_the_runs_lease_and_a_run_that_lost_it_stops(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from docloop.aws import handlers
    from docloop.aws.dynamodb_io import get
    from docloop.errors import InputError
    from tests.aws_bridge import LambdaContext

    with aws_settings(tmp_path, monkeypatch) as settings:
        _step_env(monkeypatch, settings)
        handlers.reset_container()
        clients = AWSClients.from_settings(settings)
        lease = RunLease(clients)
        lease.acquire("week-1", lease_s=5)  # about to lapse
        context = LambdaContext("analyse", 1024, "arn:test", 300)
        with pytest.raises(InputError, match="ingest_key"):  # renewed, then the step ran
            handlers.analyse({"run_id": "week-1"}, context)
        assert int(get(clients, "RUN_LEASE")["expires_at"]) >= int(
            get(clients, "RUN_LEASE")["taken_at"]) + LEASE_S
        lease.release("week-1")
        lease.acquire("week-2")  # week-1's lease lapsed and another run took it
        item = {"rank": 0, "insight_id": "ins_x", "task_key": "runs/week-1/task-0000.json"}
        with pytest.raises(RunLocked, match="run week-2 is still running"):
            handlers.insight({"run_id": "week-1", "item": item}, context)
        with pytest.raises(RunLocked):
            handlers.analyse({"run_id": "week-1", "ingest_key": "k"}, context)
        assert lease.holder() == "week-2"
        handlers.reset_container()
