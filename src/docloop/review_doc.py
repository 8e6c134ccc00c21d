"""The page a reviewer chose instead of docloop's, as the ticket will carry it.

The right page is often not the first: on the real sets docloop's page is the
labelled one for about half the problems, and one of the three pages a ticket
names for three in four (benchmarks/RESULTS.md). So a reviewer may move an
insight to one of its candidate pages (the pages the match ranked after its
own, or the nearest pages of a `missing` one), or to any other page of a docs
index this process can read (the local SQLite one), or say that no page covers it.
The review stores only the choice (a page path with its URL, which the list
views link it by, or `NO_PAGE`); the insight snapshot keeps docloop's match,
so a later run's evidence still shows, and the choice is applied wherever the
ticket is rendered or filed.

The generated suggestion and its diff were written for docloop's page, so a
moved insight carries a plain suggestion instead: where, what users asked,
and which page docloop had proposed (a reviewer's own suggestion text still
wins over it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from docloop.errors import InputError
from docloop.models import NO_PAGE, DocMatch, Insight, PageHit, Suggestion
from docloop.text import truncate

QUESTIONS = 5  # users' questions listed in a moved insight's suggestion
PASSAGE_CHARS = 400  # as the match stage keeps a page's passage


def page_choices(insight: Insight) -> list[PageHit]:
    """The pages a reviewer may move the insight to: every page the match ranked after its
    own (for `missing`, the nearest pages), one hit per page."""
    doc = insight.doc
    if doc is None:
        return []
    return doc.runners_up(len(doc.alternatives))


@dataclass(frozen=True)
class IndexedPage:
    """A page of the docs index outside the match's candidates, at the section a ticket
    should point to (review.indexed_pages: the one the search names there)."""

    url: str  # '' when the docs have no site URL
    heading: str = ""
    anchor: str = ""


#: an indexed page as the insight would land on it, None when the index lacks the page
PageLookup = Callable[[str], IndexedPage | None]


@dataclass(frozen=True)
class PageChoice:
    """What a review stores for a page choice."""

    page: str | None  # None: docloop's own page (nothing to store)
    url: str | None = None  # the page's URL (a candidate's, or an indexed page's looked up)
    heading: str | None = None  # an indexed page's section (a candidate brings its own)
    anchor: str | None = None


def checked_page(insight: Insight, page: str, indexed: PageLookup | None = None
                 ) -> PageChoice:
    """The review's choice for `page`: docloop's page, one of the match's candidates,
    `NO_PAGE`, or (given `indexed`, the docs index's page lookup) any other indexed page;
    InputError naming the choices otherwise."""
    page = page.strip()
    doc = insight.doc
    if doc is not None and page == (doc.path or NO_PAGE):
        return PageChoice(None)
    if page == NO_PAGE and doc is not None:
        return PageChoice(page)
    hits = page_choices(insight)
    candidate = next((hit for hit in hits if hit.path == page), None)
    if candidate is not None:  # its URL too: the desk's list and coverage link the choice
        return PageChoice(page, candidate.url or None)  # by the review's URL alone
    choices = [hit.path for hit in hits]
    found = indexed(page) if indexed is not None and doc is not None else None
    if found is not None:
        return PageChoice(page, found.url, found.heading or None, found.anchor or None)
    own = [f"{doc.path} (docloop's)"] if doc is not None and doc.path else []
    named = ", ".join([*own, *choices, NO_PAGE]) if doc is not None else "none (no docs match)"
    other = " nor a page of the docs index" if indexed is not None else ""
    raise InputError(f"page {page!r} is not one of insight {insight.id}'s candidate pages "
                     f"({named}){other}")


def shown_page(doc_path: str | None, verdict: str | None,
               choice: str | None) -> tuple[str | None, str | None]:
    """A list row's page and verdict with the reviewer's `choice` applied (as `moved`
    applies it to the whole insight)."""
    if choice is None or choice == doc_path:
        return doc_path, verdict
    if choice == NO_PAGE:
        return None, "missing"
    return choice, "partial"


def moved(insight: Insight, page: str, url: str | None = None,
          section: tuple[str | None, str | None] = (None, None)) -> Insight:
    """The insight on the reviewer's page (`NO_PAGE`: no page covers it; `url` and
    `section`, its heading and anchor: where on the page when the match did not rank it)."""
    old = insight.doc
    if old is None or page == (old.path or NO_PAGE):
        return insight
    doc = _missing(old) if page == NO_PAGE else _on_page(old, page, url, section)
    return insight.model_copy(update={"doc": doc,
                                      "suggestion": _suggestion(insight, doc, old)})


def _on_page(old: DocMatch, page: str, url: str | None,
             section: tuple[str | None, str | None]) -> DocMatch:
    """docloop's match moved to `page`: its section when the match ranked it, else the
    `section` chosen when the reviewer moved it (another indexed page; none for one a later
    run no longer ranks), linked by `url`; `partial`, since the reviewer moved it there for
    an edit; docloop's own page first among the alternatives."""
    hit = next((h for h in old.alternatives if h.path == page), None)
    others = [h for h in old.alternatives if h.path != page]
    alternatives = [*_as_hits(old), *others]
    if hit is None:
        heading, anchor = section
        return DocMatch(path=page, url=url or None, heading=heading or None,
                        anchor=anchor or None, verdict="partial", alternatives=alternatives)
    return DocMatch(path=hit.path, url=hit.section_url, heading=hit.heading,
                    anchor=hit.anchor or None, score=round(hit.similarity, 4),
                    verdict="partial", passage=truncate(hit.text, PASSAGE_CHARS),
                    alternatives=alternatives)


def _missing(old: DocMatch) -> DocMatch:
    """No page covers it: docloop's page and its runners-up become the nearest pages."""
    return DocMatch(verdict="missing", score=old.score,
                    alternatives=[*_as_hits(old), *old.alternatives])


def _as_hits(doc: DocMatch) -> list[PageHit]:
    """docloop's own page as a hit (none for `missing`)."""
    if not doc.path:
        return []
    return [PageHit(path=doc.path, url=doc.section_url, heading=doc.heading or "",
                    score=doc.score, similarity=doc.score, text=doc.passage)]


def _suggestion(insight: Insight, doc: DocMatch, old: DocMatch) -> Suggestion:
    """Where, what users asked, and what docloop had proposed: no diff (it was for
    docloop's page)."""
    proposed = f"`{old.path}`" if old.path else "no page (missing)"
    asked = [f'- "{truncate(q, 200)}"' for q in insight.questions[:QUESTIONS]]
    lines = [f"What users asked ({insight.users} users, {len(insight.conversation_ids)} "
             "conversations):", *asked]
    if doc.path:
        where = f"`{doc.path}`, section \"{doc.heading}\"" if doc.heading else f"`{doc.path}`"
        head = [f"Where: {where} (chosen by the reviewer; docloop proposed {proposed})."]
        tail = ["Proposed change: answer this on that page, in the users' words."]
        return Suggestion(kind="edit", text="\n".join([*head, *lines, *tail]),
                          anchor=doc.anchor)
    near = ", ".join(f"`{h.path}`" for h in doc.runners_up()) or "none"
    head = [f"No page covers this (the reviewer's call; docloop proposed {proposed})."]
    tail = [f"Proposed change: a new page or section answering this, linked from {near}."]
    return Suggestion(kind="new-page", text="\n".join([*head, *lines, *tail]))
