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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import numpy as np

from docloop.backends.records.base import RecordStore
from docloop.models import Insight, Message

if TYPE_CHECKING:
    from docloop.backends.analyzers.llm_cache import Outcome
    from docloop.storage.analysis_memo import Memo
    from docloop.storage.insights import StoredCluster
    from docloop.storage.messages import Outline

__all__ = ["AnalysisMemos", "InsightIdentities", "MessageRepository", "OutcomeCache", "RecordStore",
           "VectorCache"]


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
        """A short string that changes whenever the window's messages change."""


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

    def snapshots(self, ids: Sequence[str]) -> list[Insight]:
        """The kept states of these insights, in the order asked (missing ones skipped)."""


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
