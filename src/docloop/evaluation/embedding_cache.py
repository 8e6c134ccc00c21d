"""Embeddings carried from one evaluation to the next (`docloop eval --cache FILE`).

Each eval builds its home from nothing, so it embeds the whole docs set again, which is
most of an eval's time on a docs set of a hundred pages; a team measuring docloop on its
community runs eval again after every label fix. A vector depends only on the model and
the text (`CachedEmbedder` keys it so), so the vectors can be carried over: the eval home's
cache is filled from FILE before the run, and what the run computed is added to FILE after
it. The figures cannot change: a vector read back is the vector the model gave.

FILE is a docloop database: a new file, one an earlier `--cache` wrote, or a home's
`docloop.db`. Eval only reads and adds `embedding_cache` rows there, and adds them only
after a run that finished.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from docloop import db
from docloop.backends.embedders.cache import MIGRATIONS, DimensionMismatch
from docloop.errors import ConfigError, InputError

log = logging.getLogger("docloop.eval")

_COPY = ("INSERT OR IGNORE INTO main.embedding_cache (model, text_sha256, vector) "
         "SELECT model, text_sha256, vector FROM other.embedding_cache")


def check_cache_file(path: Path) -> None:
    """Refuse, before any work, a `--cache` that eval could not read or add to."""
    if path.is_dir():
        raise InputError(f"--cache {path}: is a folder; give a file (a new one, or one an "
                         "earlier `docloop eval --cache` wrote)")
    if not path.exists():
        return
    try:
        db.open_read_only(path).close()  # the check every docloop database passes
    except ConfigError as exc:
        raise InputError(f"--cache {path}: {exc}; for --cache, give a new file or one an "
                         "earlier `docloop eval --cache` wrote") from None


@contextmanager
def cache_named_in_errors(cache: Path | None) -> Iterator[None]:
    """A vector-size clash during an eval with `--cache` names FILE, not the scratch home.

    The eval home starts empty, so vectors of another size under the model's name can only
    have come from FILE (written with another model of that name); the embedding cache's
    own advice (clear them in the scratch home's database) would point at a folder eval
    deletes."""
    try:
        yield
    except DimensionMismatch as exc:
        if cache is None:
            raise
        raise InputError(f"--cache {cache}: holds {exc.stored}-dim vectors for model "
                         f"'{exc.model}', which now gives {exc.given}-dim ones (another model "
                         "under that name wrote them); give this model a --cache file of its "
                         "own") from None


def seed_embeddings(home_db: Path, cache: Path) -> int:
    """Fill the eval home's embedding cache from `cache` (when it exists): the rows added."""
    if not cache.exists():
        return 0
    added = _copy(into=home_db, source=cache)
    log.info("eval cache: %d embedding(s) read from %s", added, cache)
    return added


def keep_embeddings(home_db: Path, cache: Path) -> int:
    """Add to `cache` the embeddings the eval home holds that it lacks: the rows added."""
    added = _copy(into=cache, source=home_db)
    log.info("eval cache: %d new embedding(s) kept in %s", added, cache)
    return added


def _copy(into: Path, source: Path) -> int:
    """Copy `source`'s embedding rows into `into` (both docloop databases), in one
    transaction, keeping the rows `into` has; how many were added (0 when `source` never
    embedded: a home's database may lack the table, and it is only read)."""
    with closing(db.connect(into)) as conn:
        _ensure_table(conn)
        conn.execute("ATTACH DATABASE ? AS other", (str(source),))
        try:
            if conn.execute("SELECT 1 FROM other.sqlite_master WHERE type = 'table' "
                            "AND name = 'embedding_cache'").fetchone() is None:
                return 0
            with db.transaction(conn):
                before = conn.total_changes
                conn.execute(_COPY)
                return conn.total_changes - before
        finally:
            conn.execute("DETACH DATABASE other")


def _ensure_table(conn: sqlite3.Connection) -> None:
    """The `embedding_cache` table, made as the embedding cache's own migrations make it."""
    db.ensure_schema(conn, "embedding_cache", MIGRATIONS)
