"""One writer thread for `docloop serve`'s webhook deliveries, committing them in groups.

Why: a delivery acknowledged with 200 must survive a crash or a power cut
(Linear does not send it again), so its transaction has to reach the disk
(`PRAGMA synchronous=FULL`: the WAL is fsynced at every commit, about 2.5 ms
here). One commit per delivery caps the server near 400 deliveries/s; a
connection opened per request adds a schema check and more. So one thread
owns one connection for the life of the server, takes every delivery that
is waiting (up to `MAX_GROUP`), runs each through
`receive_linear_webhook` (the same function the Lambda calls) inside its
own SAVEPOINT, commits the group with one fsync, and only then answers.

Crash semantics: nothing is answered before the commit that holds it, so a
crash before the commit loses only unanswered deliveries (Linear retries
them); after it, every answered change is on disk. A delivery whose
handling fails (a 5xx reply) is rolled back to its savepoint alone; a
failed commit turns the whole group into 503s (nothing of it was applied).
Exactly once still rests on the delivery table's primary key
(`claim_delivery`), so two server processes sharing the file stay correct.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime

from docloop import db, registry
from docloop.backends.records.base import RecordStore
from docloop.config import Settings
from docloop.webhook_receiver import RETRY_LATER, WebhookReply, receive_linear_webhook

log = logging.getLogger("docloop.web")
#: deliveries committed together at most (a larger group only delays its first answer)
MAX_GROUP = 64
_SAVEPOINT = "delivery"


@dataclass
class _Delivery:
    body: bytes
    headers: Mapping[str, str]
    now: datetime
    answer: Future[WebhookReply]


class DeliveryWriter:
    """Applies deliveries on one thread and one durable connection, a group per commit."""

    def __init__(self, settings: Settings, secret: str | None,
                 connect: Callable[[], sqlite3.Connection] | None = None) -> None:
        self.settings = settings
        self.secret = secret
        self._connect = connect or (lambda: db.connect(settings.db_path, durable=True))
        self._queue: queue.SimpleQueue[_Delivery | None] = queue.SimpleQueue()
        self._conn: sqlite3.Connection | None = None
        self._store: RecordStore | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, body: bytes, headers: Mapping[str, str],
               now: datetime) -> Future[WebhookReply]:
        """Queue one delivery; the future holds its reply once its group is committed."""
        self._start()
        answer: Future[WebhookReply] = Future()
        self._queue.put(_Delivery(body, headers, now, answer))
        return answer

    def close(self) -> None:
        """Finish what is queued, then stop the thread and close the connection."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="docloop-deliveries",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            while (group := self._next_group()) is not None:
                try:
                    self._apply(group)
                except Exception as exc:  # the connection itself failed: answer, go on
                    log.exception("webhook group of %d delivery(ies) failed", len(group))
                    self._abandon(exc, len(group))
                    for item in group:
                        if not item.answer.done():
                            item.answer.set_result(WebhookReply(503, dict(RETRY_LATER)))
        finally:
            if self._conn is not None:
                self._conn.close()
            self._conn = self._store = None

    def _next_group(self) -> list[_Delivery] | None:
        """The next delivery (waiting for it) and every one queued behind it; None to stop."""
        first = self._queue.get()
        if first is None:
            return None
        group = [first]
        while len(group) < MAX_GROUP:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # stop after this group
                break
            group.append(item)
        return group

    def _apply(self, group: list[_Delivery]) -> None:
        # a request whose client went away was cancelled: not applied, never answered
        group = [item for item in group if item.answer.set_running_or_notify_cancel()]
        replies = [self._receive(item) for item in group]
        try:
            if self._conn is not None and self._conn.in_transaction:
                self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._abandon(exc, len(group))
            replies = [WebhookReply(503, dict(RETRY_LATER)) if r.status == 200 else r
                       for r in replies]
        for item, reply in zip(group, replies, strict=True):
            item.answer.set_result(reply)

    def _receive(self, item: _Delivery) -> WebhookReply:
        """One delivery inside its savepoint: kept if it succeeded, undone if it failed."""
        opened: list[bool] = []
        reply = receive_linear_webhook(item.body, item.headers, item.now, self.secret,
                                       lambda: self._records(opened))
        if opened and self._conn is not None and self._conn.in_transaction:
            if reply.status >= 500:
                self._conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
            self._conn.execute(f"RELEASE {_SAVEPOINT}")
        return reply

    def _records(self, opened: list[bool]) -> AbstractContextManager[RecordStore]:
        """The open store, inside the group's transaction and a savepoint for this delivery."""
        store = self._open()
        assert self._conn is not None
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
        self._conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        opened.append(True)
        return nullcontext(store)

    def _open(self) -> RecordStore:
        """The store on the writer's connection, opened on first use (again after a failure)."""
        if self._store is None:
            conn = self._connect()
            try:
                self._store = registry.sqlite_stores(conn).records
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._store

    def _abandon(self, exc: Exception, size: int) -> None:
        """A failed commit: roll the group back and reopen the connection for the next one."""
        log.error("webhook group of %d delivery(ies) not committed: %s; answered 503, Linear "
                  "will retry", size, exc)
        conn, self._conn, self._store = self._conn, None, None
        if conn is not None:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error as rollback:
                log.error("rollback after the failed group failed too: %s", rollback)
            conn.close()
