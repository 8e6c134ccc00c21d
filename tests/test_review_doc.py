"""A reviewer's page choice applied to an insight (review_doc.py)."""

from __future__ import annotations

import pytest

from docloop.errors import InputError
from docloop.models import NO_PAGE, PageHit
from docloop.review_doc import checked_page, moved, page_choices
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
    assert checked_page(item, "guide/cors.md") is None  # docloop's own: nothing to store
    assert checked_page(item, NO_PAGE) == NO_PAGE and checked_page(item, "a.md") == "a.md"
    unmatched = insight(path=None, verdict="missing")
    unmatched.doc = None
    assert page_choices(unmatched) == [] and moved(unmatched, "a.md") is unmatched
    with pytest.raises(InputError, match="no docs match"):
        checked_page(unmatched, NO_PAGE)
