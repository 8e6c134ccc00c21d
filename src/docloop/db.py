"""The embedded SQLite database under DOCLOOP_HOME.

One file holds messages, the docs index, insights, tickets and caches. Each
component owns its tables and declares them as an ordered list of migrations
(`ensure_schema`); the applied count per component is kept in
`schema_versions`, so components evolve independently and a migration runs
exactly once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from docloop.errors import ConfigError


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating folders as needed) the database with sane pragmas."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open database {path}: {exc} (check DOCLOOP_HOME)") from None
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return _prepare(conn)


def memory() -> sqlite3.Connection:
    """An in-memory database with the same setup (for dry runs and tests)."""
    return _prepare(sqlite3.connect(":memory:", isolation_level=None))


def _prepare(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Row access by name, foreign keys on, and the migrations ledger."""
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER)"
    )
    return conn


def ensure_schema(conn: sqlite3.Connection, component: str, migrations: Sequence[str]) -> None:
    """Apply the migrations of `component` that have not run yet, in order."""
    row = conn.execute(
        "SELECT version FROM schema_versions WHERE component = ?", (component,)
    ).fetchone()
    done = row["version"] if row else 0
    if done >= len(migrations):
        return
    with transaction(conn):
        for script in migrations[done:]:
            for statement in _statements(script):
                conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_versions(component, version) VALUES (?, ?) "
            "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
            (component, len(migrations)),
        )


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (nothing half-written)."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";\n") if s.strip()]
