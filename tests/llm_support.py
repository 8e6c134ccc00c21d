"""Builders shared by the LLM-mode tests: data, settings, a fake fallback."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docloop import db
from docloop.backends.analyzers.base import Analyzer
from docloop.backends.analyzers.llm import LLMAnalyzer
from docloop.backends.analyzers.llm_cache import LLMCache
from docloop.backends.analyzers.llm_client import LLMClient
from docloop.config import Settings
from docloop.models import Conversation, DocChunk, DocMatch, Insight, Message, Problem, Quote
from docloop.models import Suggestion as SuggestionModel

BASE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def msg(mid: str, author: str, content: str, minutes: int = 0) -> Message:
    return Message(id=mid, channel_id="10", channel_name="help", author_id=author,
                   author_name=f"user{author}", content=content,
                   timestamp=BASE + timedelta(minutes=minutes))


def conv(cid: str, *messages: Message) -> Conversation:
    return Conversation(id=cid, channel_id="10", channel_name="help", messages=list(messages))


def settings(base_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {"analyzer": "llm", "llm_base_url": base_url,
                              "llm_timeout_s": 5.0, "llm_concurrency": 2}
    values.update(extra)
    return Settings(**values)


class Sleeps(list[float]):
    """Records the waits the retry loop asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class FakeFallback(Analyzer):
    """Stands in for the offline analyzer; records what it was asked."""

    name = "fake-offline"

    def __init__(self) -> None:
        super().__init__()
        self.suggested: list[str] = []

    def extract(self, conversations: Sequence[Conversation]) -> list[Problem]:
        return []

    def suggest(self, insight: Insight, chunks: Sequence[DocChunk], source: str | None,
                docs_share: Callable[[str], float] | None = None) -> SuggestionModel:
        self.suggested.append(insight.id)
        return SuggestionModel(kind="new-section", text="offline suggestion")


def analyzer(base_url: str, conn: sqlite3.Connection | None = None, *,
             retry_failed: bool = False, batch_tokens: int = 6000,
             **extra: Any) -> tuple[LLMAnalyzer, FakeFallback, Sleeps]:
    """An analyzer against the fake server, with recorded sleeps and a fake fallback."""
    sleeps = Sleeps()
    client = LLMClient(settings(base_url, **extra), sleep=sleeps)
    fallback = FakeFallback()
    built = LLMAnalyzer(client, LLMCache(conn or db.memory()), fallback,
                        retry_failed=retry_failed, concurrency=2, batch_tokens=batch_tokens)
    return built, fallback, sleeps


def insight(quotes: Sequence[str] = ("How do I allow my frontend origin in CORS?",),
            path: str | None = "guide/cors.md", verdict: str = "covered") -> Insight:
    doc = DocMatch.model_validate({"path": path, "url": "https://docs.example/cors",
                                   "heading": "Allowed origins", "verdict": verdict})
    return Insight(id="ins_1", title="CORS origin question",
                   summary="Users ask how to allow a frontend origin with CORS.",
                   quotes=[Quote(message_id=str(i), author="u", text=t)
                           for i, t in enumerate(quotes)],
                   doc=doc)


PAGE = """# CORS

Browsers block cross-origin requests unless the server allows them.

## Allowed origins

Pass the list of origins to `CORSMiddleware` with `allow_origins`.
Wildcards are matched literally.

## Credentials

Set `allow_credentials=True` to accept cookies.
"""


def use_fake(monkeypatch: pytest.MonkeyPatch, base_url: str, **env: str) -> None:
    """Point the CLI's settings at the fake server (plus any `DOCLOOP_*` values)."""
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
