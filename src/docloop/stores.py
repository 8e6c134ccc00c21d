"""The storage families docloop's core depends on, as interfaces in one place.

Stages and backends talk to these, never to a concrete store, so a host can
swap the implementation (SQLite today, DynamoDB/S3 on AWS later) through the
registry (`registry.build_*`, chosen by `settings.store`). Each family's
guarantees are stated here and checked by one contract suite per family
(tests/test_store_contracts.py), parametrised over every implementation:

- records (`RecordStore`, an ABC in backends/records/base.py): idempotent
  `put`, status history appended in order, `claim_delivery` creates once
  (webhook de-duplication), `atomic` all-or-nothing.
- messages (`MessageRepository`): idempotent upsert by id (an older copy
  never replaces a newer edit), `window` oldest first, watermarks readable
  by prefix and monotonic for Discord positions (snowflakes never move back).
- insight identities (`InsightIdentities`): upsert by insight id, a
  problem belongs to one insight (the last save wins).
- caches (`VectorCache`, `OutcomeCache`): a miss is absent, a hit returns
  exactly what was stored, a re-store replaces.

A command opens the families together as one `Stores` (`registry.open_stores`):
the unit of work a stage receives instead of a database connection, so a
stage (or a Lambda) never needs SQLite just to satisfy a signature.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from docloop.backends.records.base import RecordStore
from docloop.models import Insight, Message

if TYPE_CHECKING:
    from docloop.backends.analyzers.llm_cache import Outcome
    from docloop.storage.insights import StoredCluster
    from docloop.storage.messages import Outline

__all__ = ["FamilyBuilder", "InsightIdentities", "MessageRepository", "OutcomeCache",
           "RecordStore", "Stores", "VectorCache"]

#: family name ("records", "messages", ...) -> that family's store; given by the registry
FamilyBuilder = Callable[[str], Any]


class MessageRepository(Protocol):
    """Redacted messages deduplicated by id, plus per-stream watermarks."""

    def upsert(self, messages: Iterable[Message]) -> int:
        """Store new messages and newer edits; how many rows changed."""

    def get(self, ids: Sequence[str]) -> list[Message]:
        """The stored messages with these ids, in the order asked."""

    def window(self, since: datetime | None) -> list[Message]:
        """Every message at or after `since` (all when None), oldest first."""

    def iter_window(self, since: datetime | None) -> Iterator[Message]:
        """The same messages, oldest first, read as they are consumed (bounded memory)."""

    def outline(self, since: datetime | None) -> list[Outline]:
        """The window as light rows (ids, channel, thread, author, time), oldest first."""

    def count(self) -> int:
        """How many messages are stored."""

    def rewrite(self, transform: Callable[[Message], Message]) -> int:
        """Apply `transform` to every stored message (e.g. scrub again); how many changed."""

    def watermarks(self, prefix: str = "") -> dict[str, str]:
        """Saved stream positions whose key starts with `prefix`."""

    def set_watermark(self, key: str, value: str) -> None:
        """Save a stream position."""


class InsightIdentities(Protocol):
    """Insight fingerprints, centroids and members, kept from run to run."""

    def clusters(self) -> list[StoredCluster]:
        """Every stored insight identity, by id."""

    def members(self) -> dict[str, str]:
        """problem id -> insight id for every problem seen before."""

    def save(self, clusters: Iterable[tuple[str, np.ndarray, list[tuple[str, str]]]]) -> None:
        """Upsert (id, centroid, [(problem_id, conversation_id)]) for each cluster."""

    def save_snapshots(self, insights: Iterable[Insight]) -> None:
        """Keep the latest reported state of each stored insight."""


class VectorCache(Protocol):
    """Embedding vectors keyed on (model name, text key)."""

    def stored_dim(self, model: str) -> int:
        """The dimension of the vectors held for `model`; 0 when there are none."""

    def lookup(self, model: str, keys: set[str], dim: int) -> dict[str, np.ndarray]:
        """The stored vectors of `dim` dimensions among `keys` (misses are absent)."""

    def store(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        """Insert or replace vectors, all or none."""

    def describe(self) -> str:
        """Where the cache lives, for error messages that say what to clear."""


class OutcomeCache(Protocol):
    """LLM request outcomes keyed on a digest of (model, prompt version, request)."""

    def get(self, key: str) -> Outcome | None:
        """The stored outcome, or None on a miss."""

    def put(self, key: str, stage: str, model: str, prompt_version: str,
            outcome: Outcome) -> None:
        """Insert or replace an outcome."""

    def count(self, ok: bool | None = None) -> int:
        """Outcomes stored (all, or only successes/failures)."""


class Stores(ABC):
    """Every storage family of one backend, opened together for one command.

    The unit of work stages receive: the family handles (built on first use,
    through the registry's `build`), `transaction()` for writes that must
    land together, and `close()` for what was opened. Use it as a context
    manager to close it. `docs_conn` is the SQLite connection the SQLite docs
    index lives in (the docs index is a family of its own, `settings.docs_index`).
    """

    def __init__(self, build: FamilyBuilder) -> None:
        self._build = build

    @cached_property
    def records(self) -> RecordStore:
        return cast(RecordStore, self._build("records"))

    @cached_property
    def messages(self) -> MessageRepository:
        return cast(MessageRepository, self._build("messages"))

    @cached_property
    def insights(self) -> InsightIdentities:
        return cast(InsightIdentities, self._build("insights"))

    @cached_property
    def embedding_cache(self) -> VectorCache:
        return cast(VectorCache, self._build("embedding_cache"))

    @cached_property
    def llm_cache(self) -> OutcomeCache:
        return cast(OutcomeCache, self._build("llm_cache"))

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """A block whose message and watermark writes land together or not at all
        (joins an enclosing one)."""

    @property
    @abstractmethod
    def docs_conn(self) -> sqlite3.Connection:
        """The SQLite connection holding the local docs index."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and flush nothing: uncommitted work is dropped."""

    def __enter__(self) -> Stores:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
