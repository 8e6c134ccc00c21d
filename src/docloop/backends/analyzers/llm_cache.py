"""The model-outcome cache: one row per (model, prompt version, request content).

Every outcome is kept, failures included, so a re-run over unchanged data
makes no model calls at all; `retry_failed` asks again for the failures only.
The table lives in the shared SQLite database and is owned by this module.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from docloop import db
from docloop.config import Settings

COMPONENT = "llm_cache"
MIGRATIONS = [
    """
    CREATE TABLE llm_cache (
        key TEXT PRIMARY KEY,
        stage TEXT NOT NULL,
        model TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        ok INTEGER NOT NULL,
        response TEXT,
        error TEXT,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE INDEX llm_cache_stage ON llm_cache(stage, ok)
    """
]


def cache_key(model: str, prompt_version: str, content: Any) -> str:
    """sha256 over the model, the prompt version and the exact request content."""
    blob = json.dumps([model, prompt_version, content], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What one request finally produced: accepted JSON text, or why it failed."""

    ok: bool
    response: str | None = None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLMCache:
    """Read and write outcomes; writes are single transactions."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        db.ensure_schema(conn, COMPONENT, MIGRATIONS)
        self.conn = conn

    @classmethod
    def from_settings(cls, settings: Settings, conn: sqlite3.Connection) -> LLMCache:
        """Over the shared connection (built through the registry)."""
        return cls(conn)

    def get(self, key: str) -> Outcome | None:
        row = self.conn.execute(
            "SELECT ok, response, error, prompt_tokens, completion_tokens "
            "FROM llm_cache WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return Outcome(ok=bool(row["ok"]), response=row["response"], error=row["error"],
                       prompt_tokens=row["prompt_tokens"],
                       completion_tokens=row["completion_tokens"])

    def put(self, key: str, stage: str, model: str, prompt_version: str,
            outcome: Outcome) -> None:
        with db.transaction(self.conn):
            self.conn.execute(
                "INSERT INTO llm_cache(key, stage, model, prompt_version, ok, response, error, "
                "prompt_tokens, completion_tokens, created_at) VALUES (?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(key) DO UPDATE SET ok=excluded.ok, response=excluded.response, "
                "error=excluded.error, prompt_tokens=excluded.prompt_tokens, "
                "completion_tokens=excluded.completion_tokens, created_at=excluded.created_at",
                (key, stage, model, prompt_version, int(outcome.ok), outcome.response,
                 outcome.error, outcome.prompt_tokens, outcome.completion_tokens,
                 datetime.now(UTC).isoformat()),
            )

    def count(self, ok: bool | None = None) -> int:
        """Rows stored (all, or only successes/failures)."""
        if ok is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0])
        return int(self.conn.execute(
            "SELECT COUNT(*) FROM llm_cache WHERE ok = ?", (int(ok),)).fetchone()[0])
