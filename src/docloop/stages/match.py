"""Match an insight to the documentation page and section it belongs to.

Input: an `Insight` (title, questions, quotes) and its centroid embedding.
Output: a `DocMatch` with a verdict:

- `covered`: a page answers it closely (best section similarity ≥ COVERED and
  most of the users' salient terms appear on the page) — users don't find or
  understand it;
- `partial`: a page is about the topic but misses what users asked;
- `missing`: no page is close enough, judged against the run's other insights
  and the users' terms (stages/verdict.py); the suggestion is a new page, and
  the nearest pages are kept as `alternatives` (where to link it from).

The query is built from the evidence, not one message. Whether any page is
close enough is decided on the whole insight (its representative questions
and key terms for the keyword side, the cluster centroid for the vector side).
Which page is decided by the members: each of the most representative
problems (its text plus the answer it got) searches on its own and the pages
collect the members' votes, by rank (1 for a member's first page, 1/2 for its
second...: `VerdictSettings.vote_k`), so the page most members put first wins
whatever the spread of one member's scores. One combined query drifts towards
pages that share generic words with many of the questions (a JWT question and a
CORS question both say "token" and "header"); members that agree on a page
outvote that drift. A member's vote for a catch-all page (a migration guide,
a feature tour: the hub score index-docs stores) counts less
(`VerdictSettings.hub_discount`), since single chat messages land on those
pages whatever they ask. The members' texts joined also search as one
re-ranked query, which votes as a share of the members (`group_weight`): the
joined question sees what no single message says. Thresholds are
calibrated leave-one-community-out on the labelled sets
(benchmarks/verdict_calibrate.py, RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

import numpy as np

from docloop.backends.analyzers.offline_suggest import user_terms
from docloop.backends.docs_index.terms import PageTerms
from docloop.models import DocChunk, DocMatch, Insight, PageHit, Verdict
from docloop.stages.verdict import (
    ChatWords,
    CoverageEvidence,
    VerdictSettings,
    is_missing,
    term_coverage,
    unknown_terms,
)
from docloop.text import truncate

COVERED = VerdictSettings().covered
MISSING = VerdictSettings().fallback_missing
TOP_K = 5
MAX_VOTERS = 8  # most representative members that search on their own
VOTE_K = 10  # pages each member's search contributes
VOTE_RANK_K = VerdictSettings().vote_k  # a member's vote for its r-th page: see vote_totals
GROUP_CHARS = 4000  # the group query's length at most (the embedder reads far less)


class VectorSearch(Protocol):
    """What matching needs from a docs index."""

    def search_vector(self, text: str, vector: np.ndarray, top_k: int) -> list[PageHit]: ...

    def page_chunks(self, path: str) -> list[DocChunk]: ...

    def page_similarity(self, path: str, vector: np.ndarray) -> float: ...

    def best_similarities(self, vectors: np.ndarray) -> np.ndarray: ...

    def page_terms(self) -> PageTerms: ...


#: one member's evidence: the text it searches with and its embedding
Evidence = tuple[str, np.ndarray]


class Votes(NamedTuple):
    """The members' searches summed (vote_totals)."""

    totals: dict[str, float]  # each page's summed votes
    sections: dict[str, PageHit]  # each page's best-scoring section
    firsts: list[str]  # each member's first page, in member order


class PageChoice(NamedTuple):
    """The chosen page and the evidence on it (choose_page)."""

    ranked: list[PageHit]  # candidate pages, the chosen one first
    chunks: list[DocChunk]  # the chosen page's chunks
    coverage: float  # share of the users' terms the chosen page mentions
    agreement: float | None  # share of the members that put it first (None: no voters)


def insight_query(insight: Insight) -> str:
    """Keyword query text: representative questions plus salient user terms."""
    parts = [insight.title, *insight.questions[:3], " ".join(user_terms(insight)[:8])]
    return truncate(" ".join(dict.fromkeys(p for p in parts if p)), 1000)


def match_insight(insight: Insight, centroid: np.ndarray, index: VectorSearch,
                  evidence: Sequence[Evidence] = (), reference: float | None = None,
                  settings: VerdictSettings | None = None,
                  group: Sequence[PageHit] = (),
                  words: Sequence[str] = (),
                  hubs: Mapping[str, float] | None = None,
                  chat: ChatWords | None = None,
                  shared: int | None = None) -> tuple[DocMatch, list[DocChunk]]:
    """Find the page and section, and decide the verdict.

    `evidence` holds the members most representative first; without it the
    insight-level search also picks the page. `group` is the re-ranked search of
    the members' texts joined (group_query), weighed against the members' votes.
    `words` are every member's own text: the words they share that no page uses
    count towards `missing` (verdict.unknown_terms: with `chat`, the run's counts of
    their words, ChatWords.of_members, only the words rare in the run's chat). The
    insight's chat messages are its size (a small insight needs a larger gap,
    verdict.size_allowance; without message ids, the members' number). How many
    members put the chosen page first counts against `missing` (agreement).
    `hubs` are the pages' catch-all scores as index-docs stored them (fuse_pages).
    `shared` counts the words at least two members' problems share (`shared_words`; None:
    not known): members that share none are a chance cluster, which never says `missing`.
    `reference` is the run's reference similarity (its median, held to the model's fit
    floor: verdict.held_reference; None: the absolute floor decides). Returns the match
    and the matched page's chunks (read once here, reused by suggest; empty when no page
    covers it).
    """
    settings = settings or VerdictSettings()
    hits = index.search_vector(insight_query(insight), centroid, TOP_K)
    similarity = float(index.best_similarities(np.asarray([centroid]))[0]) if hits else 0.0
    below_floor = reference is None and is_missing(
        CoverageEvidence(similarity, 1.0, shared=shared), None, settings)
    if not hits or below_floor:
        return _missing(similarity, hits), []
    ranked, chunks, coverage, agreed = choose_page(insight, hits, index, evidence, group,
                                                   settings, hubs)
    best = ranked[0]
    unknown = len(unknown_terms(words, index.page_terms(), chat, settings.chat_share)
                  ) if words else 0
    size = len(insight.message_ids) or len(words)
    closeness = CoverageEvidence(similarity, coverage, unknown, size, agreed, shared)
    if is_missing(closeness, reference, settings):
        return _missing(similarity, ranked), []
    page_similarity = index.page_similarity(best.path, centroid)
    close = page_similarity >= settings.covered and coverage >= settings.term_coverage
    verdict: Verdict = "covered" if close else "partial"
    return DocMatch(
        path=best.path, url=best.section_url, heading=best.heading, anchor=best.anchor,
        score=round(page_similarity, 4), verdict=verdict, passage=truncate(best.text, 400),
        alternatives=ranked[1:4],
    ), chunks


def choose_page(insight: Insight, hits: list[PageHit], index: VectorSearch,
                evidence: Sequence[Evidence], group: Sequence[PageHit] = (),
                settings: VerdictSettings | None = None,
                hubs: Mapping[str, float] | None = None) -> PageChoice:
    """The pages ranked by the members' votes and the group query (else the insight-level
    `hits`), the first page's chunks, the share of the users' terms it mentions, and the
    share of the members whose own search put it first."""
    settings = settings or VerdictSettings()
    voters = evidence[:MAX_VOTERS]
    votes = vote_totals(voters, index, settings.vote_k)
    totals = votes.totals
    if hubs and settings.hub_discount > 0:
        totals = {p: v * (1 - settings.hub_discount * hubs.get(p, 0.0))
                  for p, v in totals.items()}
    if settings.heading_quote > 0:
        totals = quoted_votes(totals, [text for text, _ in voters], index.page_terms(),
                              settings.heading_quote)
    ranked = fuse_pages(totals, votes.sections, group, settings.group_weight, len(voters),
                        settings.vote_k) or hits
    chunks = index.page_chunks(ranked[0].path)
    return PageChoice(ranked, chunks, term_coverage(insight, chunks),
                      agreement(votes.firsts, ranked[0].path))


def quoted_votes(totals: Mapping[str, float], texts: Sequence[str], terms: PageTerms,
                 weight: float) -> dict[str, float]:
    """`totals` with `weight` more votes for a voted page per member whose words one of its
    headings quotes (PageTerms.quoting_pages), not discounted as a catch-all page is: a
    troubleshooting page's heading that spells out the error the members pasted is where
    the maintainers filed that error, however many other questions land on the page (a
    real typescript-eslint insight of three users pasting "The file must be included in at
    least one of the projects provided" went to a framework FAQ because the
    troubleshooting page that titles a section with it is a catch-all)."""
    voted = dict(totals)
    for text in texts:
        for path in terms.quoting_pages(text) & voted.keys():
            voted[path] += weight
    return voted


def agreement(firsts: Sequence[str], page: str) -> float | None:
    """Share of the members whose own search put `page` first (None with fewer than two).

    Members with one problem converge on the page that answers it, even when their chat
    (cron lines, times, zone names) embeds far from the page's prose; when no page
    answers it, each member's search lands wherever its own words happen to lead.
    """
    if len(firsts) < 2:
        return None
    return sum(1 for first in firsts if first == page) / len(firsts)


def _missing(similarity: float, nearest: list[PageHit]) -> DocMatch:
    """No page covers it; the nearest pages are where a new page would be linked from."""
    return DocMatch(verdict="missing", score=round(similarity, 4), alternatives=nearest[:3])


def group_query(texts: Sequence[str]) -> str:
    """The members' texts joined, one per line: the query `docloop eval`'s group search
    measures (one query per labelled group), which on the real sets picks the right page
    more often than the members' votes alone do (benchmarks/match_diagnose.py)."""
    return "\n".join(dict.fromkeys(t.strip() for t in texts if t.strip()))[:GROUP_CHARS]


def fuse_pages(votes: Mapping[str, float], sections: Mapping[str, PageHit],
               group: Sequence[PageHit], weight: float, voters: int = 1,
               vote_k: float = VOTE_RANK_K) -> list[PageHit]:
    """Pages ranked by the members' summed votes plus the group query's, best first.

    The group query votes as `weight` × `voters` members would, by the same rank rule
    (its first page vote_k / vote_k, its r-th vote_k / (vote_k + r)): the joined texts
    are one more opinion on the page, worth a share of the members', not a score on
    another scale. A page keeps the members' best section; a page only the group query
    found keeps the group's.
    """
    totals = dict(votes)
    chosen = dict(sections)
    if weight > 0:
        for position, hit in enumerate(group):
            vote = vote_k / (vote_k + position) if vote_k > 0 else 1.0 / (1 + position)
            totals[hit.path] = totals.get(hit.path, 0.0) + weight * voters * vote
            chosen.setdefault(hit.path, hit)
    return [chosen[p] for p in sorted(totals, key=lambda path: (-totals[path], path))]


def vote_pages(evidence: Sequence[Evidence], index: VectorSearch,
               vote_k: float = VOTE_RANK_K) -> list[PageHit]:
    """Pages ranked by the members' votes alone (vote_totals), best first."""
    totals, sections, _ = vote_totals(evidence, index, vote_k)
    return [sections[p] for p in sorted(totals, key=lambda path: (-totals[path], path))]


def vote_totals(evidence: Sequence[Evidence], index: VectorSearch,
                vote_k: float = VOTE_RANK_K) -> Votes:
    """Each page's summed votes over each member's own search, its best section, and each
    member's first page.

    With `vote_k` > 0 a member gives its page at position r (0 first) 1 / (vote_k + r)
    times vote_k: its first page 1, and less the lower it ranks, whatever the scores'
    spread (a member whose search happens to be confident does not outvote two that
    agree; chosen leave-one-community-out end to end, benchmarks/match_ablation.py).
    With `vote_k` 0 a member's votes are its scores above the score of its last
    (VOTE_K-th) page: what every page gets just for being a candidate says nothing,
    and summed over members it lifts broad pages (migration guides, announcements)
    that sit in everyone's top 10. Each page is represented by the section that
    scored best for any member (its `score` stays that section's score, so hits
    mean the same everywhere).
    """
    totals: dict[str, float] = {}
    sections: dict[str, PageHit] = {}
    firsts: list[str] = []
    for text, vector in evidence:
        hits = index.search_vector(text, vector, VOTE_K)
        firsts.extend(hit.path for hit in hits[:1])
        floor = hits[-1].score if len(hits) == VOTE_K else 0.0
        for position, hit in enumerate(hits):
            vote = vote_k / (vote_k + position) if vote_k > 0 else hit.score - floor
            totals[hit.path] = totals.get(hit.path, 0.0) + vote
            if hit.path not in sections or hit.score > sections[hit.path].score:
                sections[hit.path] = hit
    return Votes(totals, sections, firsts)
