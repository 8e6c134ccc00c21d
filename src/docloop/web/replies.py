"""`docloop serve` closes the loop itself: the Discord replies a webhook made due.

With `discord_reply_on_done`, a delivery that moves a ticket to `done` wakes
this worker once its reply (200, after the fsynced commit) is known; the
worker sends the replies on its own thread, so a reply never delays, fails
or reorders a delivery. It runs the reply stage (`stages.reply`) as the CLI
does: the intent recorded before each post, Discord's message id after, a
nonce on every post, a reply left `sending` by a crash looked for in its
channel before it is posted again; 429s and 5xx are the Discord client's
(Retry-After honoured, backoff).

Never twice: one thread per server drains, and each drain holds what every
writer holds (`docloop.writers`: the home's run lock and, on a DynamoDB store,
the table's run lease), so two deliveries, a restart, a second server, a CLI
command or a Step Functions run sending replies at the same moment take turns. A drain that
cannot run (the lock is held, Discord stays down, the database fails) is
logged and tried again later with a growing delay; the replies stay
pending, with the reason, on the insight page. The server's start drains
whatever a previous process left pending.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from docloop import registry
from docloop.backends.replies.base import Replier
from docloop.config import Settings
from docloop.errors import ConflictError
from docloop.lock import HomeBusyError
from docloop.stages.reply import ReplyOutcome, deliver_replies
from docloop.writers import holding_writes

log = logging.getLogger("docloop.web")


@dataclass(frozen=True)
class ReplySchedule:
    """When the worker drains: after a short settle, and again later when a drain failed."""

    #: wait after a wake so that a burst of deliveries is one drain
    settle_s: float = 1.0
    #: first delay before a failed drain is tried again; doubled up to `retry_max_s`
    retry_first_s: float = 30.0
    retry_max_s: float = 900.0
    #: how long a drain waits for the home's run lock and the store's run lease (a `docloop
    #: run` holds them for minutes)
    lock_wait_s: float = 2.0
    #: how long shutdown waits for a drain in flight (its intent is recorded either way)
    close_wait_s: float = 10.0


def owes_replies(body: Mapping[str, Any]) -> str | None:
    """The ticket a webhook reply body says was just moved to done, if any."""
    if body.get("status") == "applied" and body.get("ticket_status") == "done":
        ticket = body.get("ticket")
        return ticket if isinstance(ticket, str) else None
    return None


class ReplyWorker:
    """One thread that sends the Discord replies owed by tickets the webhook made done."""

    def __init__(self, settings: Settings, replier: Replier, clock: Callable[[], datetime],
                 schedule: ReplySchedule | None = None) -> None:
        self.settings = settings
        self.replier = replier
        self.clock = clock
        self.schedule = schedule or ReplySchedule()
        self._cond = threading.Condition()
        self._tickets: set[str] = set()
        self._everything = True  # the first drain picks up what a previous process left
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (idempotent); its first drain sends every pending reply."""
        with self._cond:
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="docloop-replies",
                                                daemon=True)
                self._thread.start()

    def wake(self, ticket_id: str) -> None:
        """Ask for the replies `ticket_id` owes (cheap: called after a delivery's commit)."""
        with self._cond:
            self._tickets.add(ticket_id)
            self._cond.notify()
        self.start()

    def wait_idle(self, timeout: float) -> bool:
        """Whether every requested drain finished within `timeout` seconds (a failed one
        counts as finished: its retry is scheduled, not requested)."""
        with self._cond:
            return self._cond.wait_for(self._idle, timeout)

    def close(self) -> None:
        """Stop after the drain in flight (waiting a bounded time), then close the client."""
        with self._cond:
            self._stopping = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None:
            thread.join(self.schedule.close_wait_s)
            if thread.is_alive():
                log.warning("Discord replies: still sending at shutdown; the reply in flight "
                            "is recorded as sending and is resolved at the next start")
                return
        self.replier.close()

    def _idle(self) -> bool:
        return not (self._busy or self._tickets or self._everything) or self._stopping

    def _run(self) -> None:
        delay = 0.0  # 0: no failed drain waiting to be retried
        while (work := self._next(delay)) is not None:
            delay = 0.0 if self._drain(work) else min(
                max(delay * 2, self.schedule.retry_first_s), self.schedule.retry_max_s)
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _next(self, retry_in: float) -> set[str] | None:
        """The tickets to look at (empty: all of them) once asked or due; None to stop."""
        with self._cond:
            self._cond.wait_for(lambda: self._tickets or self._everything or self._stopping,
                                retry_in or None)
            if self._cond.wait_for(lambda: self._stopping, self.schedule.settle_s):
                return None
            # after a failed drain, look at every ticket: it may have failed before queueing
            everything = self._everything or retry_in > 0
            tickets, self._tickets, self._everything = self._tickets, set(), False
            self._busy = True
            return set() if everything else tickets

    def _drain(self, tickets: set[str]) -> bool:
        """One pass of the reply stage holding the writers' guards; False when it must be
        retried."""
        try:
            with holding_writes(self.settings, self.schedule.lock_wait_s), \
                    registry.open_stores(self.settings) as stores:
                outcome = deliver_replies(stores, self.replier, self.clock, tickets or None)
        except (HomeBusyError, ConflictError) as exc:  # the home or the table's run lease
            log.info("Discord replies: deferred, %s", exc)
            return False
        except Exception:  # the server keeps serving; the replies stay pending
            log.exception("Discord replies: drain failed; pending replies will be retried")
            return False
        _log(outcome)
        return outcome.pending == 0


def _log(outcome: ReplyOutcome) -> None:
    if outcome.failed or outcome.pending:
        log.warning("%s", outcome.summary())
    elif outcome.queued or outcome.sent or outcome.found:
        log.info("%s", outcome.summary())
