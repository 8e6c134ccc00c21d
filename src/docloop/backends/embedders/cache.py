"""A persistent embedding cache in front of any embedder.

Indexing, clustering and matching embed many of the same texts run after
run; vectors are keyed on (model name, sha256 of the text) in the shared
SQLite database so a text is embedded once per model, ever.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence

import numpy as np

from docloop import db
from docloop.backends.embedders.base import Embedder

MIGRATIONS = [
    """CREATE TABLE embedding_cache (
        model TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, text_sha256)
    ) WITHOUT ROWID""",
]
_LOOKUP_CHUNK = 500  # stay well under SQLite's bound-parameter limit


class CachedEmbedder(Embedder):
    """Wraps `inner`; counts `computed` (sent to the model) and `cached` texts."""

    def __init__(self, inner: Embedder, conn: sqlite3.Connection) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.conn = conn
        self.computed = 0
        self.cached = 0
        db.ensure_schema(conn, "embedding_cache", MIGRATIONS)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts`; only texts never seen with this model are computed."""
        keys = [text_key(t) for t in texts]
        found = self._lookup(set(keys))
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            first_text = {k: t for k, t in zip(keys, texts, strict=True)}
            vectors = self.inner.embed([first_text[k] for k in missing])
            fresh = dict(zip(missing, vectors, strict=True))
            self._store(fresh)
            found.update(fresh)
        self.computed += len(missing)
        self.cached += len(keys) - len(missing)
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = found[key]
        return out

    def _lookup(self, keys: set[str]) -> dict[str, np.ndarray]:
        ordered = sorted(keys)
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(ordered), _LOOKUP_CHUNK):
            part = ordered[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                f"SELECT text_sha256, vector FROM embedding_cache "
                f"WHERE model = ? AND text_sha256 IN ({marks})",
                [self.name, *part],
            )
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dim,):
                    found[key] = vector
        return found

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        rows = [(self.name, k, np.asarray(v, dtype=np.float32).tobytes())
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
