"""The docs index family: chunks of documentation pages, searchable."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from docloop.config import Settings
from docloop.models import DocChunk, PageHit

if TYPE_CHECKING:
    from docloop.stores import Stores


class DocsIndex(ABC):
    """Hybrid (keyword + vector) search over documentation, aggregated per page."""

    @classmethod
    @abstractmethod
    def version(cls, settings: Settings, stores: Stores, s3: Any = None) -> str:
        """A digest of the docs this index would search with `settings`: it changes
        whenever index-docs changed them, or the index it points at.

        Read without building the index (no embedder is loaded, no search service
        is asked), so a run can tell cheaply whether the docs changed since an
        earlier analysis. `stores` hold docloop's database (opened only by an index
        that lives there); `s3` is an injected boto3 client for an index whose
        keyword side lives in S3.
        """

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
