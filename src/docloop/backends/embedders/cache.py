"""A persistent embedding cache in front of any embedder.

Indexing, clustering and matching embed many of the same texts run after
run; vectors are keyed on (model name, sha256 of the text) in the shared
SQLite database so a text is embedded once per model, ever.

The dimension is learned, not assumed: an OpenAI-compatible server (Ollama,
vLLM) serves models docloop has never heard of, so the cache takes the
dimension from the vectors it already holds for the model, or else from the
model's first answer. Vectors of another dimension under the same model name
mean the model behind that name changed; mixing them would make every
cosine meaningless, so that is refused with what to do.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from docloop import db
from docloop.backends.embedders.base import Embedder
from docloop.config import Settings
from docloop.errors import ConfigError

if TYPE_CHECKING:
    from docloop.stores import VectorCache

MIGRATIONS = [
    """CREATE TABLE embedding_cache (
        model TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, text_sha256)
    ) WITHOUT ROWID""",
]
_LOOKUP_CHUNK = 500  # stay well under SQLite's bound-parameter limit
_FLOAT_BYTES = 4


class CachedEmbedder(Embedder):
    """Wraps `inner`; counts `computed` (sent to the model) and `cached` texts."""

    def __init__(self, inner: Embedder, cache: VectorCache) -> None:
        self.inner = inner
        self.name = inner.name
        self.cache = cache
        self.computed = 0
        self.cached = 0
        self.stored_dim = cache.stored_dim(self.name)
        self.dim = self.stored_dim or inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts`; only texts never seen with this model are computed."""
        keys = [text_key(t) for t in texts]
        found = self.cache.lookup(self.name, set(keys), self.stored_dim) if self.stored_dim else {}
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            first_text = {k: t for k, t in zip(keys, texts, strict=True)}
            vectors = self.inner.embed([first_text[k] for k in missing])
            self._learn(int(vectors.shape[1]))
            fresh = dict(zip(missing, vectors, strict=True))
            self.cache.store(self.name, fresh)
            found.update(fresh)
        self.computed += len(missing)
        self.cached += len(keys) - len(missing)
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = found[key]
        return out

    def _learn(self, dim: int) -> None:
        """Take the dimension from the model's answer; refuse one that contradicts the cache."""
        if self.stored_dim and dim != self.stored_dim:
            raise self._mismatch(dim)
        self.dim = self.stored_dim = dim

    def _mismatch(self, dim: int) -> DimensionMismatch:
        where = self.cache.describe()
        return DimensionMismatch(
            self.name, self.stored_dim, dim,
            f"embedding cache in {where} holds {self.stored_dim}-dim vectors for model "
            f"'{self.name}' but it now gives {dim}-dim ones (the model behind that name "
            "changed): give the new model its own embedding_model name, or clear the old "
            f"vectors with sqlite3 {where} \"DELETE FROM embedding_cache WHERE model = "
            f"'{self.name}'\"; then re-run `docloop index-docs PATH`")


class DimensionMismatch(ConfigError):
    """The cache holds vectors of another size for the model's name (the model changed)."""

    def __init__(self, model: str, stored: int, given: int, message: str) -> None:
        super().__init__(message)
        self.model, self.stored, self.given = model, stored, given


class SQLiteVectorCache:
    """The `embedding_cache` table of the shared database (a `VectorCache`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        db.ensure_schema(conn, "embedding_cache", MIGRATIONS)

    @classmethod
    def from_settings(cls, settings: Settings, conn: sqlite3.Connection) -> SQLiteVectorCache:
        """Over the shared connection (settings choose nothing else yet)."""
        return cls(conn)

    def describe(self) -> str:
        return str(self.conn.execute("PRAGMA database_list").fetchone()["file"]
                   or "the database")

    def stored_dim(self, model: str) -> int:
        row = self.conn.execute("SELECT length(vector) FROM embedding_cache WHERE model = ? "
                                "LIMIT 1", (model,)).fetchone()
        return 0 if row is None else int(row[0]) // _FLOAT_BYTES

    def lookup(self, model: str, keys: set[str], dim: int) -> dict[str, np.ndarray]:
        ordered = sorted(keys)
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(ordered), _LOOKUP_CHUNK):
            part = ordered[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                f"SELECT text_sha256, vector FROM embedding_cache "
                f"WHERE model = ? AND text_sha256 IN ({marks})",
                [model, *part],
            )
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (dim,):
                    found[key] = vector
        return found

    def store(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        rows = [(model, k, np.asarray(v, dtype=np.float32).tobytes())
                for k, v in vectors.items()]
        with db.transaction(self.conn):
            self.conn.executemany(
                "INSERT OR REPLACE INTO embedding_cache(model, text_sha256, vector) "
                "VALUES (?, ?, ?)",
                rows,
            )


def text_key(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
