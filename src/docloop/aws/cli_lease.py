"""A `docloop run` from a laptop or CI on store = "dynamodb" takes the same run lease.

The Step Functions run takes the table's run lease (`run_lease`) at ingest; a
CLI run against the same table holds only its own home's file lock, so without
this both could decide "create" for one ticket at once. The CLI run takes the
lease before it opens the stores, waiting up to the home lock's wait for a
running execution to finish, and gives it back at the end.

A CLI process can be killed without a `ReleaseLease` state to clean up after
it, so its lease is short (`CLI_LEASE_S`) and a daemon thread renews it every
`CLI_RENEW_S` while the run lives: a killed run blocks the next scheduled one
for minutes, not for the Lambda lease's six hours.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from docloop.aws.clients import AWSClients
from docloop.aws.run_lease import RunLease, RunLocked
from docloop.config import Settings
from docloop.errors import DocloopError

#: a CLI run's lease, renewed while the process lives
CLI_LEASE_S = 600
CLI_RENEW_S = 120.0
_POLL_S = 2.0

log = logging.getLogger("docloop.aws.lease")


def cli_owner() -> str:
    """The lease owner a CLI run writes: where it runs, so an operator can find it."""
    return f"cli:{socket.gethostname()}:pid-{os.getpid()}"


@contextmanager
def holding_table(settings: Settings, wait_s: float, owner: str | None = None,
                  renew_s: float = CLI_RENEW_S) -> Iterator[None]:
    """Hold the table's run lease for the block (wait up to `wait_s` for it), renewing it."""
    holder = owner or cli_owner()
    # the bucket too: every writer opens the messages' bucket, so a missing setting is
    # said before the lease is touched
    lease = RunLease(AWSClients.from_settings(settings, need_bucket=True))
    _acquire_waiting(lease, holder, wait_s)
    stop = threading.Event()
    # AWSClients are kept per thread, so the renewal thread opens its own
    renewal = threading.Thread(
        target=_renew_until, name="docloop-lease-renewal", daemon=True,
        args=(lambda: RunLease(AWSClients.from_settings(settings)), holder, stop, renew_s))
    renewal.start()
    try:
        yield
    finally:
        stop.set()
        renewal.join()
        lease.release(holder)


def _acquire_waiting(lease: RunLease, owner: str, wait_s: float) -> None:
    """Take the lease, polling while another run holds it, for at most `wait_s` seconds."""
    deadline = time.monotonic() + max(wait_s, 0.0)
    while True:
        try:
            lease.acquire(owner, CLI_LEASE_S)
            return
        except RunLocked:
            if time.monotonic() >= deadline:
                raise
        time.sleep(min(_POLL_S, max(deadline - time.monotonic(), 0.0)))


def _renew_until(open_lease: Callable[[], RunLease], owner: str, stop: threading.Event,
                 every_s: float) -> None:
    """Renew the lease every `every_s` until `stop`. A failed renewal is logged and tried
    again next time; if the lease was lost (expired and taken), the run goes on and the
    log says so."""
    lease = open_lease()
    while not stop.wait(every_s):
        try:
            lease.acquire(owner, CLI_LEASE_S)
        except RunLocked as exc:
            log.error("lost the run lease while running: %s", exc)
        except DocloopError as exc:
            log.warning("could not renew the run lease (will retry): %s", exc)
