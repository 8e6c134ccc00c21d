"""The common start of a store that lives in the shared docloop.db connection."""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar, Self

from docloop import db
from docloop.config import Settings


class SharedConnectionStore:
    """Owns `component`'s tables (applied `migrations`) in the connection it is given."""

    component: ClassVar[str]
    migrations: ClassVar[list[str]]

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        db.ensure_schema(conn, self.component, self.migrations)

    @classmethod
    def from_settings(cls, settings: Settings, conn: sqlite3.Connection, **deps: Any) -> Self:
        """Over the shared connection (built through the registry)."""
        return cls(conn)
