"""Insight identities that survive from run to run.

Each insight keeps its fingerprint, its centroid and the problems assigned to
it. Next week's run first maps problems it has already seen to the same
insight, then matches new problems against stored centroids, so a recurring
problem keeps its id (and its ticket) while new evidence merges into it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
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

    def conversations(self, insight_id: str) -> list[str]:
        """Every conversation id of the insight's members, ever seen."""
        rows = self.conn.execute("SELECT DISTINCT conversation_id FROM insight_members WHERE "
                                 "insight_id = ? ORDER BY conversation_id", (insight_id,))
        return [r["conversation_id"] for r in rows]

    def snapshot(self, insight_id: str) -> Insight | None:
        """The latest reported state of one insight (None if unknown or never reported)."""
        row = self.conn.execute("SELECT snapshot FROM insights WHERE id = ? AND snapshot IS "
                                "NOT NULL", (insight_id,)).fetchone()
        return Insight.model_validate_json(row["snapshot"]) if row else None

    def snapshots(self) -> list[Insight]:
        """The latest reported state of every insight that has one, by id."""
        rows = self.conn.execute("SELECT snapshot FROM insights WHERE snapshot IS NOT NULL "
                                 "ORDER BY id")
        return [Insight.model_validate_json(r["snapshot"]) for r in rows]

    def merge(self, keep_id: str, other_id: str, merged: Insight) -> None:
        """Fold `other_id` into `keep_id`: its members move, its identity is forgotten.

        The kept centroid becomes the size-weighted mean of both, so new
        problems near either side join the kept insight; the members move, so
        problems seen before stay with it (clustering keeps known members put).
        """
        with db.transaction(self.conn):
            rows = {r["id"]: r for r in self.conn.execute(
                "SELECT id, centroid, size FROM insights WHERE id IN (?, ?)",
                (keep_id, other_id))}
            if keep_id in rows and other_id in rows:
                self._set_centroid(keep_id, rows[keep_id], rows[other_id])
            self.conn.execute("UPDATE insight_members SET insight_id = ? WHERE insight_id = ?",
                              (keep_id, other_id))
            self.conn.execute("DELETE FROM insights WHERE id = ?", (other_id,))
            self.conn.execute("UPDATE insights SET title = ?, snapshot = ? WHERE id = ?",
                              (merged.title, json.dumps(merged.model_dump(mode="json")),
                               keep_id))

    def _set_centroid(self, keep_id: str, keep: sqlite3.Row, other: sqlite3.Row) -> None:
        kept = np.frombuffer(keep["centroid"], dtype=np.float32)
        absorbed = np.frombuffer(other["centroid"], dtype=np.float32)
        if kept.shape != absorbed.shape:  # another embedding model: keep the kept one
            return
        mean = kept * keep["size"] + absorbed * other["size"]
        mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
        self.conn.execute("UPDATE insights SET centroid = ?, size = ? WHERE id = ?",
                          (mean.astype(np.float32).tobytes(), keep["size"] + other["size"],
                           keep_id))
