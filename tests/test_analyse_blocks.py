"""Analysis works in blocks (embedding, extraction) with the same result as all at once."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from docloop import db
from docloop.backends.embedders.base import Embedder
from docloop.backends.embedders.cache import CachedEmbedder, SQLiteVectorCache
from docloop.models import Problem
from docloop.stages import analyse as analyse_module
from docloop.stages.centroids import CentroidRows, MemberSums, first_close_earlier, row_blocks


class CrcEmbedder(Embedder):
    """Deterministic 8-dim vectors from a text's crc32 (no model needed)."""

    name = "crc-8"
    dim = 8

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        rows = [np.random.default_rng(zlib.crc32(t.encode())).standard_normal(self.dim)
                for t in texts]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def problems(n: int) -> list[Problem]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [Problem(id=f"p{i}", conversation_id=str(i), text=f"problem {i % 7}",
                    timestamp=start + timedelta(minutes=i)) for i in range(n)]


def _cached(inner: Embedder) -> CachedEmbedder:
    return CachedEmbedder(inner, SQLiteVectorCache(db.memory()))


def test_problems_are_embedded_a_block_at_a_time_with_the_same_vectors(
        monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _cached(CrcEmbedder()).embed([p.with_answer for p in problems(23)])
    monkeypatch.setattr(analyse_module, "EMBED_BLOCK", 5)
    inner = CrcEmbedder()
    blocked = analyse_module._embed(_cached(inner), problems(23))
    np.testing.assert_array_equal(blocked, whole)
    assert max(inner.calls) <= 5 and sum(inner.calls) == 7  # 7 distinct texts, once each
    assert analyse_module._embed(_cached(inner), []).shape == (0, 8)


def test_centroid_rows_grow_and_member_sums_match_a_fresh_sum() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((300, 8)).astype(np.float32)
    rows = CentroidRows(vectors[:1])
    for vector in vectors[1:100]:
        rows.append(vector)
    np.testing.assert_array_equal(rows.matrix, vectors[:100])
    sums, members = MemberSums(vectors), [3, 7]
    for index in (11, 5, 299, 42):
        members.append(index)
        np.testing.assert_array_equal(sums.joined(0, members), vectors[members].sum(axis=0))
    assert [(s.start, s.stop) for s in row_blocks(5, 2)] == [(0, 2), (2, 4), (4, 5)]


def test_first_close_earlier_skips_emptied_clusters() -> None:
    centroids = np.array([[1, 0], [1, 0], [0, 1], [1, 0]], dtype=np.float32)
    alive = np.array([False, True, True, True])
    assert first_close_earlier(centroids, alive, 3, 0.9) == 1
    assert first_close_earlier(centroids, alive, 2, 0.9) is None
    assert first_close_earlier(centroids, alive, 0, 0.9) is None


def test_a_released_window_keeps_its_counts_and_messages_but_not_its_outline() -> None:
    """`release_groups` frees the conversation outline after extraction, nothing else."""
    from docloop.models import Message
    from docloop.stages.window import MessageWindow
    from docloop.storage.messages import MessageStore

    start = datetime(2024, 1, 1, tzinfo=UTC)
    store = MessageStore(db.memory())
    store.upsert(Message(id=str(i), channel_id="c1", author_id=f"a{i}", content=f"text {i}",
                         timestamp=start + timedelta(days=i)) for i in range(3))
    window = MessageWindow(store, None)
    before = [c.id for c in window.conversations]
    window.release_groups()
    assert len(window.conversations) == len(before) == 3 and len(window) == 3
    assert window.lookup(["1"])["1"].content == "text 1"
    with pytest.raises(RuntimeError, match="released"):
        list(window.conversations)
