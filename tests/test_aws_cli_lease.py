"""A CLI `docloop run` on store = "dynamodb" keeps to the table's run lease (moto).

The Step Functions run takes the lease at ingest (tests/test_aws_lease.py); a CLI
run against the same table must not run beside it, and must not leave a lease
that blocks the next scheduled run for hours when it is killed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docloop.aws import cli_lease
from docloop.aws.clients import AWSClients
from docloop.aws.dynamodb_io import get
from docloop.aws.run_lease import LEASE_PK, RunLease, RunLocked
from docloop.cli import main
from docloop.errors import StageError
from tests.aws_support import BUCKET, REGION, TABLE, aws_settings

pytestmark = pytest.mark.aws

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tidepool"


def _cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCLOOP_STORE", "dynamodb")
    monkeypatch.setenv("DOCLOOP_DYNAMODB_TABLE", TABLE)
    monkeypatch.setenv("DOCLOOP_S3_BUCKET", BUCKET)
    monkeypatch.setenv("DOCLOOP_LOCK_WAIT_S", "0")


def _run() -> Any:
    return CliRunner().invoke(main, ["run", "--source",
                                     f"discord-export:{EXAMPLE / 'discord'}", "--since", "all"])


def test_a_cli_run_stops_before_writing_while_an_execution_holds_the_lease(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        _cli_env(monkeypatch)
        RunLease(AWSClients.from_settings(settings)).acquire("weekly-2026-12-05")
        result = _run()
        assert result.exit_code == 2, result.output
        assert "run weekly-2026-12-05 is still running" in result.output
        assert "cli:" in result.output  # who stopped
        objects = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
        assert objects.get("KeyCount", 0) == 0  # no message stored
        assert RunLease(AWSClients.from_settings(settings)).holder() == "weekly-2026-12-05"


def test_a_cli_run_holds_the_lease_while_it_runs_and_gives_it_back_when_it_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import docloop.pipeline

    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        _cli_env(monkeypatch)
        seen: list[str | None] = []

        def ingest_then_fail(*_: object, **__: object) -> None:
            seen.append(RunLease(AWSClients.from_settings(settings)).holder())
            raise StageError("ingest failed on purpose")

        monkeypatch.setattr(docloop.pipeline, "ingest_step", ingest_then_fail)
        result = _run()
        assert result.exit_code != 0
        assert len(seen) == 1 and (seen[0] or "").startswith("cli:")
        assert RunLease(AWSClients.from_settings(settings)).holder() is None


def test_a_cli_run_waits_for_the_execution_to_give_the_lease_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_lease, "_POLL_S", 0.05)
    with aws_settings(tmp_path, monkeypatch) as settings:
        other = RunLease(AWSClients.from_settings(settings))
        other.acquire("weekly")
        releaser = threading.Timer(0.3, other.release, args=("weekly",))
        releaser.start()
        with cli_lease.holding_table(settings, wait_s=10, owner="cli:test"):
            assert other.holder() == "cli:test"
        releaser.join()
        assert other.holder() is None
        other.acquire("weekly")
        with pytest.raises(RunLocked, match="run weekly is still running"), \
                cli_lease.holding_table(settings, wait_s=0.1, owner="cli:test"):
            pytest.fail("the block must not run without the lease")


def test_a_cli_lease_is_short_and_renewed_while_the_run_lives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with aws_settings(tmp_path, monkeypatch) as settings:
        clients = AWSClients.from_settings(settings)
        with cli_lease.holding_table(settings, wait_s=0, owner="cli:test", renew_s=0.05):
            first = int(get(clients, LEASE_PK)["taken_at"])
            assert int(get(clients, LEASE_PK)["expires_at"]) - first == cli_lease.CLI_LEASE_S
            deadline = time.monotonic() + 5
            while int(get(clients, LEASE_PK)["taken_at"]) == first:
                assert time.monotonic() < deadline, "the lease was never renewed"
                time.sleep(0.05)
        assert get(clients, LEASE_PK) is None
        assert not [t for t in threading.enumerate() if t.name == "docloop-lease-renewal"]


def test_a_killed_cli_runs_lease_lapses_in_minutes_not_hours(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with aws_settings(tmp_path, monkeypatch) as settings:
        now = [1_800_000_000.0]
        lease = RunLease(AWSClients.from_settings(settings), lambda: now[0])
        lease.acquire("cli:laptop:pid-1", cli_lease.CLI_LEASE_S)  # then kill -9: no release
        with pytest.raises(RunLocked):
            lease.acquire("weekly")
        now[0] += cli_lease.CLI_LEASE_S + 1
        lease.acquire("weekly")
        assert lease.holder() == "weekly"


def test_a_review_accept_does_not_file_beside_a_running_execution(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from docloop import registry, review

    with aws_settings(tmp_path, monkeypatch) as settings:
        RunLease(AWSClients.from_settings(settings)).acquire("weekly")
        with registry.open_stores(settings) as stores, \
                pytest.raises(RunLocked, match="run weekly is still running"):
            review.accept(settings, stores, "ins_anything", "desk", datetime.now(UTC),
                          lock_wait_s=0)
