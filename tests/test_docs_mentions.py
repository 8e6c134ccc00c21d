"""Whether any page of the indexed docs mentions a name (a ticket's term list asks)."""

from __future__ import annotations

from pathlib import Path

from docloop import registry
from docloop.backends.analyzers.offline_suggest import listed_terms
from docloop.config import Settings
from docloop.docs.loader import load_pages
from docloop.models import Quote
from docloop.stages.index_docs import index_docs, open_index
from tests.docs_helpers import write_docs
from tests.helpers import insight

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
        assert index.mention_share("max_retries") == 0.5
        assert index.mention_share("worker") == 1.0  # `QueueWorker` holds it too
        assert index.mention_share("RootConfig") == 0.0


def test_a_page_synced_into_an_open_index_is_read_by_the_next_check(tmp_path: Path) -> None:
    """The pages' texts are read once per process: a sync must make the index read them
    again, or a name a new page defines stays "one user's own" until the process ends."""
    write_docs(tmp_path / "docs", DOCS)
    settings = Settings(home=tmp_path / "home")
    index_docs(settings, tmp_path / "docs", [])
    with registry.open_stores(settings) as stores:
        index = open_index(settings, stores)
        assert not index.mentions("RootConfig")  # the texts are read here, and kept
        assert index.mention_share("RootConfig") == 0.0  # and the answer too
        write_docs(tmp_path / "docs", {"guide/root.md": "# Root\n\nSubclass `RootConfig`.\n"})
        index.sync(load_pages(tmp_path / "docs"))
        assert index.mentions("RootConfig")
        assert index.mention_share("RootConfig") == 1 / 3


def test_a_new_pages_terms_leave_out_what_most_indexed_pages_say(tmp_path: Path) -> None:
    """As `docloop run` composes it (enrich passes the index's mention_share): a word every
    indexed page uses (`worker`, the product's vocabulary here) is not a term a new page
    is asked to use; the users' own words are."""
    from docloop.backends.analyzers.offline_suggest import offline_suggestion

    write_docs(tmp_path / "docs", DOCS)
    settings = Settings(home=tmp_path / "home")
    index_docs(settings, tmp_path / "docs", [])
    line = "the worker drops jobs when the broker restarts during a deploy"
    asked = insight(verdict="missing", path=None, heading=None, messages=("1", "2", "3"),
                    quotes=(line, line, line))
    with registry.open_stores(settings) as stores:
        share = open_index(settings, stores).mention_share
        text = offline_suggestion(asked, [], None, share).text
    listed = text.split("in their words:", 1)[1].split("\n", 1)[0]
    assert "`broker`" in listed and "`worker`" not in listed


def test_a_plural_name_counts_as_used_when_the_docs_use_its_singular(tmp_path: Path) -> None:
    """`max_retries_values` is one user's; `QueueWorkers` is the docs' `QueueWorker` in
    the plural, which a ticket must not list as a name no page uses."""
    write_docs(tmp_path / "docs", DOCS)
    settings = Settings(home=tmp_path / "home")
    index_docs(settings, tmp_path / "docs", [])
    asked = insight(messages=("1",)).model_copy(update={"quotes": [Quote(
        message_id="1", author="ann", text="Two `QueueWorkers` and `max_retries_values` fail.")]})
    with registry.open_stores(settings) as stores:
        listed = listed_terms(asked, open_index(settings, stores).mention_share)
    assert "QueueWorkers" in listed and "max_retries_values" not in listed
