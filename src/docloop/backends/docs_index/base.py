"""The docs index family: chunks of documentation pages, searchable."""

from __future__ import annotations

from abc import ABC, abstractmethod

from docloop.models import DocChunk, PageHit


class DocsIndex(ABC):
    """Hybrid (keyword + vector) search over documentation, aggregated per page."""

    def empty_hint(self) -> str:
        """What to do when the index holds no page (said after "the docs index is empty")."""
        return "run docloop index-docs first"

    @abstractmethod
    def search(self, query: str, top_k: int = 5) -> list[PageHit]:
        """Best pages for `query`, best first, one entry per page (its best section)."""

    @abstractmethod
    def page_chunks(self, path: str) -> list[DocChunk]:
        """The chunks of one page in document order (empty if unknown)."""

    @abstractmethod
    def page_source(self, path: str) -> str | None:
        """The page's Markdown source when the docs are local files, else None."""
