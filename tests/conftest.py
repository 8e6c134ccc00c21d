"""Shared fixtures: a hermetic environment and the optional ../shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    """One MiniLM embedder per test session (the model loads once); skip if not installed."""
    from docloop.backends.embedders.minilm import MiniLMEmbedder
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
