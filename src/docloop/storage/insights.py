"""Insight identities that survive from run to run.

Each insight keeps its fingerprint, its centroid and the problems assigned to
it. Next week's run first maps problems it has already seen to the same
insight, then matches new problems against stored centroids, so a recurring
problem keeps its id (and its ticket) while new evidence merges into it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from docloop import db
from docloop.config import Settings
from docloop.models import Insight

MIGRATIONS = [
    """
    CREATE TABLE insights (
        id TEXT PRIMARY KEY,
        centroid BLOB NOT NULL,
        size INTEGER NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        snapshot TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE insight_members (
        problem_id TEXT PRIMARY KEY,
        insight_id TEXT NOT NULL REFERENCES insights(id) ON DELETE CASCADE,
        conversation_id TEXT NOT NULL
    );
    CREATE INDEX insight_members_by_insight ON insight_members(insight_id)
    """,
]


@dataclass
class StoredCluster:
    """A persisted insight identity: fingerprint, centroid and member count."""

    id: str
    centroid: np.ndarray
    size: int


class InsightStore:
    """Reads and writes insight identities in the shared SQLite database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        db.ensure_schema(conn, "insights", MIGRATIONS)

    @classmethod
    def from_settings(cls, settings: Settings, conn: sqlite3.Connection) -> InsightStore:
        """Over the shared connection (built through the registry)."""
        return cls(conn)

    def clusters(self) -> list[StoredCluster]:
        rows = self.conn.execute("SELECT id, centroid, size FROM insights ORDER BY id")
        return [StoredCluster(r["id"], np.frombuffer(r["centroid"], dtype=np.float32).copy(),
                              r["size"]) for r in rows]

    def members(self) -> dict[str, str]:
        """problem id -> insight id for every problem seen before."""
        rows = self.conn.execute("SELECT problem_id, insight_id FROM insight_members")
        return {r["problem_id"]: r["insight_id"] for r in rows}

    def save(self, clusters: Iterable[tuple[str, np.ndarray, list[tuple[str, str]]]]) -> None:
        """Upsert (id, centroid, [(problem_id, conversation_id)]) for each cluster."""
        now = datetime.now(UTC).isoformat()
        with db.transaction(self.conn):
            for insight_id, centroid, members in clusters:
                self.conn.execute(
                    "INSERT INTO insights(id, centroid, size, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                    "centroid = excluded.centroid, size = excluded.size, "
                    "updated_at = excluded.updated_at",
                    (insight_id, centroid.astype(np.float32).tobytes(), len(members), now, now),
                )
                self.conn.executemany(
                    "INSERT INTO insight_members(problem_id, insight_id, conversation_id) "
                    "VALUES (?, ?, ?) ON CONFLICT(problem_id) DO UPDATE SET "
                    "insight_id = excluded.insight_id",
                    [(pid, insight_id, cid) for pid, cid in members],
                )

    def save_snapshots(self, insights: Iterable[Insight]) -> None:
        """Keep the latest reported state of each insight (title, score, doc) for review."""
        with db.transaction(self.conn):
            for insight in insights:
                self.conn.execute(
                    "UPDATE insights SET title = ?, snapshot = ? WHERE id = ?",
                    (insight.title, json.dumps(insight.model_dump(mode="json")), insight.id),
                )

    def snapshots(self, ids: Sequence[str]) -> list[Insight]:
        """The kept states of these insights, in the order asked (missing ones skipped)."""
        found: dict[str, Insight] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ", ".join("?" for _ in chunk)
            rows = self.conn.execute(f"SELECT id, snapshot FROM insights WHERE id IN ({marks}) "
                                     "AND snapshot IS NOT NULL", chunk)
            found.update((r["id"], Insight.model_validate_json(r["snapshot"])) for r in rows)
        return [found[i] for i in ids if i in found]
