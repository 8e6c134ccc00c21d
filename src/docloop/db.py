"""The embedded SQLite database under DOCLOOP_HOME.

One file holds messages, the docs index, insights, tickets and caches. Each
component owns its tables and declares them as an ordered list of migrations
(`ensure_schema`); the applied count per component is kept in
`schema_versions`, so components evolve independently and a migration runs
exactly once — also when two processes open a fresh home at the same moment:
the version is read again inside the write transaction that applies them.

The file holds community messages, so it is private to its owner: created
0600 (SQLite gives its -wal/-shm files the database file's mode) inside a
0700 home, and an existing file readable by others is tightened on open.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tenacity import retry, retry_if_exception, stop_after_delay, wait_random_exponential

from docloop.errors import ConfigError
from docloop.files import PRIVATE_FILE, ensure_private_dir, tighten

log = logging.getLogger("docloop.db")
_NOT_A_DATABASE = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


def connect(path: Path, durable: bool = False) -> sqlite3.Connection:
    """Open (creating folders as needed) the database with sane pragmas.

    WAL with `synchronous=NORMAL` survives a killed process but may lose the
    last commits to a power cut, which a re-run repairs. `durable` fsyncs the
    WAL at every commit (`FULL`): for what is acknowledged to someone who will
    not send it again (a webhook delivery answered 200).
    """
    try:
        ensure_private_dir(path.parent)
        path.touch(mode=PRIVATE_FILE, exist_ok=True)  # 0600 before SQLite makes it 0644
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open database {path}: {exc} (check DOCLOOP_HOME)") from None
    conn = _checked(conn, path, wal=True)
    if durable:
        conn.execute("PRAGMA synchronous=FULL")
    _tighten(path)  # only once the file proved to be ours
    return _prepare(conn)


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to an existing database (dry runs copy from it). The URI is
    the path's own (`as_uri` quotes a `#`, `?` or `%` in a folder name, which a plain
    `file:` string would read as the URI's fragment, query or escape)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot open database {path}: {exc} (check DOCLOOP_HOME)") from None
    return _checked(conn, path, wal=False)


def _checked(conn: sqlite3.Connection, path: Path, wal: bool) -> sqlite3.Connection:
    """`conn` once the file proved to be a docloop database; closed and refused otherwise."""
    try:
        if wal:
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
        _check_ours(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if getattr(exc, "sqlite_errorcode", None) in _NOT_A_DATABASE:
            raise not_ours(path, str(exc)) from None
        raise ConfigError(f"cannot open database {path}: {exc} (check DOCLOOP_HOME)") from None
    except ConfigError:
        conn.close()
        raise
    return conn


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


@retry(retry=retry_if_exception(_locked), wait=wait_random_exponential(0.02, 1.0),
       stop=stop_after_delay(30), reraise=True)
def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, waiting out other processes that create the same fresh file.

    Changing the journal mode needs the file to itself, and SQLite answers
    "database is locked" at once instead of waiting on the busy timeout, so two
    commands racing on a fresh home would otherwise fail one of them.
    """
    conn.execute("PRAGMA journal_mode=WAL")


def not_ours(path: Path, detail: str) -> ConfigError:
    """The one message for a file at the database's place that docloop cannot use."""
    return ConfigError(f"{path} is not a docloop database ({detail}): move it aside or point "
                       "DOCLOOP_HOME at another folder, and docloop creates a fresh one")


def memory() -> sqlite3.Connection:
    """An in-memory database with the same setup (for dry runs and tests)."""
    return _prepare(sqlite3.connect(":memory:", isolation_level=None))


def _tighten(path: Path) -> None:
    """Make an existing database (and its -wal/-shm) owner-only, saying so once."""
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if tighten(part):
            log.warning("tightened %s to owner-only (0600): it holds community messages", part)


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a SQLite file that some other program made (tables, but no ledger of ours)."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if names and "schema_versions" not in names:
        raise not_ours(path, f"it has tables {', '.join(sorted(names)[:3])} but no "
                             "schema_versions")


def _prepare(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Row access by name, foreign keys on, and the migrations ledger."""
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER)"
    )
    return conn


def ensure_schema(conn: sqlite3.Connection, component: str, migrations: Sequence[str]) -> None:
    """Apply the migrations of `component` that have not run yet, in order.

    The quick read outside a transaction spares the write lock when all is
    applied; the decision itself is taken again under BEGIN IMMEDIATE, so of
    two processes racing on a fresh home one applies and the other sees it done.
    """
    if _version(conn, component) >= len(migrations):
        return
    with transaction(conn):
        done = _version(conn, component)
        for script in migrations[done:]:
            for statement in _statements(script):
                conn.execute(statement)
        if done < len(migrations):
            conn.execute(
                "INSERT INTO schema_versions(component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                (component, len(migrations)),
            )


def _version(conn: sqlite3.Connection, component: str) -> int:
    row = conn.execute(
        "SELECT version FROM schema_versions WHERE component = ?", (component,)
    ).fetchone()
    return int(row[0]) if row else 0


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
