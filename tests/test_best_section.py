"""`HybridDocsIndex.best_section`: a page's section as the search names it, for any page."""

from __future__ import annotations

from pathlib import Path

import pytest

from docloop import registry
from docloop.config import Settings
from docloop.stages.index_docs import index_docs, open_index

EXAMPLE_DOCS = Path(__file__).resolve().parents[1] / "examples" / "tidepool" / "docs"
QUERIES = ["RateLimitError kills my nightly import after a few hundred jobs",
           "webhook signature check fails with SignatureError every time",
           "how do I enqueue many jobs at once without hitting the payload limit"]


@pytest.mark.usefixtures("minilm")
def test_every_ranked_page_gets_the_section_the_search_names(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    index_docs(settings, EXAMPLE_DOCS, [])
    with registry.open_stores(settings) as stores:
        index = open_index(settings, stores)
        for query in QUERIES:
            for hit in index.search(query, top_k=5):
                best = index.best_section(hit.path, query)
                assert best is not None and (best.path, best.anchor) == (hit.path, hit.anchor), (
                    query, hit.path)
        assert index.best_section("no/such/page.md", QUERIES[0]) is None


@pytest.mark.usefixtures("minilm")
def test_a_long_reference_page_gets_the_section_the_pasted_words_name(
        tmp_path: Path, shared_dir: Path) -> None:
    """Vite's shared-options page (real, 40 options): an alias question lands on
    § resolve.alias, which the vectors alone put below § resolve.preserveSymlinks."""
    page = shared_dir / "corpora" / "vite-docs" / "config" / "shared-options.md"
    docs = tmp_path / "docs" / "config"
    docs.mkdir(parents=True)
    (docs / "shared-options.md").write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    settings = Settings(home=tmp_path / "home")
    index_docs(settings, docs.parent, [])
    question = ("How do I use the @ alias for src in imports? I configured paths in "
                "tsconfig.json and vite says Failed to resolve import")
    with registry.open_stores(settings) as stores:
        best = open_index(settings, stores).best_section("config/shared-options.md", question)
    assert best is not None and best.heading == "resolve.alias"
