"""The outbox of Discord replies in the embedded SQLite database.

One row per (ticket, conversation), keyed by the reply id the reply stage
derives from both, so queueing the same reply twice keeps the first row: a
reply is owed once, whatever re-runs, syncs or crashes happen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from docloop import db
from docloop.models import Reply
from docloop.storage.shared import SharedConnectionStore

MIGRATIONS = [
    """
    CREATE TABLE discord_replies (
        id TEXT PRIMARY KEY,
        ticket_id TEXT NOT NULL,
        insight_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        reply_to TEXT,
        content TEXT NOT NULL,
        nonce TEXT NOT NULL,
        state TEXT NOT NULL,
        message_id TEXT,
        error TEXT NOT NULL DEFAULT '',
        queued_at TEXT NOT NULL,
        attempted_at TEXT,
        sent_at TEXT
    );
    CREATE INDEX discord_replies_by_ticket ON discord_replies(ticket_id);
    CREATE INDEX discord_replies_by_state ON discord_replies(state, queued_at)
    """,
]

_COLUMNS = tuple(Reply.model_fields)


class SQLiteReplyOutbox(SharedConnectionStore):
    """`ReplyOutbox` over the shared docloop.db connection."""

    component = "replies"
    migrations = MIGRATIONS

    def add(self, replies: Iterable[Reply]) -> int:
        rows = [self._row(r) for r in replies]
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with db.transaction(self.conn):
            before = self.conn.total_changes
            self.conn.executemany(f"INSERT OR IGNORE INTO discord_replies ({', '.join(_COLUMNS)})"
                                  f" VALUES ({placeholders})", rows)
            return self.conn.total_changes - before

    def update(self, reply: Reply) -> None:
        sets = ", ".join(f"{c} = ?" for c in _COLUMNS if c != "id")
        row = self._row(reply)
        with db.transaction(self.conn):
            self.conn.execute(f"UPDATE discord_replies SET {sets} WHERE id = ?",
                              (*row[1:], row[0]))

    def for_ticket(self, ticket_id: str) -> list[Reply]:
        return self._select("WHERE ticket_id = ? ORDER BY queued_at, id", (ticket_id,))

    def for_insight(self, insight_id: str) -> list[Reply]:
        return self._select("WHERE insight_id = ? ORDER BY queued_at, id", (insight_id,))

    def pending(self) -> list[Reply]:
        return self._select("WHERE state IN ('queued', 'sending') ORDER BY queued_at, id", ())

    def _select(self, where: str, args: tuple[str, ...]) -> list[Reply]:
        rows = self.conn.execute(f"SELECT * FROM discord_replies {where}", args).fetchall()
        return [Reply.model_validate(dict(r)) for r in rows]

    @staticmethod
    def _row(reply: Reply) -> tuple[Any, ...]:
        data = reply.model_dump(mode="json")
        return tuple(data[c] for c in _COLUMNS)
