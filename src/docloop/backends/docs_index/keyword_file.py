"""Where a remote docs index keeps its keyword side: one SQLite file per namespace.

The file holds the KeywordStore's tables (pages, chunk texts with a copy of
their vectors, which the pages' catch-all scores are computed from, FTS5,
anchors) and each page's topic vector (the unit mean of its chunk vectors, which the
ranker's `topic` feature needs and a top-K query cannot give). `index-docs`
writes it, `docs search` and `run` read it, always as a local SQLite file:

- locally (`s3_bucket` unset) it lives at DOCLOOP_HOME/pinecone/<namespace>-<hash>.db;
- with `s3_bucket` set (the deployment's bucket, DOCLOOP_S3_BUCKET) the file of
  record is the object `docs/<namespace>/keywords.sqlite.gz` in that bucket:
  `index-docs` downloads it (incremental as locally), syncs, and uploads a
  consistent snapshot (`Connection.serialize`, gzip); a reader (a Lambda)
  keeps a copy under DOCLOOP_HOME and downloads again only when the object's
  ETag changed (one HEAD request per open).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from docloop import db
from docloop.backends.docs_index.keyword_store import KeywordStore
from docloop.config import Settings
from docloop.errors import ConfigError, MissingDependencyError, TransientError

TOPIC_MIGRATIONS = ["CREATE TABLE docs_topics (path TEXT PRIMARY KEY, vector BLOB NOT NULL)"]


def keyword_path(home: Path, namespace: str) -> Path:
    """The keyword file of `namespace`: a safe file name, unique per namespace."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", namespace)[:80]
    digest = hashlib.sha256(namespace.encode()).hexdigest()[:8]
    return home / "pinecone" / f"{safe}-{digest}.db"


class KeywordFile(ABC):
    """The local SQLite file a keyword store opens, and where its file of record lives."""

    path: Path

    @abstractmethod
    def pull(self) -> None:
        """Make `path` the current copy (before the store opens it)."""

    @abstractmethod
    def push(self, conn: sqlite3.Connection) -> None:
        """Publish what `conn` (open on `path`) holds, after index-docs changed it."""


class LocalKeywordFile(KeywordFile):
    """The file under DOCLOOP_HOME is the file of record."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pull(self) -> None:
        """Nothing to fetch."""

    def push(self, conn: sqlite3.Connection) -> None:
        """Nothing to publish: the commit already made it durable."""


class S3KeywordFile(KeywordFile):
    """`s3://bucket/docs/<namespace>/keywords.sqlite.gz`, cached under DOCLOOP_HOME."""

    def __init__(self, client: Any, bucket: str, namespace: str, cache: Path) -> None:
        self.client = client
        self.bucket = bucket
        self.key = f"docs/{namespace}/keywords.sqlite.gz"
        self.path = cache
        self._etag_file = cache.with_name(cache.name + ".etag")

    def pull(self) -> None:
        from botocore.exceptions import ClientError

        with self._errors():
            try:
                etag = self.client.head_object(Bucket=self.bucket, Key=self.key)["ETag"]
            except ClientError as exc:
                if _status(exc) != 404:
                    raise
                self.client.head_bucket(Bucket=self.bucket)  # a missing bucket is an error
                return  # nothing indexed yet: the store starts empty
            if self.path.is_file() and self._cached_etag() == etag:
                return
            body = self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
        self._replace(gzip.decompress(body), etag)

    def push(self, conn: sqlite3.Connection) -> None:
        with self._errors():
            answer = self.client.put_object(Bucket=self.bucket, Key=self.key,
                                            Body=gzip.compress(conn.serialize()),
                                            ContentType="application/gzip")
        self._etag_file.write_text(answer["ETag"], encoding="utf-8")

    def _cached_etag(self) -> str | None:
        return self._etag_file.read_text(encoding="utf-8") if self._etag_file.is_file() else None

    def _replace(self, data: bytes, etag: str) -> None:
        """Swap the cached copy for `data` in one rename (its -wal/-shm are stale)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_bytes(data)
        partial.chmod(0o600)
        for stale in (Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            stale.unlink(missing_ok=True)
        os.replace(partial, self.path)
        self._etag_file.write_text(etag, encoding="utf-8")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """S3 refusals as one-line ConfigErrors, outages (after boto3's retries) transient."""
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"s3://{self.bucket}/{self.key}"
        try:
            yield
        except ClientError as exc:
            status = _status(exc)
            if status in (301, 403, 404):
                raise ConfigError(f"{where}: S3 refused the docs keyword store ({status} "
                                  f"{exc.response['Error'].get('Code')}): check s3_bucket / "
                                  "DOCLOOP_S3_BUCKET and the role's access to it") from None
            raise TransientError(f"{where}: S3 failed ({status}); try again later") from None
        except BotoCoreError as exc:
            raise TransientError(f"{where}: S3 unreachable ({exc}); try again later") from None


def _status(exc: Any) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def keyword_file(settings: Settings, namespace: str, s3: Any = None) -> KeywordFile:
    """The namespace's keyword file: in S3 when `s3_bucket` is set, else under the home."""
    local = keyword_path(settings.home, namespace)
    if not settings.s3_bucket:
        return LocalKeywordFile(local)
    if s3 is None:
        try:
            import boto3
        except ImportError:
            raise MissingDependencyError("s3 keyword store", "aws") from None
        s3 = boto3.client("s3")
    return S3KeywordFile(s3, settings.s3_bucket, namespace,
                         local.with_name("s3-" + local.name))


def open_keyword_store(source: KeywordFile) -> KeywordStore:
    """The keyword store over the current copy of `source` (created empty on first use)."""
    source.pull()
    return KeywordStore(db.connect(source.path))


class TopicStore:
    """Page -> topic vector, beside the keyword tables."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._cache: dict[str, np.ndarray] | None = None
        db.ensure_schema(conn, "docs_topics", TOPIC_MIGRATIONS)

    def put(self, path: str, vector: np.ndarray) -> None:
        self.conn.execute("INSERT OR REPLACE INTO docs_topics(path, vector) VALUES (?, ?)",
                          (path, np.asarray(vector, dtype=np.float32).tobytes()))
        self._cache = None

    def delete(self, path: str) -> None:
        self.conn.execute("DELETE FROM docs_topics WHERE path = ?", (path,))
        self._cache = None

    def delete_all(self) -> None:
        self.conn.execute("DELETE FROM docs_topics")
        self._cache = None

    def vectors(self, paths: list[str]) -> dict[str, np.ndarray]:
        """The topic vectors of those of `paths` that have one (all read once, then cached)."""
        if self._cache is None:
            rows = self.conn.execute("SELECT path, vector FROM docs_topics").fetchall()
            self._cache = {str(r[0]): np.frombuffer(r[1], dtype=np.float32) for r in rows}
        return {p: self._cache[p] for p in paths if p in self._cache}
