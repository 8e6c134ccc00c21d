"""The analyzer family: the judgement steps (extract problems, label, suggest)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from docloop.models import Conversation, DocChunk, Insight, LLMStats, Problem, Suggestion


class Analyzer(ABC):
    """Finds problems in conversations and proposes documentation edits."""

    name: str

    def __init__(self) -> None:
        self.stats = LLMStats()
        #: notes for the run report (budget reached, batches failed, fallbacks used)
        self.warnings: list[str] = []

    @abstractmethod
    def extract(self, conversations: Sequence[Conversation]) -> list[Problem]:
        """Problems users hit, each with verbatim quotes of its conversation."""

    def label(self, insight: Insight, problems: Sequence[Problem]) -> tuple[str, str]:
        """A title and summary for an insight; the default keeps what clustering chose."""
        return insight.title, insight.summary

    @abstractmethod
    def suggest(
        self, insight: Insight, chunks: Sequence[DocChunk], source: str | None,
        docs_share: Callable[[str], float] | None = None,
    ) -> Suggestion:
        """A concrete edit to the matched page (chunks empty when no page covers it);
        `docs_share` tells the share of the docs set's pages that mention a name or word
        (0.0: none; None when no docs are indexed)."""
