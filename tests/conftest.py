"""Shared fixtures: a hermetic environment and the optional ../shared data."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from docloop.backends.embedders.minilm import MiniLMEmbedder

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's keys or settings; state goes to a temp home."""
    for name in list(os.environ):
        if name.startswith(("DOCLOOP_", "DISCORD_", "LINEAR_", "OPENAI_", "PINECONE_", "AWS_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def shared_dir() -> Path:
    """../shared, or skip the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


#: MiniLM vectors already computed in this test process, by (model folder, text)
_VECTORS: dict[tuple[str, str], np.ndarray] = {}
#: the model's own `embed`, nothing remembered (what `model_forward` tests call)
MODEL_EMBED = MiniLMEmbedder.embed


@pytest.fixture(autouse=True)
def remembered_minilm_vectors(request: pytest.FixtureRequest,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Each text's MiniLM vector is computed once per test process, not once per test.

    Dozens of tests index the bundled example and run the loop on it in a fresh home, so
    the model embedded the same texts again and again: most of the suite's time. A
    remembered vector is the one the model gave for that text, to the last bits of the
    batch it was computed in; everything above the model (the embedding cache, its counts,
    the registry) runs as in production. A test of the model itself, or one whose figures
    must equal a user's run (a remembered vector may come from another test's batch), is
    marked `@pytest.mark.model_forward` and computes every vector."""
    if request.node.get_closest_marker("model_forward"):
        return

    def embed(self: MiniLMEmbedder, texts: Sequence[str]) -> np.ndarray:
        folder = str(self.model_dir)
        new = [t for t in dict.fromkeys(texts) if (folder, t) not in _VECTORS]
        if new:
            _VECTORS.update(zip([(folder, t) for t in new], MODEL_EMBED(self, new), strict=True))
        if not texts:
            return MODEL_EMBED(self, texts)
        return np.vstack([_VECTORS[(folder, t)] for t in texts])

    monkeypatch.setattr(MiniLMEmbedder, "embed", embed)


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    """One MiniLM embedder per test session (the model loads once); skip if not installed."""
    from docloop.config import Settings
    from docloop.errors import ConfigError

    try:
        return MiniLMEmbedder.from_settings(Settings(home=Path("unused")))
    except ConfigError as exc:
        pytest.skip(f"MiniLM model not installed: {exc}")


@pytest.fixture
def model_runner(minilm, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A CliRunner whose commands find the session's MiniLM model files."""
    from click.testing import CliRunner

    monkeypatch.setenv("DOCLOOP_MODEL_DIR", str(minilm.model_dir))
    return CliRunner()
