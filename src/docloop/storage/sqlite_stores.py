"""The SQLite unit of work: every storage family over one connection to docloop.db.

A real command works on the home's database; a dry run works on an
in-memory copy of it (so it reads what earlier runs stored and writes
nothing back). One connection serves every family and the docs index, so
`transaction()` is SQLite's own BEGIN IMMEDIATE ... COMMIT.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from docloop import db
from docloop.config import Settings
from docloop.stores import Stores


class SQLiteStores(Stores):
    """Stores over one SQLite connection, which it closes."""

    def __init__(self, conn: sqlite3.Connection, build: Callable[..., Any]) -> None:
        super().__init__(lambda family: build(family, conn=conn))
        self.conn = conn

    @classmethod
    def open(cls, settings: Settings, build: Callable[..., Any],
             dry_run: bool = False) -> SQLiteStores:
        """The home's database, or for a dry run an in-memory copy of it."""
        return cls(_memory_copy(settings) if dry_run else db.connect(settings.db_path), build)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with db.transaction(self.conn):
            yield

    @property
    def docs_conn(self) -> sqlite3.Connection:
        return self.conn

    def close(self) -> None:
        self.conn.close()


def _memory_copy(settings: Settings) -> sqlite3.Connection:
    conn = db.memory()
    if settings.db_path.is_file():
        source = db.open_read_only(settings.db_path)
        source.backup(conn)
        source.close()
    return conn
