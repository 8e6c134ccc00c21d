"""Match an insight to the documentation page and section it belongs to.

Input: an `Insight` (title, questions, quotes) and its centroid embedding.
Output: a `DocMatch` with a verdict:

- `covered`: a page answers it closely (best section similarity ≥ COVERED and
  most of the users' salient terms appear on the page) — users don't find or
  understand it;
- `partial`: a page is about the topic (similarity ≥ MISSING) but misses what
  users asked;
- `missing`: no page is close enough; the suggestion is a new page, and the
  nearest pages are kept as `alternatives` (where to link it from).

The query is built from the evidence, not one message. Whether any page is
close enough is decided on the whole insight (its representative questions
and key terms for the keyword side, the cluster centroid for the vector side).
Which page is decided by the members: each of the most representative
problems (its text plus the answer it got) searches on its own and the pages
collect the members' scores. One combined query drifts towards pages that
share generic words with many of the questions (a JWT question and a CORS
question both say "token" and "header"); members that agree on a page
outvote that drift. Thresholds are calibrated on the labelled sets in
`benchmarks/` (see RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from docloop.backends.analyzers.offline_suggest import mentions, user_terms
from docloop.models import DocChunk, DocMatch, Insight, PageHit, Verdict
from docloop.text import truncate

COVERED = 0.50
MISSING = 0.38
TERM_COVERAGE = 0.30
TOP_K = 5
MAX_VOTERS = 8  # most representative members that search on their own
VOTE_K = 10  # pages each member's search contributes


class VectorSearch(Protocol):
    """What matching needs from a docs index."""

    def search_vector(self, text: str, vector: np.ndarray, top_k: int) -> list[PageHit]: ...

    def page_chunks(self, path: str) -> list[DocChunk]: ...

    def page_similarity(self, path: str, vector: np.ndarray) -> float: ...


#: one member's evidence: the text it searches with and its embedding
Evidence = tuple[str, np.ndarray]


def insight_query(insight: Insight) -> str:
    """Keyword query text: representative questions plus salient user terms."""
    parts = [insight.title, *insight.questions[:3], " ".join(user_terms(insight)[:8])]
    return truncate(" ".join(dict.fromkeys(p for p in parts if p)), 1000)


def match_insight(insight: Insight, centroid: np.ndarray, index: VectorSearch,
                  evidence: Sequence[Evidence] = ()) -> tuple[DocMatch, list[DocChunk]]:
    """Find the page and section, and decide the verdict.

    `evidence` holds the members most representative first; without it the
    insight-level search also picks the page. Returns the match and the matched
    page's chunks (read once here, reused by suggest; empty when no page covers it).
    """
    hits = index.search_vector(insight_query(insight), centroid, TOP_K)
    if not hits or hits[0].similarity < MISSING:
        return DocMatch(verdict="missing", score=hits[0].similarity if hits else 0.0,
                        alternatives=hits[:3]), []
    ranked = vote_pages(evidence[:MAX_VOTERS], index) or hits
    best = ranked[0]
    similarity = index.page_similarity(best.path, centroid)
    chunks = index.page_chunks(best.path)
    coverage = term_coverage(insight, chunks)
    close = similarity >= COVERED and coverage >= TERM_COVERAGE
    verdict: Verdict = "covered" if close else "partial"
    return DocMatch(
        path=best.path, url=_section_url(best), heading=best.heading, anchor=best.anchor,
        score=round(similarity, 4), verdict=verdict, passage=truncate(best.text, 400),
        alternatives=ranked[1:4],
    ), chunks


def vote_pages(evidence: Sequence[Evidence], index: VectorSearch) -> list[PageHit]:
    """Pages ranked by the summed hybrid scores of each member's own search.

    Each page is represented by the section that scored best for any member (its
    `score` stays that section's fused score, so hits mean the same everywhere).
    """
    totals: dict[str, float] = {}
    sections: dict[str, PageHit] = {}
    for text, vector in evidence:
        for hit in index.search_vector(text, vector, VOTE_K):
            totals[hit.path] = totals.get(hit.path, 0.0) + hit.score
            if hit.path not in sections or hit.score > sections[hit.path].score:
                sections[hit.path] = hit
    order = sorted(totals, key=lambda path: (-totals[path], path))
    return [sections[p] for p in order]


def term_coverage(insight: Insight, chunks: list[DocChunk]) -> float:
    """Share of the users' salient terms that the page mentions (1.0 when there are none)."""
    terms = user_terms(insight)[:10]
    if not terms:
        return 1.0
    page = " ".join(c.text for c in chunks).lower()
    return sum(1 for t in terms if mentions(page, t)) / len(terms)


def _section_url(hit: PageHit) -> str:
    if hit.anchor and "#" not in hit.url:
        return f"{hit.url}#{hit.anchor}"
    return hit.url
