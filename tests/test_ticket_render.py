"""Ticket bodies show the evidence and never let message text become markup."""

from __future__ import annotations

import re

from docloop.backends.trackers.base import EvidenceDelta
from docloop.models import (
    DocMatch,
    PageHit,
    Quote,
    ScoreBreakdown,
    Suggestion,
    ThreadLink,
    TicketLink,
)
from docloop.ticket_text import render_ticket, render_update
from tests.helpers import insight

HOSTILE = ("[click me](https://evil.example) <img src=x onerror=alert(1)> @everyone "
           "# Heading\n```\nfence``` **bold**")


def _insight():  # type: ignore[no-untyped-def]
    item = insight(quotes=(HOSTILE,))
    item.significance = ScoreBreakdown(users=3, conversations=2, channels=1, messages=5,
                                       recency_days=1.0, growth=2.0, score=7.5,
                                       reasons=["3 distinct users", "growing: 2 vs 0"])
    item.suggestion = Suggestion(kind="edit", text="Add a note.",
                                 patch="--- a/x.md\n+++ b/x.md\n@@ -1 +1,2 @@\n a\n+```b\n")
    item.threads = [ThreadLink(id="1", name="[x](https://evil.example)",
                               url="https://discord.com/channels/1/2/3")]
    return item


def test_ticket_has_significance_doc_quotes_and_diff() -> None:
    body = render_ticket(_insight())
    assert "**Significance:** 7.50" in body and "- 3 distinct users" in body
    assert ("[guide/cors.md › Allowed origins](https://docs.example/guide/cors.md"
            "#allowed-origins)") in body  # the section, as the match names it
    assert "verdict: **covered**" in body
    assert "````diff\n--- a/x.md" in body  # fence longer than the patch's backtick run
    assert "ins_a" in body


def test_hostile_message_text_stays_inert() -> None:
    body = render_ticket(_insight())
    assert "[click me](https://evil.example)" not in body
    assert re.search(r"(?<!\\)<img", body) is None  # only ever as an escaped \<
    assert "@everyone" not in body
    assert "\n# Heading" not in body
    assert re.search(r"(?<!\\)\]\(https://evil", body) is None


def test_update_lists_new_evidence_and_regressions() -> None:
    delta = EvidenceDelta(new_quotes=[Quote(message_id="9", author="sam", text="still broken")],
                          new_conversation_ids=["9"], new_message_ids=["9"], regression=True)
    text = render_update(_insight(), delta)
    assert text.startswith("**Regression:**")
    assert "1 new conversation(s)" in text and "> still broken" in text


def test_related_tickets_are_listed_inert() -> None:
    """A related ticket's title is an insight title (users' words): escaped like them, and
    a URL that is not http(s) is no link."""
    related = [TicketLink(id="DL-1", identifier="DOC-7", url="https://linear.app/i/7",
                             title="[click](https://evil.example) @everyone", status="open"),
               TicketLink(id="DL-2", url="javascript:alert(1)", title="CORS",
                             status="in_progress")]
    body = render_ticket(_insight().model_copy(update={"related": related}))
    assert "**Also open on this section**" in body
    assert "- [DOC-7](https://linear.app/i/7) — " in body and "(open)" in body
    assert re.search(r"(?<!\\)\]\(https://evil", body) is None and "@everyone" not in body
    assert "- DL-2 — CORS (in progress)" in body and "javascript:" not in body
    assert "Also open" not in render_ticket(_insight())


def _hit(path: str, heading: str, anchor: str = "") -> PageHit:
    return PageHit(path=path, url=f"https://docs.example/{path}", heading=heading,
                   anchor=anchor, score=0.5)


def test_ticket_names_the_next_candidate_pages_with_their_sections() -> None:
    """The right page is often the second: the ticket names the next two pages the match
    ranked (one per page, never the chosen one), linked to their sections."""
    item = _insight()
    assert item.doc is not None
    item.doc.alternatives = [_hit("guide/cors.md", "Other"), _hit("guide/build.md", "Chunks",
                                                                   "chunking-strategy"),
                             _hit("guide/build.md", "Again"), _hit("config/build.md", "[x](y)"),
                             _hit("guide/why.md", "Why")]
    body = render_ticket(item)
    line = next(ln for ln in body.splitlines() if ln.startswith("**Next candidates**"))
    assert ("[guide/build.md › Chunks](https://docs.example/guide/build.md#chunking-strategy)"
            in line)
    assert "config/build.md › \\[x\\](y)" in line  # a heading stays text
    assert "guide/cors.md" not in line and "Again" not in line and "why.md" not in line
    assert "Next candidates" not in render_ticket(_insight())  # none ranked, none named


def test_missing_ticket_links_the_nearest_pages() -> None:
    item = _insight()
    item.doc = DocMatch(verdict="missing", alternatives=[
        _hit("a.md", "A", "a"), _hit("b.md", "B"), _hit("c.md", "C"), _hit("d.md", "D")])
    body = render_ticket(item)
    assert ("Nearest pages: [a.md › A](https://docs.example/a.md#a), "
            "[b.md › B](https://docs.example/b.md), [c.md › C](https://docs.example/c.md).") in body
    assert "d.md" not in body and "Next candidates" not in body


def test_docs_without_a_site_url_are_named_not_linked() -> None:
    """Indexed without `--base-url`, a page's URL is a route; as a link in a Linear issue
    it would point into linear.app, in the outbox into the outbox folder."""
    item = _insight()
    assert item.doc is not None
    item.doc.url = "guide/cors/#allowed-origins"
    item.doc.alternatives = [PageHit(path="guide/build.md", url="guide/build/",
                                     heading="Chunks", anchor="chunks", score=0.5)]
    body = render_ticket(item)
    assert "**Docs:** guide/cors.md › Allowed origins — verdict" in body
    assert "belongs): guide/build.md › Chunks" in body
    assert "](guide/" not in body
