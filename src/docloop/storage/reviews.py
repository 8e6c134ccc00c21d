"""Review decisions in the embedded SQLite database.

Two tables: `reviews`, one row per insight holding its review state and a
person's edits (title, suggestion, page; upserted), and `review_decisions`,
the append-only log of who decided what and when. The log is never rewritten:
a later decision is a new row, so the desk can show an insight's whole history.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from docloop import db
from docloop.models import Decision, ReviewRecord
from docloop.storage.shared import SharedConnectionStore

MIGRATIONS = [
    """
    CREATE TABLE reviews (
        insight_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        title TEXT,
        suggestion TEXT,
        merged_into TEXT,
        reason TEXT NOT NULL DEFAULT '',
        rejected_size INTEGER,
        note TEXT NOT NULL DEFAULT '',
        decided_by TEXT,
        decided_at TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE review_decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        insight_id TEXT NOT NULL,
        actor TEXT NOT NULL,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX review_decisions_by_insight ON review_decisions(insight_id, seq)
    """,
    "ALTER TABLE reviews ADD COLUMN page TEXT",
    "ALTER TABLE reviews ADD COLUMN page_url TEXT",
    "ALTER TABLE reviews ADD COLUMN page_heading TEXT;\n"
    "ALTER TABLE reviews ADD COLUMN page_anchor TEXT",
]

_COLUMNS = ("insight_id", "state", "title", "suggestion", "page", "page_url", "page_heading",
            "page_anchor", "merged_into", "reason", "rejected_size", "note", "decided_by",
            "decided_at", "updated_at")


class SQLiteReviewStore(SharedConnectionStore):
    """`ReviewStore` over the shared docloop.db connection."""

    component = "reviews"
    migrations = MIGRATIONS

    def get(self, insight_id: str) -> ReviewRecord | None:
        row = self.conn.execute("SELECT * FROM reviews WHERE insight_id = ?",
                                (insight_id,)).fetchone()
        return ReviewRecord.model_validate(dict(row)) if row else None

    def all(self) -> dict[str, ReviewRecord]:
        rows = self.conn.execute("SELECT * FROM reviews ORDER BY insight_id").fetchall()
        return {r["insight_id"]: ReviewRecord.model_validate(dict(r)) for r in rows}

    def put(self, record: ReviewRecord) -> None:
        data = record.model_dump(mode="json")
        placeholders = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "insight_id")
        with db.transaction(self.conn):
            self.conn.execute(f"INSERT INTO reviews ({', '.join(_COLUMNS)}) VALUES "
                              f"({placeholders}) ON CONFLICT(insight_id) DO UPDATE SET "
                              f"{updates}", tuple(data[c] for c in _COLUMNS))

    def log(self, decision: Decision) -> None:
        with db.transaction(self.conn):
            self.conn.execute(
                "INSERT INTO review_decisions(insight_id, actor, at, action, detail) "
                "VALUES (?, ?, ?, ?, ?)",
                (decision.insight_id, decision.actor, decision.at.isoformat(), decision.action,
                 decision.detail))

    def decisions(self, insight_id: str) -> list[Decision]:
        rows = self.conn.execute("SELECT insight_id, actor, at, action, detail FROM "
                                 "review_decisions WHERE insight_id = ? ORDER BY seq",
                                 (insight_id,)).fetchall()
        return [Decision.model_validate(dict(r)) for r in rows]

    @contextmanager
    def atomic(self) -> Iterator[None]:
        with db.transaction(self.conn):
            yield
