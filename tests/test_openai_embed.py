"""OpenAI embeddings: request limits, float encoding, order, normalisation, errors, and
models docloop does not know (Ollama, vLLM) through the registry, cache, index and run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from docloop import db, registry
from docloop.backends.analyzers.llm import LLMAnalyzer
from docloop.backends.embedders import openai_embed
from docloop.backends.embedders.openai_embed import OpenAIEmbedder, batches
from docloop.cli import main
from docloop.config import Settings
from docloop.errors import ConfigError, PermanentError, TransientError
from docloop.registry import build_embedder, sqlite_stores
from tests.fake_openai import (
    FakeOpenAI,
    Reply,
    error,
    insufficient_quota,
    invalid_api_key,
    model_not_found,
    rate_limited,
    server_error,
)
from tests.llm_support import FakeFallback, Sleeps, settings, use_fake


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
        built = registry.build("analyzer", "llm", settings(fake.base_url),
                               llm_cache=sqlite_stores(conn).llm_cache,
                               fallback=FakeFallback(), retry_failed=True)
        assert isinstance(built, LLMAnalyzer) and built.runner.retry_failed
        assert built.extract([]) == [] and fake.chat_calls == 0
    assert conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0] == 0


# -- an OpenAI-compatible server's own models, composed as production composes them ------

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tidepool"
DIMS = {"nomic-embed-text": 768, "tiny-embed": 64}


def embed_settings(fake: FakeOpenAI, model: str) -> Settings:
    return settings(fake.base_url, analyzer="offline", embedder="openai",
                    embedding_model=model)


def test_an_unknown_model_learns_its_dimension_behind_the_cache() -> None:
    conn = db.memory()
    texts = [f"chunk number {i} about queues" for i in range(150)]
    with FakeOpenAI(embedding_dims=DIMS) as fake:
        embedder = build_embedder(embed_settings(fake, "nomic-embed-text"), sqlite_stores(conn))
        assert embedder.dim == 0  # not known until the server answers
        parts = [embedder.embed(texts[i:i + 64]) for i in range(0, 150, 64)]  # as index-docs
        assert [p.shape for p in parts] == [(64, 768), (64, 768), (22, 768)]
        again = build_embedder(embed_settings(fake, "nomic-embed-text"), sqlite_stores(conn))
        assert again.dim == 768  # learned from the cache, before any call
        assert np.array_equal(again.embed(texts[:3]), parts[0][:3])
        assert again.computed == 0 and fake.calls["/v1/embeddings"] == 3
        other = build_embedder(embed_settings(fake, "tiny-embed"), sqlite_stores(conn))
        assert other.name == "openai:tiny-embed" and other.embed(texts[:2]).shape == (2, 64)


def test_a_cache_built_with_another_dimension_is_refused_with_what_to_do() -> None:
    conn = db.memory()
    with FakeOpenAI(embedding_dims={"local-model": 768}) as fake:
        build_embedder(embed_settings(fake, "local-model"), sqlite_stores(conn)).embed(["first"])
        fake.embedding_dims["local-model"] = 64  # another model now answers to that name
        changed = build_embedder(embed_settings(fake, "local-model"), sqlite_stores(conn))
        with pytest.raises(ConfigError, match=r"holds 768-dim vectors .* gives 64-dim") as caught:
            changed.embed(["second"])
    assert "DELETE FROM embedding_cache" in str(caught.value) and "\n" not in str(caught.value)


def test_a_server_changing_the_vector_size_mid_run_is_an_error() -> None:
    with FakeOpenAI(embedding_dims={"m": 64}) as fake:
        embedder = OpenAIEmbedder.from_settings(embed_settings(fake, "m"))
        assert embedder.embed(["one"]).shape == (1, 64)
        fake.embedding_dims["m"] = 32
        with pytest.raises(PermanentError, match=r"different sizes \(32, 64\)"):
            embedder.embed(["two"])


@pytest.mark.parametrize(("reply", "expected", "match"), [
    (invalid_api_key(), ConfigError, "401 invalid_api_key.*OPENAI_API_KEY"),
    (model_not_found("nomic-embed-text"), ConfigError,
     "embedding_model 'nomic-embed-text'.*404 model_not_found"),
    (insufficient_quota(), PermanentError, "insufficient_quota"),
])
def test_embedding_errors_that_waiting_cannot_fix_fail_at_once(
        reply: Reply, expected: type[Exception], match: str) -> None:
    with FakeOpenAI(embedding_dims=DIMS) as fake:
        fake.script.append(reply)
        embedder = OpenAIEmbedder.from_settings(embed_settings(fake, "nomic-embed-text"))
        with pytest.raises(expected, match=match):
            embedder.embed(["text"])
    assert fake.calls["/v1/embeddings"] == 1


def test_embedding_rate_limits_wait_as_the_server_says() -> None:
    sleeps = Sleeps()
    with FakeOpenAI(embedding_dims=DIMS) as fake:
        fake.script.extend([rate_limited(retry_after="3"), rate_limited(retry_after=None),
                            server_error(503)])
        embedder = OpenAIEmbedder.from_settings(embed_settings(fake, "nomic-embed-text"))
        embedder.client._sleep = sleeps
        assert embedder.embed(["text"]).shape == (1, 768)
    # retry-after; else the reset of the exhausted limit (x-ratelimit-reset-tokens: 6m0s,
    # capped at 60 s); else exponential backoff
    assert sleeps == [3.0, 60.0, 2.0]


def test_long_inputs_are_cut_to_the_per_input_limit() -> None:
    with FakeOpenAI(embedding_dims=DIMS) as fake:
        embedder = OpenAIEmbedder.from_settings(embed_settings(fake, "nomic-embed-text"))
        embedder.embed(["word " * 20_000])
    sent = fake.embedding_requests[0]["input"][0]
    assert len(sent) == openai_embed.MAX_INPUT_TOKENS * openai_embed.SAFE_CHARS_PER_TOKEN


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _use(monkeypatch: pytest.MonkeyPatch, fake: FakeOpenAI, model: str) -> None:
    use_fake(monkeypatch, fake.base_url, DOCLOOP_EMBEDDER="openai",
             DOCLOOP_EMBEDDING_MODEL=model)


def test_index_search_and_run_with_a_server_model_and_a_rerun_embeds_nothing(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with FakeOpenAI(embedding_dims=DIMS) as fake:
        _use(monkeypatch, fake, "nomic-embed-text")
        indexed = _cli("index-docs", str(EXAMPLE / "docs"))
        assert indexed.exit_code == 0, indexed.output
        found = _cli("docs", "search", "webhook signature fails", "--json")
        assert found.exit_code == 0, found.output
        assert json.loads(found.stdout)[0]["path"]
        reports = []
        for name in ("one", "two"):
            result = _cli("run", "--source", f"discord-export:{EXAMPLE / 'discord'}",
                          "--since", "all", "--json", str(tmp_path / f"{name}.json"))
            assert result.exit_code == 0, result.output
            reports.append(json.loads((tmp_path / f"{name}.json").read_text()))
            calls = fake.calls["/v1/embeddings"]
        assert reports[0]["stats"]["embedded"] > 0 and reports[0]["insights"]
        assert reports[1]["stats"]["embedded"] == 0
        assert fake.calls["/v1/embeddings"] == calls
    assert {r["model"] for r in fake.embedding_requests} == {"nomic-embed-text"}
    assert {i["doc"]["path"] for i in reports[0]["insights"]} - {None}


def test_a_docs_index_built_with_another_model_is_refused_until_reindexed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(embedding_dims=DIMS) as fake:
        _use(monkeypatch, fake, "nomic-embed-text")
        assert _cli("index-docs", str(EXAMPLE / "docs")).exit_code == 0
        _use(monkeypatch, fake, "tiny-embed")
        refused = _cli("docs", "search", "webhook signature fails")
        assert refused.exit_code == 2
        assert "index-docs" in refused.output and "openai:nomic-embed-text" in refused.output
        assert len(refused.output.strip().splitlines()) == 1
        calls = fake.calls["/v1/embeddings"]
        assert calls == len(fake.embedding_requests)
        reindexed = _cli("index-docs", str(EXAMPLE / "docs"))
        assert reindexed.exit_code == 0, reindexed.output
        assert _cli("docs", "search", "webhook signature fails").exit_code == 0
    assert {r["model"] for r in fake.embedding_requests[calls:]} == {"tiny-embed"}


def test_an_unknown_model_is_a_configuration_error_at_the_command_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(models={"nomic-embed-text"}) as fake:
        _use(monkeypatch, fake, "nomic-embed-txt")
        result = _cli("index-docs", str(EXAMPLE / "docs"))
    assert result.exit_code == 2
    assert "embedding_model 'nomic-embed-txt'" in result.output


def test_switching_the_embedding_model_keeps_the_insights_identities(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ids = []
    with FakeOpenAI(embedding_dims=DIMS) as fake:
        for model in ("nomic-embed-text", "tiny-embed"):
            _use(monkeypatch, fake, model)
            out = tmp_path / f"{model}.json"
            result = _cli("run", "--source", f"discord-export:{EXAMPLE / 'discord'}",
                          "--since", "all", "--tracker", "none", "--json", str(out))
            assert result.exit_code == 0, result.output
            ids.append({i["id"] for i in json.loads(out.read_text())["insights"]})
    assert ids[1] and ids[1] <= ids[0]  # the same problems map to the same insights
