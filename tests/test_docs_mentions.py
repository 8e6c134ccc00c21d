"""Whether any page of the indexed docs mentions a name (a ticket's term list asks)."""

from __future__ import annotations

from pathlib import Path

from docloop import registry
from docloop.config import Settings
from docloop.stages.index_docs import index_docs, open_index
from tests.docs_helpers import write_docs

DOCS = {
    "guide/queue.md": "# Queue\n\n## Retries\n\nSet `max_retries` on the `QueueWorker`.\n",
    "guide/limits.md": "# Limits\n\nThe worker stops at `retry_limit` tries.\n",
}


def test_the_index_knows_the_names_its_pages_use(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", DOCS)
    settings = Settings(home=tmp_path / "home")
    index_docs(settings, tmp_path / "docs", [])
    with registry.open_stores(settings) as stores:
        index = open_index(settings, stores)
        assert index.mentions("max_retries") and index.mentions("MAX_RETRIES")
        assert index.mentions("Retries")  # a heading's word
        assert index.mentions("worker.max_retries")  # every part on one page
        assert not index.mentions("QueueWorker.retry_limit")  # its parts on two pages
        assert not index.mentions("RootConfig")
