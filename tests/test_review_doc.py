"""A reviewer's page choice applied to an insight (review_doc.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from docloop import db
from docloop.errors import InputError
from docloop.models import NO_PAGE, PageHit
from docloop.review_doc import IndexedPage, checked_page, moved, page_choices
from docloop.storage import reviews as reviews_store
from tests.helpers import insight


def test_a_page_a_later_run_no_longer_ranks_keeps_the_reviewers_choice() -> None:
    """The review stores a path; when the insight's newest match no longer ranks it, the
    ticket still goes there, named without a section or link."""
    item = insight()
    shown = moved(item, "guide/old-favourite.md")
    assert shown.doc is not None and shown.doc.path == "guide/old-favourite.md"
    assert (shown.doc.url, shown.doc.heading, shown.doc.verdict) == (None, None, "partial")
    assert [h.path for h in shown.doc.alternatives] == ["guide/cors.md"]
    assert shown.suggestion is not None and shown.suggestion.patch is None
    assert ("Where: `guide/old-favourite.md` (chosen by the reviewer; docloop proposed "
            "`guide/cors.md`).") in shown.suggestion.text
    assert '- "How do I allow my frontend origin?"' in shown.suggestion.text
    assert item.doc is not None and item.doc.path == "guide/cors.md"  # the snapshot stays


def test_choices_are_the_matchs_other_pages_and_none() -> None:
    item = insight()
    assert item.doc is not None
    item.doc.alternatives = [PageHit(path="a.md", url="", heading="A", score=0.4),
                             PageHit(path="guide/cors.md", url="", heading="B", score=0.3),
                             PageHit(path="a.md", url="", heading="C", score=0.2)]
    assert [h.path for h in page_choices(item)] == ["a.md"]
    assert checked_page(item, "guide/cors.md").page is None  # docloop's own: nothing to store
    assert checked_page(item, NO_PAGE).page == NO_PAGE
    assert checked_page(item, "a.md").page == "a.md"
    unmatched = insight(path=None, verdict="missing")
    unmatched.doc = None
    assert page_choices(unmatched) == [] and moved(unmatched, "a.md") is unmatched
    with pytest.raises(InputError, match="no docs match"):
        checked_page(unmatched, NO_PAGE)


def test_an_older_home_gains_the_page_column_and_keeps_its_reviews(tmp_path: Path) -> None:
    """A home whose reviews table predates the page choice upgrades in place."""
    conn = db.connect(tmp_path / "docloop.db")
    db.ensure_schema(conn, "reviews", reviews_store.MIGRATIONS[:1])  # the schema before
    conn.execute("INSERT INTO reviews(insight_id, state, title, updated_at) "
                 "VALUES ('ins_a', 'proposed', 'Old title', '2026-11-01T00:00:00+00:00')")
    store = reviews_store.SQLiteReviewStore(conn)
    old = store.get("ins_a")
    assert old is not None and (old.title, old.page) == ("Old title", None)
    store.put(old.model_copy(update={"page": NO_PAGE}))
    again = store.get("ins_a")
    assert again is not None and again.page == NO_PAGE
    conn.close()


def test_a_home_from_before_page_sections_gains_them(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "docloop.db")
    db.ensure_schema(conn, "reviews", reviews_store.MIGRATIONS[:3])  # page and page_url
    conn.execute("INSERT INTO reviews(insight_id, state, page, page_url, updated_at) VALUES "
                 "('ins_a', 'proposed', 'guide/build.md', 'https://docs.example/guide/build/', "
                 "'2026-11-01T00:00:00+00:00')")
    store = reviews_store.SQLiteReviewStore(conn)
    old = store.get("ins_a")
    assert old is not None and (old.page, old.page_heading, old.page_anchor) == (
        "guide/build.md", None, None)
    store.put(old.model_copy(update={"page_heading": "Output", "page_anchor": "output"}))
    again = store.get("ins_a")
    assert again is not None and (again.page_heading, again.page_anchor) == ("Output", "output")
    conn.close()


def test_any_indexed_page_is_a_choice_when_the_index_can_say_so() -> None:
    """Beyond the match's candidates, a page the docs index holds (its URL looked up)."""
    item = insight()
    urls = {"guide/build.md": IndexedPage("https://docs.example/guide/build/", "Output",
                                          "output"),
            "guide/bare.md": IndexedPage("")}
    choice = checked_page(item, "guide/build.md", urls.get)
    assert (choice.page, choice.url, choice.heading, choice.anchor) == (
        "guide/build.md", "https://docs.example/guide/build/", "Output", "output")
    bare = checked_page(item, "guide/bare.md", urls.get)  # indexed, no site URL nor section
    assert (bare.url, bare.heading, bare.anchor) == ("", None, None)
    with pytest.raises(InputError, match="nor a page of the docs index"):
        checked_page(item, "guide/gone.md", urls.get)
    with pytest.raises(InputError) as refused:
        checked_page(item, "guide/build.md")  # no index to ask
    assert "docs index" not in str(refused.value)
    shown = moved(item, "guide/build.md", "https://docs.example/guide/build/")
    assert shown.doc is not None and shown.doc.url == "https://docs.example/guide/build/"
    at = moved(item, "guide/build.md", "https://docs.example/guide/build/", ("Output", "output"))
    assert at.doc is not None and at.doc.section_url == "https://docs.example/guide/build/#output"
    assert at.suggestion is not None and 'Where: `guide/build.md`, section "Output"' in \
        at.suggestion.text
    assert moved(item, "guide/bare.md", "").doc.url is None  # type: ignore[union-attr]
