"""OpenAI embeddings: request limits, float encoding, order, normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from docloop import db, registry
from docloop.backends.analyzers.llm import LLMAnalyzer
from docloop.backends.embedders import openai_embed
from docloop.backends.embedders.openai_embed import OpenAIEmbedder, batches
from docloop.errors import TransientError
from tests.fake_openai import FakeOpenAI, error
from tests.llm_support import FakeFallback, settings


def test_batches_stay_within_input_and_token_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["a" * 40] * 5000
    sizes = [len(b) for b in batches(texts)]
    assert sizes == [2048, 2048, 904]
    monkeypatch.setattr(openai_embed, "MAX_REQUEST_TOKENS", 100)
    grouped = list(batches(["x" * 160] * 7))  # 40 tokens each
    assert [len(b) for b in grouped] == [2, 2, 2, 1]


def test_embeddings_are_float_encoded_ordered_and_normalised() -> None:
    texts = ["first text", "", "third text"]
    with FakeOpenAI(embedding_dim=8) as fake:
        embedder = OpenAIEmbedder.from_settings(settings(fake.base_url,
                                                         embedding_model="tiny-embed"))
        vectors = embedder.embed(texts)
    request = fake.embedding_requests[0]
    assert request["encoding_format"] == "float" and request["model"] == "tiny-embed"
    assert request["input"] == ["first text", " ", "third text"]  # no empty strings
    assert vectors.shape == (3, 8) and embedder.dim == 8
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    expected = np.asarray(fake.vector("third text"), dtype=np.float32)
    assert np.allclose(vectors[2], expected / np.linalg.norm(expected))
    assert embedder.client.usage.total.by_stage["embed"].calls == 1


def test_embedding_errors_are_retried_then_raised() -> None:
    with FakeOpenAI() as fake:
        fake.script.extend([error(500, "boom")] * 4)
        embedder = OpenAIEmbedder.from_settings(settings(fake.base_url))
        embedder.client._sleep = lambda seconds: None
        with pytest.raises(TransientError):
            embedder.embed(["text"])
    assert fake.calls["/v1/embeddings"] == 4


def test_embeddings_are_not_capped_by_the_chat_token_budget() -> None:
    with FakeOpenAI() as fake:
        embedder = OpenAIEmbedder.from_settings(settings(fake.base_url, llm_token_budget=5))
        assert embedder.embed(["a long enough text to pass the budget"] * 3).shape[0] == 3
        assert embedder.embed(["more text"]).shape[0] == 1


def test_known_models_have_known_dimensions() -> None:
    with FakeOpenAI() as fake:
        embedder = OpenAIEmbedder.from_settings(settings(fake.base_url))
    assert embedder.model == "text-embedding-3-small" and embedder.dim == 1536


def test_registry_builds_the_llm_analyzer_with_injected_dependencies() -> None:
    conn = db.memory()
    with FakeOpenAI() as fake:
        built = registry.build("analyzer", "llm", settings(fake.base_url), conn=conn,
                               fallback=FakeFallback(), retry_failed=True)
        assert isinstance(built, LLMAnalyzer) and built.runner.retry_failed
        assert built.extract([]) == [] and fake.chat_calls == 0
    assert conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0] == 0
