"""Re-rank the hybrid search's candidate pages with a maintainer's evidence.

The hybrid score (keyword + vector, best chunk per page) has good recall on
real communities (the right page is in its top 3 nine times in ten) but picks
the first page poorly: the chunk that best matches a question is often a
generic passage on a neighbouring page. Each candidate page is scored again
on evidence a docs maintainer would use, as a weighted sum:

- `fused`: the hybrid score of the page's best chunk (relative to the query's best);
- `cosine`: the best chunk's cosine similarity, in absolute terms;
- `names`: the share (weighted by rarity across pages) of the code names and
  error strings the user wrote that the page mentions;
- `words`: the same for the user's plain words, over the whole page;
- `headings`: the same for the page's title and headings, where a maintainer
  files the topic;
- `support`: the mean hybrid score of the page's best few chunks (a page that
  answers the question has several sections about it, a passing mention one);
- `breadth`: how large the page's vocabulary is (log-scaled, 0..1): release
  announcements and migration guides mention everything once, so their word
  matches are weaker evidence (the calibrated weight is zero or negative);
- `topic`: cosine with the mean of the page's chunk vectors (what the page as
  a whole is about, not its one closest passage).

The weights are `RankSettings`, injectable so calibration can sweep them;
the defaults are the values chosen leave-one-community-out on the labelled
sets (benchmarks/rank_calibrate.py, RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from docloop.backends.analyzers.offline_suggest import mentions
from docloop.backends.docs_index.terms import PageTerms, atoms, query_names

FEATURES = ("fused", "cosine", "names", "words", "headings", "support", "breadth", "topic")


@dataclass(frozen=True)
class RankSettings:
    """Ranking knobs; the defaults are the shipped (calibrated) values."""

    candidates: int = 10  # pages the hybrid search hands to the re-ranker
    fused: float = 1.0
    cosine: float = 0.0
    names: float = 0.4
    words: float = 0.2
    headings: float = 0.2
    support: float = 1.0
    breadth: float = 0.0
    topic: float = 2.0

    def weights(self) -> np.ndarray:
        """The feature weights in `FEATURES` order."""
        return np.array([getattr(self, name) for name in FEATURES], dtype=np.float64)


#: the hybrid order alone (every re-ranking weight 0). `docloop run` votes with it: measured
#: end to end (benchmarks/RESULTS.md), members voting on re-ranked scores chose the right
#: page less often on the real sets than members voting on hybrid scores
HYBRID_ORDER = RankSettings(cosine=0.0, names=0.0, words=0.0, headings=0.0, support=0.0,
                            breadth=0.0, topic=0.0)


@dataclass(frozen=True)
class QueryTerms:
    """A query's rare evidence, weighted by how few pages carry it."""

    names: dict[str, float]  # code names / error strings found somewhere in the docs
    words: dict[str, float]  # stemmed plain words found somewhere in the docs

    @classmethod
    def of(cls, text: str, terms: PageTerms) -> QueryTerms:
        names = {n: terms.name_idf(n) for n in query_names(text)}
        words = {w: terms.word_idf(w) for w in atoms(text)}
        return cls({n: w for n, w in names.items() if w > 0},
                   {w: v for w, v in words.items() if v > 0})


def page_features(query: QueryTerms, terms: PageTerms, paths: Sequence[str],
                  fused: Sequence[float], cosine: Sequence[float],
                  support: Sequence[float], topic: Sequence[float]) -> np.ndarray:
    """One row of `FEATURES` per candidate page."""
    rows = np.zeros((len(paths), len(FEATURES)), dtype=np.float64)
    for i, path in enumerate(paths):
        page = terms.pages.get(path)
        rows[i, 0] = fused[i]
        rows[i, 1] = cosine[i]
        rows[i, 5] = support[i]
        rows[i, 7] = topic[i]
        if page is None:
            continue
        rows[i, 2] = _share(query.names, partial(mentions, page.text))
        rows[i, 3] = _share(query.words, page.words.__contains__)
        rows[i, 4] = _share(query.words, page.heading_words.__contains__)
        rows[i, 6] = terms.breadth(path)
    return rows


def rerank_order(features: np.ndarray, settings: RankSettings) -> list[int]:
    """Candidate positions, best first (ties keep the hybrid order)."""
    scores = features @ settings.weights()
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def _share(weights: dict[str, float], present: Callable[[str], bool]) -> float:
    """Weighted share of the terms for which `present(term)` holds (0 without terms)."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if present(t)) / total
