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
  problem belongs to one insight (the last save wins); `merge` moves one
  insight's members to another and forgets the absorbed identity.
- review decisions (`ReviewStore`): one review per insight (upsert), the
  decisions log append-only and read back in the order written, `atomic`
  all-or-nothing.
- Discord replies (`ReplyOutbox`): `add` inserts once per reply id (a
  re-queued reply keeps its first row and state), `update` replaces,
  `pending` lists queued and mid-send replies oldest first.
- run history (`RunHistory`): a recorded run is readable by id, newest
  first; re-recording a run id replaces it.
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
from docloop.models import Decision, Insight, Message, Reply, ReviewRecord, RunReport

if TYPE_CHECKING:
    from docloop.backends.analyzers.llm_cache import Outcome
    from docloop.storage.analysis_memo import Memo
    from docloop.storage.insights import StoredCluster
    from docloop.storage.messages import Outline
    from docloop.storage.runs import RunRow

__all__ = ["AnalysisMemos", "FamilyBuilder", "InsightIdentities", "MessageRepository",
           "OutcomeCache", "RecordStore", "ReplyOutbox", "ReviewStore", "RunHistory", "Stores",
           "VectorCache"]

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

    def count(self, since: datetime | None = None) -> int:
        """How many messages are stored (at or after `since`, when given)."""

    def rewrite(self, transform: Callable[[Message], Message]) -> int:
        """Apply `transform` to every stored message (e.g. scrub again); how many changed."""

    def watermarks(self, prefix: str = "") -> dict[str, str]:
        """Saved stream positions whose key starts with `prefix`."""

    def set_watermark(self, key: str, value: str) -> None:
        """Save a stream position."""

    def window_digest(self, since: datetime | None) -> str:
        """A short string that changes whenever the window's messages change, read
        without reading the window (analysis reuse, `stages.reuse`)."""


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

    def conversations(self, insight_id: str) -> list[str]:
        """Every conversation id of the insight's members, ever seen."""

    def snapshot(self, insight_id: str) -> Insight | None:
        """The latest reported state of one insight (None if unknown or never reported)."""

    def snapshots(self) -> list[Insight]:
        """The latest reported state of every insight that has one, by id."""

    def merge(self, keep_id: str, other_id: str, merged: Insight) -> None:
        """Move `other_id`'s members to `keep_id`, forget `other_id`, keep `merged` as
        `keep_id`'s state; all or nothing."""


class ReviewStore(Protocol):
    """Review state per insight and the append-only log of decisions."""

    def get(self, insight_id: str) -> ReviewRecord | None:
        """The insight's review, or None when it was never proposed."""

    def all(self) -> dict[str, ReviewRecord]:
        """insight id -> review, for every reviewed insight."""

    def put(self, record: ReviewRecord) -> None:
        """Insert or replace the insight's review."""

    def log(self, decision: Decision) -> None:
        """Append a decision (never rewritten)."""

    def decisions(self, insight_id: str) -> list[Decision]:
        """The insight's decisions, oldest first."""

    def atomic(self) -> AbstractContextManager[None]:
        """A block whose writes all happen or none do (a review and its decision)."""


class ReplyOutbox(Protocol):
    """Discord replies owed once a ticket is done: recorded before and after sending."""

    def add(self, replies: Iterable[Reply]) -> int:
        """Queue replies not queued before (by id); how many were new."""

    def update(self, reply: Reply) -> None:
        """Replace a queued reply's row (its state, message id, error, times)."""

    def for_ticket(self, ticket_id: str) -> list[Reply]:
        """Every reply queued for a ticket."""

    def for_insight(self, insight_id: str) -> list[Reply]:
        """Every reply queued for an insight's tickets."""

    def pending(self) -> list[Reply]:
        """Replies queued or mid-send, oldest first."""


class RunHistory(Protocol):
    """A summary of every real run and the insights it reported."""

    def record(self, report: RunReport) -> None:
        """Keep a run's summary and its insights, all or nothing."""

    def runs(self, limit: int = 100) -> list[RunRow]:
        """The newest runs first."""

    def run(self, run_id: str) -> RunRow | None:
        """One run by its id (None when unknown)."""


class AnalysisMemos(Protocol):
    """The last complete analysis and the fingerprint of its inputs (one at a time)."""

    def load(self) -> Memo | None:
        """The memo saved last, if any."""

    def save(self, memo: Memo) -> None:
        """Replace the memo."""

    def forget(self) -> None:
        """Drop the memo."""


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

    @cached_property
    def reviews(self) -> ReviewStore:
        return cast(ReviewStore, self._build("reviews"))

    @cached_property
    def replies(self) -> ReplyOutbox:
        return cast(ReplyOutbox, self._build("replies"))

    @cached_property
    def runs(self) -> RunHistory:
        """Run summaries, the review desk's read model (SQLite: read with SQL; DynamoDB:
        with the reads of `aws.dynamodb_runs`)."""
        return cast(RunHistory, self._build("runs"))

    @cached_property
    def analysis_memo(self) -> AnalysisMemos:
        """The last complete analysis (`stages.reuse`)."""
        return cast(AnalysisMemos, self._build("analysis_memo"))

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
