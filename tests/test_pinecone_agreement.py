"""Pinecone and SQLite rank the same docs alike: the same top page for ≥ 90% of queries.

The example's docs and labelled questions with real MiniLM vectors, and (when
../shared is present) the Vite docs with the real Vite community messages
with the hashing embedder (MiniLM over 686 chunks takes minutes on a loaded
2-core machine; benchmarks/pinecone_bench.py measures the real corpora with
MiniLM).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from docloop import registry
from docloop.backends.embedders.minilm import MiniLMEmbedder
from tests.fake_pinecone import FakePinecone
from tests.pinecone_support import TIDEPOOL, compare, realset_questions, tidepool_questions


@pytest.fixture
def fake() -> Iterator[FakePinecone]:
    with FakePinecone(dimension=384) as served:
        yield served


@pytest.mark.model
def test_example_docs_agree_on_the_top_page(fake: FakePinecone, tmp_path: Path,
                                            minilm: MiniLMEmbedder,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCLOOP_MODEL_DIR", str(minilm.model_dir))
    questions = tidepool_questions()
    result = compare(TIDEPOOL / "docs", questions, tmp_path / "home", fake, os.environ)
    assert result.queries == len(questions) > 100
    assert result.top1 >= 0.9, f"{result.same_top}/{result.queries}"
    assert result.pinecone_index.embedded == 0  # every vector came from the embedding cache


def test_a_real_corpus_agrees_on_the_top_page(fake: FakePinecone, tmp_path: Path,
                                              shared_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.BACKENDS["embedder"], "local",
                        "tests.docs_helpers:HashingEmbedder")
    questions = realset_questions(shared_dir, "vite")
    docs = shared_dir / "corpora" / "vite-docs"
    result = compare(docs, questions, tmp_path / "home", fake, os.environ)
    assert result.top1 >= 0.9, f"{result.same_top}/{result.queries}"
