"""The last run's analysis, remembered under the fingerprint of what it was computed from.

A run with nothing new would otherwise extract, embed and cluster its whole
window again to reach the same insights. The pipeline saves here, after a
run whose every insight was matched and suggested, the fingerprint of its
inputs (window contents, settings, docs index; see `stages.reuse`), the
insight ids in report order and the counts the report shows; the insights
themselves are the snapshots the insight store keeps. One row: only the
latest analysis can be reused.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime

from docloop import db
from docloop.config import Settings

MIGRATIONS = [
    """
    CREATE TABLE analysis_memo (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        fingerprint TEXT NOT NULL,
        insight_ids TEXT NOT NULL,
        conversations INTEGER NOT NULL,
        problems INTEGER NOT NULL,
        run_id TEXT NOT NULL,
        saved_at TEXT NOT NULL
    )
    """,
    # notes: what the analysis told the user (verdict.fit_warning), told again on reuse
    "ALTER TABLE analysis_memo ADD COLUMN notes TEXT NOT NULL DEFAULT '[]'",
]


@dataclass(frozen=True)
class Memo:
    """What the last fully analysed run found, and from which inputs."""

    fingerprint: str
    insight_ids: list[str]
    conversations: int
    problems: int
    run_id: str
    saved_at: datetime
    #: what the analysis told the user (the docs fit the chat poorly: verdict.fit_warning),
    #: which a run that reuses it tells again
    notes: list[str] = field(default_factory=list)


class AnalysisMemoStore:
    """The `analysis_memo` component's one row in the shared SQLite database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        db.ensure_schema(conn, "analysis_memo", MIGRATIONS)

    @classmethod
    def from_settings(cls, settings: Settings, conn: sqlite3.Connection) -> AnalysisMemoStore:
        """Over the shared connection (built through the registry)."""
        return cls(conn)

    def load(self) -> Memo | None:
        row = self.conn.execute("SELECT fingerprint, insight_ids, conversations, problems, "
                                "run_id, saved_at, notes FROM analysis_memo WHERE id = 1"
                                ).fetchone()
        if row is None:
            return None
        return Memo(row[0], json.loads(row[1]), row[2], row[3], row[4],
                    datetime.fromisoformat(row[5]), json.loads(row[6]))

    def save(self, memo: Memo) -> None:
        with db.transaction(self.conn):
            self.conn.execute(
                "INSERT OR REPLACE INTO analysis_memo(id, fingerprint, insight_ids, "
                "conversations, problems, run_id, saved_at, notes) "
                "VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                (memo.fingerprint, json.dumps(memo.insight_ids), memo.conversations,
                 memo.problems, memo.run_id, memo.saved_at.astimezone(UTC).isoformat(),
                 json.dumps(memo.notes)))

    def forget(self) -> None:
        """Drop the memo (a run that could not finish its analysis leaves none)."""
        with db.transaction(self.conn):
            self.conn.execute("DELETE FROM analysis_memo")
