"""Ticket records in the embedded SQLite database.

One row per ticket (lists stored as JSON), one row per status change (the
history, including changes received but ignored as stale), and one row per
webhook delivery id, whose primary key makes
`claim_delivery` atomic: a replayed delivery is refused by the database
itself, even with two receivers racing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from docloop import db
from docloop.backends.records.base import RecordStore
from docloop.config import Settings
from docloop.models import Status, StatusChange, TicketRecord

MIGRATIONS = [
    """
    CREATE TABLE tickets (
        id TEXT PRIMARY KEY,
        tracker TEXT NOT NULL,
        external_id TEXT,
        identifier TEXT,
        url TEXT,
        status TEXT NOT NULL,
        insight_id TEXT NOT NULL,
        title TEXT NOT NULL,
        doc_path TEXT,
        doc_url TEXT,
        suggestion TEXT NOT NULL DEFAULT '',
        conversations INTEGER NOT NULL DEFAULT 0,
        users INTEGER NOT NULL DEFAULT 0,
        message_ids TEXT NOT NULL DEFAULT '[]',
        conversation_ids TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX tickets_by_insight ON tickets(insight_id, created_at);
    CREATE UNIQUE INDEX tickets_by_external ON tickets(tracker, external_id);
    CREATE TABLE ticket_history (
        ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        status TEXT NOT NULL,
        at TEXT NOT NULL,
        source TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (ticket_id, seq)
    );
    CREATE TABLE webhook_deliveries (
        delivery_id TEXT PRIMARY KEY,
        received_at TEXT NOT NULL
    )
    """,
    # when each change happened at its source, and whether it was applied
    # (stages.regression orders changes by it); earlier changes are dated by
    # when they were recorded, the filing row stays undated
    """
    ALTER TABLE ticket_history ADD COLUMN changed_at TEXT;
    ALTER TABLE ticket_history ADD COLUMN applied INTEGER NOT NULL DEFAULT 1;
    UPDATE ticket_history SET changed_at = at WHERE seq > 1
    """,
]

_COLUMNS = ("id", "tracker", "external_id", "identifier", "url", "status", "insight_id",
            "title", "doc_path", "doc_url", "suggestion", "conversations", "users",
            "message_ids", "conversation_ids", "created_at", "updated_at")


class SQLiteRecordStore(RecordStore):
    """RecordStore over the shared docloop.db connection."""

    def __init__(self, conn: sqlite3.Connection, owns_connection: bool = False) -> None:
        self.conn = conn
        self._owns = owns_connection
        db.ensure_schema(conn, "records", MIGRATIONS)

    @classmethod
    def from_settings(cls, settings: Settings, conn: sqlite3.Connection | None = None,
                      **deps: Any) -> SQLiteRecordStore:
        if conn is not None:
            return cls(conn)
        own = db.connect(settings.db_path)
        try:
            return cls(own, owns_connection=True)
        except BaseException:
            own.close()
            raise

    def close(self) -> None:
        if self._owns:
            self.conn.close()

    def get(self, ticket_id: str) -> TicketRecord | None:
        return self._one("SELECT * FROM tickets WHERE id = ?", (ticket_id,))

    def by_insight(self, insight_id: str) -> TicketRecord | None:
        return self._one("SELECT * FROM tickets WHERE insight_id = ? "
                         "ORDER BY created_at DESC, rowid DESC LIMIT 1", (insight_id,))

    def by_external(self, tracker: str, external_id: str) -> TicketRecord | None:
        return self._one("SELECT * FROM tickets WHERE tracker = ? AND external_id = ?",
                         (tracker, external_id))

    def put(self, record: TicketRecord) -> None:
        row = self._row(record)
        placeholders = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "id")
        with db.transaction(self.conn):
            self.conn.execute(f"INSERT INTO tickets ({', '.join(_COLUMNS)}) VALUES "
                              f"({placeholders}) ON CONFLICT(id) DO UPDATE SET {updates}", row)
            if not self._history(record.id):
                self._append_history(record.id, StatusChange(
                    status=record.status, at=record.created_at, source="docloop",
                    note="ticket filed"))

    def all(self) -> list[TicketRecord]:
        rows = self.conn.execute("SELECT * FROM tickets ORDER BY updated_at DESC, id").fetchall()
        return [self._record(r) for r in rows]

    def on_section(self, doc_url: str) -> list[TicketRecord]:
        rows = self.conn.execute("SELECT * FROM tickets WHERE doc_url = ? "
                                 "ORDER BY updated_at DESC, id", (doc_url,)).fetchall()
        return [self._record(r) for r in rows]

    def set_status(self, ticket_id: str, status: Status, at: datetime, source: str,
                   note: str = "", changed_at: datetime | None = None) -> bool:
        with db.transaction(self.conn):
            # the status alone: a webhook's delivery path calls this once per change
            current = self.conn.execute("SELECT status FROM tickets WHERE id = ?",
                                        (ticket_id,)).fetchone()
            if current is None or current[0] == status:
                return False
            self.conn.execute("UPDATE tickets SET status = ?, updated_at = ? WHERE id = ?",
                              (status, at.isoformat(), ticket_id))
            self._append_history(ticket_id, StatusChange(
                status=status, at=at, source=source, note=note, changed_at=changed_at or at))
        return True

    def note_ignored(self, ticket_id: str, status: Status, at: datetime, source: str,
                     note: str, changed_at: datetime) -> None:
        self._append_history(ticket_id, StatusChange(
            status=status, at=at, source=source, note=note, changed_at=changed_at,
            applied=False))

    @contextmanager
    def atomic(self) -> Iterator[None]:
        with db.transaction(self.conn):
            yield

    def claim_delivery(self, delivery_id: str, at: datetime) -> bool:
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO webhook_deliveries(delivery_id, received_at) VALUES (?, ?)",
            (delivery_id, at.isoformat()))
        return cursor.rowcount == 1

    def _one(self, sql: str, args: tuple[str, ...]) -> TicketRecord | None:
        row = self.conn.execute(sql, args).fetchone()
        return self._record(row) if row else None

    def _record(self, row: sqlite3.Row) -> TicketRecord:
        data = dict(row)
        data["message_ids"] = json.loads(data["message_ids"])
        data["conversation_ids"] = json.loads(data["conversation_ids"])
        data["history"] = self._history(data["id"])
        return TicketRecord.model_validate(data)

    def _history(self, ticket_id: str) -> list[StatusChange]:
        rows = self.conn.execute("SELECT status, at, source, note, changed_at, applied "
                                 "FROM ticket_history WHERE ticket_id = ? ORDER BY seq",
                                 (ticket_id,)).fetchall()
        return [StatusChange.model_validate(dict(r)) for r in rows]

    def _append_history(self, ticket_id: str, change: StatusChange) -> None:
        self.conn.execute(
            "INSERT INTO ticket_history(ticket_id, seq, status, at, source, note, changed_at, "
            "applied) VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM ticket_history "
            "WHERE ticket_id = ?), ?, ?, ?, ?, ?, ?)",
            (ticket_id, ticket_id, change.status, change.at.isoformat(), change.source,
             change.note, change.changed_at.isoformat() if change.changed_at else None,
             int(change.applied)))

    @staticmethod
    def _row(record: TicketRecord) -> tuple[Any, ...]:
        data = record.model_dump(mode="json")
        data["message_ids"] = json.dumps(record.message_ids)
        data["conversation_ids"] = json.dumps(record.conversation_ids)
        return tuple(data[c] for c in _COLUMNS)
