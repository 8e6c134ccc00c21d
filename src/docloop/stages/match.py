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

The query is built from the evidence, not one message: the insight's
representative questions and key terms for the keyword side, and the
cluster centroid for the vector side. Thresholds are calibrated on the
labelled set in `benchmarks/` (see RESULTS.md).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from docloop.backends.analyzers.offline_suggest import user_terms
from docloop.models import DocChunk, DocMatch, Insight, PageHit, Verdict
from docloop.text import truncate

COVERED = 0.55
MISSING = 0.38
TERM_COVERAGE = 0.35
TOP_K = 5


class VectorSearch(Protocol):
    """What matching needs from a docs index."""

    def search_vector(self, text: str, vector: np.ndarray, top_k: int) -> list[PageHit]: ...

    def page_chunks(self, path: str) -> list[DocChunk]: ...


def insight_query(insight: Insight) -> str:
    """Keyword query text: representative questions plus salient user terms."""
    parts = [insight.title, *insight.questions[:3], " ".join(user_terms(insight)[:8])]
    return truncate(" ".join(dict.fromkeys(p for p in parts if p)), 1000)


def match_insight(insight: Insight, centroid: np.ndarray,
                  index: VectorSearch) -> tuple[DocMatch, list[DocChunk]]:
    """Find the page and section, and decide the verdict.

    Returns the match and the matched page's chunks (read once here, reused by suggest;
    empty when no page covers the insight).
    """
    hits = index.search_vector(insight_query(insight), centroid, TOP_K)
    if not hits or hits[0].similarity < MISSING:
        return DocMatch(verdict="missing", score=hits[0].similarity if hits else 0.0,
                        alternatives=hits[:3]), []
    best = hits[0]
    chunks = index.page_chunks(best.path)
    coverage = term_coverage(insight, chunks)
    close = best.similarity >= COVERED and coverage >= TERM_COVERAGE
    verdict: Verdict = "covered" if close else "partial"
    return DocMatch(
        path=best.path, url=_section_url(best), heading=best.heading, anchor=best.anchor,
        score=round(best.similarity, 4), verdict=verdict, passage=truncate(best.text, 400),
        alternatives=hits[1:4],
    ), chunks


def term_coverage(insight: Insight, chunks: list[DocChunk]) -> float:
    """Share of the users' salient terms that the page mentions (1.0 when there are none)."""
    terms = user_terms(insight)[:10]
    if not terms:
        return 1.0
    page = " ".join(c.text for c in chunks).lower()
    return sum(1 for t in terms if t.lower() in page) / len(terms)


def _section_url(hit: PageHit) -> str:
    if hit.anchor and "#" not in hit.url:
        return f"{hit.url}#{hit.anchor}"
    return hit.url
