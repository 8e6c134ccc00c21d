"""`docloop serve`'s reply worker on a DynamoDB store keeps to the table's run lease (moto).

A Step Functions run's report step sends Discord replies too; the worker must not
drain beside it. While an execution holds the lease the worker defers (and retries);
once the lease is free, it drains holding the lease itself.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from docloop.aws.clients import AWSClients
from docloop.aws.run_lease import RunLease
from docloop.backends.replies.base import Replier, Reply
from docloop.stages.reply import ReplyOutcome
from docloop.web import replies
from docloop.web.replies import ReplySchedule, ReplyWorker
from tests.aws_support import aws_settings

pytestmark = pytest.mark.aws

QUICK = ReplySchedule(settle_s=0.0, retry_first_s=0.05, retry_max_s=0.1, lock_wait_s=0.05)


class SilentReplier(Replier):
    """A replier the test never expects to be asked (no reply is pending)."""

    def send(self, reply: Reply) -> str:
        raise AssertionError(f"nothing was pending, yet {reply} was sent")

    def find_sent(self, reply: Reply) -> str | None:
        raise AssertionError(f"nothing was pending, yet {reply} was looked for")


def test_the_reply_worker_drains_only_while_no_run_holds_the_table_lease(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    with aws_settings(tmp_path, monkeypatch) as settings:
        lease = RunLease(AWSClients.from_settings(settings))
        holders: list[str | None] = []

        def drain(*args: Any, **kwargs: Any) -> ReplyOutcome:
            holders.append(lease.holder())
            return ReplyOutcome()

        monkeypatch.setattr(replies, "deliver_replies", drain)
        lease.acquire("weekly")
        worker = ReplyWorker(settings, SilentReplier(), lambda: datetime.now(UTC), QUICK)
        with caplog.at_level(logging.INFO, logger="docloop.web"):
            worker.start()
            assert worker.wait_idle(10)
        assert holders == []  # deferred while the execution runs
        assert "deferred" in caplog.text and "weekly" in caplog.text
        lease.release("weekly")
        worker.wake("tkt_any")
        assert worker.wait_idle(10) and holders
        worker.close()
        assert holders[-1] is not None and holders[-1].startswith("cli:")
        assert lease.holder() is None  # given back after the drain
