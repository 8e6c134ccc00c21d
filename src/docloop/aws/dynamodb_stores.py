"""The AWS unit of work (store = "dynamodb"): every family over one table and one bucket.

Records, insight identities, watermarks and both caches live in the DynamoDB
table; messages in the S3 bucket (see dynamodb_layout). `transaction()` is
the message store's: the block's messages and watermarks are written at its
end, messages first. The local SQLite docs index, when `docs_index` is
"sqlite", is opened on first use from `DOCLOOP_HOME` as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, cast

from docloop import db
from docloop.aws.clients import AWSClients
from docloop.aws.s3_messages import S3MessageStore
from docloop.config import Settings
from docloop.errors import ConfigError
from docloop.stores import Stores


class DynamoStores(Stores):
    """Stores over the docloop table and bucket; nothing to close but a docs connection."""

    def __init__(self, settings: Settings, clients: AWSClients,
                 build: Callable[..., Any]) -> None:
        super().__init__(lambda family: build(family, clients=clients))
        self.settings = settings
        self.clients = clients
        self._docs: sqlite3.Connection | None = None

    @classmethod
    def open(cls, settings: Settings, build: Callable[..., Any],
             dry_run: bool = False) -> DynamoStores:
        if dry_run:
            raise ConfigError("--dry-run works on a throw-away copy of the SQLite store; "
                              "with store = \"dynamodb\" there is no copy to work on: run it "
                              "with DOCLOOP_STORE=sqlite, or without --dry-run")
        return cls(settings, AWSClients.from_settings(settings, need_bucket=True), build)

    def transaction(self) -> AbstractContextManager[None]:
        return cast(S3MessageStore, self.messages).transaction()

    @property
    def docs_conn(self) -> sqlite3.Connection:
        if self._docs is None:
            self._docs = db.connect(self.settings.db_path)
        return self._docs

    def close(self) -> None:
        if self._docs is not None:
            self._docs.close()
            self._docs = None
