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
