"""Run summaries, kept so the review desk can show runs and trends.

Each real run records one row (counts, LLM cost, errors and warnings) and one
row per insight it reported (score, conversations, users, page, verdict,
ticket action). A per-insight summary (`insight_summaries`, its channels in
`insight_channels`) keeps the latest
of those plus the conversation count of the run before and the first run that
saw the insight: that is what the dashboard's list sorts, filters and pages
over, with indexes, instead of parsing every stored insight snapshot per
request. Markdown copies of the reports stay in `DOCLOOP_HOME/reports/`; this
is the queryable side.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from docloop import db
from docloop.config import Settings
from docloop.models import Insight, RunReport

MIGRATIONS = [
    """
    CREATE TABLE runs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL UNIQUE,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        stats TEXT NOT NULL,
        errors TEXT NOT NULL DEFAULT '[]',
        warnings TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE run_insights (
        run_seq INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
        insight_id TEXT NOT NULL,
        title TEXT NOT NULL,
        score REAL NOT NULL,
        conversations INTEGER NOT NULL,
        users INTEGER NOT NULL,
        doc_path TEXT,
        verdict TEXT,
        ticket_action TEXT,
        error TEXT,
        PRIMARY KEY (run_seq, insight_id)
    );
    CREATE INDEX run_insights_by_insight ON run_insights(insight_id, run_seq);
    CREATE TABLE insight_summaries (
        insight_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        category TEXT NOT NULL DEFAULT '',
        score REAL NOT NULL,
        conversations INTEGER NOT NULL,
        previous_conversations INTEGER,
        users INTEGER NOT NULL,
        channels TEXT NOT NULL DEFAULT '[]',
        doc_path TEXT,
        doc_url TEXT,
        verdict TEXT,
        first_seen TEXT,
        last_seen TEXT,
        first_run_seq INTEGER NOT NULL,
        last_run_seq INTEGER NOT NULL
    );
    CREATE INDEX insight_summaries_by_score ON insight_summaries(score DESC, insight_id);
    CREATE INDEX insight_summaries_by_doc ON insight_summaries(doc_path, verdict)
    """,
    # the desk's channel filter and list, and its new-insights-per-week chart, by index
    """
    CREATE TABLE insight_channels (
        channel TEXT NOT NULL,
        insight_id TEXT NOT NULL,
        PRIMARY KEY (channel, insight_id)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO insight_channels(channel, insight_id)
        SELECT j.value, s.insight_id FROM insight_summaries s, json_each(s.channels) j;
    CREATE INDEX insight_summaries_by_first_seen ON insight_summaries(first_seen)
    """,
]


@dataclass(frozen=True)
class RunRow:
    """One recorded run: its sequence number, id, times, stats and problems."""

    seq: int
    run_id: str
    started_at: datetime
    finished_at: datetime | None
    stats: dict[str, object]
    errors: list[str]
    warnings: list[str]


class RunStore:
    """Reads and writes run summaries in the shared SQLite database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        db.ensure_schema(conn, "runs", MIGRATIONS)

    @classmethod
    def from_settings(cls, settings: Settings, conn: sqlite3.Connection) -> RunStore:
        """Over the shared connection (built through the registry)."""
        return cls(conn)

    def record(self, report: RunReport) -> None:
        """Keep a run's summary and its insights, all or nothing (a re-record replaces)."""
        with db.transaction(self.conn):
            self.conn.execute("DELETE FROM runs WHERE run_id = ?", (report.run_id,))
            seq = self.conn.execute(
                "INSERT INTO runs(run_id, started_at, finished_at, stats, errors, warnings) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (report.run_id, report.started_at.isoformat(),
                 report.finished_at.isoformat() if report.finished_at else None,
                 report.stats.model_dump_json(), json.dumps(report.errors),
                 json.dumps(report.warnings))).lastrowid
            assert seq is not None  # an INSERT into a rowid table always has one
            for insight in report.insights:
                self._record_insight(int(seq), insight)

    def runs(self, limit: int = 100) -> list[RunRow]:
        """The newest runs first."""
        rows = self.conn.execute("SELECT * FROM runs ORDER BY seq DESC LIMIT ?", (limit,))
        return [_run_row(r) for r in rows]

    def run(self, run_id: str) -> RunRow | None:
        """One run by its id."""
        row = self.conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _run_row(row) if row else None

    def _record_insight(self, seq: int, insight: Insight) -> None:
        doc = insight.doc
        conversations = len(insight.conversation_ids)
        self.conn.execute(
            "INSERT INTO run_insights(run_seq, insight_id, title, score, conversations, users, "
            "doc_path, verdict, ticket_action, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, insight.id, insight.title, insight.score, conversations, insight.users,
             doc.path if doc else None, doc.verdict if doc else None,
             insight.ticket.action if insight.ticket else None, insight.error))
        self.conn.execute(
            "INSERT INTO insight_summaries(insight_id, title, category, score, conversations, "
            "previous_conversations, users, channels, doc_path, doc_url, verdict, first_seen, "
            "last_seen, first_run_seq, last_run_seq) "
            "VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(insight_id) DO UPDATE SET title = excluded.title, "
            "category = excluded.category, score = excluded.score, "
            "previous_conversations = insight_summaries.conversations, "
            "conversations = excluded.conversations, users = excluded.users, "
            "channels = excluded.channels, doc_path = excluded.doc_path, "
            "doc_url = excluded.doc_url, verdict = excluded.verdict, "
            "first_seen = MIN(COALESCE(insight_summaries.first_seen, excluded.first_seen), "
            "COALESCE(excluded.first_seen, insight_summaries.first_seen)), "
            "last_seen = excluded.last_seen, last_run_seq = excluded.last_run_seq",
            (insight.id, insight.title, insight.category, insight.score, conversations,
             insight.users, json.dumps(insight.channels), doc.path if doc else None,
             doc.url if doc else None, doc.verdict if doc else None,
             _iso(insight.first_seen), _iso(insight.last_seen), seq, seq))
        self.conn.execute("DELETE FROM insight_channels WHERE insight_id = ?", (insight.id,))
        self.conn.executemany(
            "INSERT OR IGNORE INTO insight_channels(channel, insight_id) VALUES (?, ?)",
            [(channel, insight.id) for channel in insight.channels])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _run_row(row: sqlite3.Row) -> RunRow:
    finished = row["finished_at"]
    return RunRow(seq=row["seq"], run_id=row["run_id"],
                  started_at=datetime.fromisoformat(row["started_at"]),
                  finished_at=datetime.fromisoformat(finished) if finished else None,
                  stats=json.loads(row["stats"]), errors=json.loads(row["errors"]),
                  warnings=json.loads(row["warnings"]))
