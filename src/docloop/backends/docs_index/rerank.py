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
  a whole is about, not its one closest passage);
- `hub`: how often the page is a near neighbour of other pages' passages
  (hubs.py): catch-all pages (migration guides, feature overviews,
  troubleshooting, announcements) are close to everything, so being close to
  this question is weaker evidence for them (the calibrated weight is negative);
- `section`: how fully the query names one of the page's headings (the best
  heading's rarity-weighted share of words the query holds);
- `bm25`: Okapi BM25 of the whole page (relative to the best candidate's):
  chunk scores cannot see that a long page mentions the users' words once
  among everything else, the page's length normalisation can;
- `title`: how fully the query names the page's title and path words
  (`config/server-options.md`, "Fields"): users name the topic, the maintainer
  named the page after it;
- `defines`: the share of the users' code names and error strings the page
  files in a heading or defines in its code (`## server.allowedHosts`,
  `def model_validator`), not only mentions in passing;
- `parts`, `agree`: late interaction (late.py): each sentence of the query matched
  to its closest passage on the page, averaged; and the share of the query's
  sentences whose closest passage among the candidates is on this page;
- `bm25f`: `bm25` with the page's title, path and heading words counted
  HEADING_BOOST extra times (BM25F with the headings as a second field);
- `pointed`: the docs point to the page (pointers.py): the strongest other
  candidate whose best passage links to it ("See [`server.watch`](/config/...)"),
  as a share of the best candidate's hybrid score: the passage closest to the
  question is often on a catch-all page that says where the answer lives;
- `link`: the user linked the page (a docs URL whose last path segments are the
  page's file name and folder, any version or site prefix before them);
- `section_bm25`: Okapi BM25 of the page's best *section* (the chunks under one
  heading path; relative to the best candidate's), the query's words weighted by
  their rarity times 1 + log of how often the query says them: a page with one
  section about the users' problem (`server.watch`: WSL, Docker, file system
  events) beats a catch-all page that mentions the same words scattered over many
  sections, which the whole page's `bm25` scores alike;
- `rarity`: each term's weight is how few of the *candidates* carry it
  (log(candidates / carriers)), the page's share of that weight: a term only one
  candidate carries decides for it, a term all carry says nothing. Measured: it
  favours the largest candidate (a features overview carries the most stray words
  of a long group query), and lost leave-one-community-out (RESULTS.md).

The index supplies the scores it computes per candidate (`PageScores`: fused,
cosine, support, topic, hub, parts, agree, pointed); the terms-based features come from
`PageTerms` and the query's links, so any index that can give those numbers per
page ranks the same way.

The weights are `RankSettings`, injectable so calibration can sweep them.
The defaults are a listwise logistic ranker's (benchmarks/rank_learn.py) over
ten features (fused, names, breadth, topic, hub, bm25, parts, agree, link,
section_bm25), fitted by benchmarks/rank_calibrate.py's recipe on every labelled set, each
counting the same: L2 chosen by leave-one-set-out inside the sets, and the
weights the average of those leave-one-set-out fits (bagged), so no one set's
quirks pull them. The recipe is fixed rather than raced among methods: a race
re-run per held-out set picked different methods in different folds, and its
unseen figures fell far below the fixed recipe's (RESULTS.md). Features at weight
0 (cosine, words, headings, support, section, title, defines, bm25f, rarity,
pointed) measured no gain that held on unseen sets; they stay as knobs and are not
computed while their weight is 0.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from docloop.backends.docs_index.terms import Page, PageTerms, atom_list, query_names
from docloop.text import mentions

FEATURES = ("fused", "cosine", "names", "words", "headings", "support", "breadth", "topic",
            "hub", "section", "bm25", "title", "defines", "parts", "agree", "link", "bm25f",
            "rarity", "section_bm25", "pointed")
#: the features the index measures per candidate (`PageScores`); the rest come from terms
INDEX_FEATURES = ("fused", "cosine", "support", "topic", "hub", "parts", "agree", "pointed")


@dataclass(frozen=True)
class RankSettings:
    """Ranking knobs; the defaults are the shipped (calibrated) values."""

    candidates: int = 10  # pages the hybrid search hands to the re-ranker
    fused: float = 1.0
    cosine: float = 0.0
    names: float = 0.79
    words: float = 0.0
    headings: float = 0.0
    support: float = 0.0
    breadth: float = -0.62
    topic: float = 5.11
    hub: float = -0.67
    section: float = 0.0
    bm25: float = 1.64
    title: float = 0.0
    defines: float = 0.0
    parts: float = 4.50
    agree: float = 0.41
    link: float = 2.77
    bm25f: float = 0.0
    rarity: float = 0.0
    section_bm25: float = 2.24
    pointed: float = 0.0

    def weights(self) -> np.ndarray:
        """The feature weights in `FEATURES` order."""
        return np.array([getattr(self, name) for name in FEATURES], dtype=np.float64)

    def active(self) -> frozenset[str]:
        """The features with a non-zero weight: the only ones search computes."""
        return frozenset(name for name in FEATURES if getattr(self, name) != 0.0)


HEADING_BOOST = 3.0  # bm25f: a heading word counts as this many more mentions

#: every feature computed (calibration scores weights it has not chosen yet)
ALL_FEATURES = frozenset(FEATURES)

#: the hybrid order alone (every re-ranking weight 0). `docloop run` votes with it: measured
#: end to end (benchmarks/RESULTS.md), members voting on re-ranked scores chose the right
#: page less often on the real sets than members voting on hybrid scores
HYBRID_ORDER = RankSettings(cosine=0.0, names=0.0, words=0.0, headings=0.0, support=0.0,
                            breadth=0.0, topic=0.0, hub=0.0, section=0.0,
                            bm25=0.0, title=0.0, defines=0.0, parts=0.0, agree=0.0, link=0.0,
                            bm25f=0.0, rarity=0.0, section_bm25=0.0, pointed=0.0)


@dataclass(frozen=True)
class QueryTerms:
    """A query's rare evidence, weighted by how few pages carry it, and the docs pages
    it links to."""

    names: dict[str, float]  # code names / error strings found somewhere in the docs
    words: dict[str, float]  # stemmed plain words found somewhere in the docs
    links: tuple[tuple[str, ...], ...] = ()  # each linked URL's path segments, normalised
    #: `words` weighted up by how often the query repeats them (1 + log count): in a group's
    #: joined messages the word several users say is the problem they share
    repeated: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, text: str, terms: PageTerms, active: frozenset[str] = ALL_FEATURES
           ) -> QueryTerms:
        """The evidence `active` features need (a name's rarity costs a scan of the docs)."""
        names = ({n: terms.name_idf(n) for n in query_names(text)}
                 if active & _NAME_FEATURES else {})
        counts = Counter(atom_list(text))
        words = {w: v for w, v in ((w, terms.word_idf(w)) for w in counts) if v > 0}
        return cls({n: w for n, w in names.items() if w > 0}, words, linked_paths(text),
                   {w: v * (1 + math.log(counts[w])) for w, v in words.items()})


@dataclass(frozen=True)
class PageScores:
    """What the index measured for one candidate page."""

    fused: float  # the best chunk's hybrid score
    cosine: float  # the best chunk's cosine similarity
    support: float  # the mean hybrid score of the page's best few chunks
    topic: float  # cosine with the page's mean chunk vector
    hub: float  # hubs.page_hubness: 0 (close to little) .. 1 (the docs set's strongest hub)
    parts: float = 0.0  # late.py: mean over the query's sentences of the best passage cosine
    agree: float = 0.0  # late.py: share of the query's sentences closest to this page
    pointed: float = 0.0  # pointers.py: the strongest other candidate whose passage links here


def page_features(query: QueryTerms, terms: PageTerms, paths: Sequence[str],
                  scores: Sequence[PageScores],
                  active: frozenset[str] = ALL_FEATURES) -> np.ndarray:
    """One row of `FEATURES` per candidate page. The index's scores are copied as they
    are; of the terms-based features only those in `active` are computed, the others
    stay 0 (the shipped ranker computes only what it weighs)."""
    rows = np.zeros((len(paths), len(FEATURES)), dtype=np.float64)
    wanted = [(FEATURES.index(name), _TERM_FEATURES[name]) for name in FEATURES
              if name in active and name in _TERM_FEATURES]
    for row, (path, score) in enumerate(zip(paths, scores, strict=True)):
        for name in INDEX_FEATURES:
            rows[row, FEATURES.index(name)] = getattr(score, name)
        page = terms.pages.get(path)
        if page is not None:
            for column, feature in wanted:
                rows[row, column] = feature(query, terms, path, page)
    if "rarity" in active:
        rows[:, FEATURES.index("rarity")] = candidate_rarity(query, terms, paths)
    for name in ("bm25", "bm25f", "section_bm25"):  # relative to the best candidate's
        column = FEATURES.index(name)
        top = rows[:, column].max(initial=0.0)
        if top > 0:
            rows[:, column] /= top
    return rows


_NAME_FEATURES = frozenset(("names", "defines", "rarity"))
_TermFeature = Callable[[QueryTerms, PageTerms, str, Page], float]
_TERM_FEATURES: dict[str, _TermFeature] = {
    "names": lambda q, t, path, page: _share(q.names, partial(mentions, page.text)),
    "words": lambda q, t, path, page: _share(q.words, page.words.__contains__),
    "headings": lambda q, t, path, page: _share(q.words, page.heading_words.__contains__),
    "breadth": lambda q, t, path, page: t.breadth(path),
    "section": lambda q, t, path, page: t.section_match(path, q.words),
    "bm25": lambda q, t, path, page: t.bm25(path, q.words),
    "title": lambda q, t, path, page: t.title_match(path, q.words),
    "defines": lambda q, t, path, page: t.defines(path, q.names),
    "link": lambda q, t, path, page: link_match(q.links, path),
    "bm25f": lambda q, t, path, page: t.bm25(path, q.words, HEADING_BOOST),
    "section_bm25": lambda q, t, path, page: t.section_bm25(path, q.repeated),
}


def candidate_rarity(query: QueryTerms, terms: PageTerms, paths: Sequence[str]) -> np.ndarray:
    """Each candidate's share of the query's evidence, each term (plain word, code name or
    error string) weighted by how few of the *candidates* carry it: log(candidates /
    carriers). A term only one candidate carries ("polling", `localsConvention`) is
    decisive for it; a term every candidate carries says nothing, however rare it is in
    the docs set as a whole. Shares of the evidence any candidate carries (0..1)."""
    pages = [terms.pages.get(path) for path in paths]
    if not pages:
        return np.zeros(0)
    carried = np.zeros((len(pages), len(query.words) + len(query.names)), dtype=bool)
    for row, page in enumerate(pages):
        if page is not None:
            carried[row] = [w in page.words for w in query.words] + [
                mentions(page.text, n) for n in query.names]
    carriers = carried.sum(axis=0)
    weight = np.log(len(pages) / np.maximum(carriers, 1)) * (carriers > 0)
    total = float(weight.sum())
    return carried @ weight / total if total > 0 else np.zeros(len(pages))


def linked_paths(text: str) -> tuple[tuple[str, ...], ...]:
    """The path segments of every URL in `text` (anchor, query and `.html` dropped,
    lower-cased, `_` read as `-`): `https://docs.pydantic.dev/2.11/concepts/models/#x`
    -> ("2.11", "concepts", "models")."""
    found = []
    for match in _URL.finditer(text):
        path = match.group(1).split("#", 1)[0].split("?", 1)[0]
        segments = [_normal(s) for s in path.split("/") if s]
        if segments:
            found.append(tuple(segments))
    return tuple(dict.fromkeys(found))


def link_match(links: Sequence[tuple[str, ...]], path: str) -> float:
    """1 when a linked URL ends with the page's folder and file name (`concepts/models.md`
    for `.../latest/concepts/models/`), 0.5 when it ends with the file name only (the site
    may lay folders out differently), else 0. A folder index (`guide/index.md`) is named by
    its folder."""
    page = [_normal(s) for s in path.rsplit(".", 1)[0].split("/")]
    if len(page) > 1 and page[-1] == "index":
        page = page[:-1]
    best = 0.0
    for segments in links:
        if len(page) <= len(segments) and tuple(page) == segments[-len(page):]:
            return 1.0
        if segments[-1] == page[-1]:
            best = 0.5
    return best


_URL = re.compile(r"https?://[^\s/<>()`'\"]+(/[^\s<>()`'\",]*)")


def _normal(segment: str) -> str:
    return segment.lower().removesuffix(".html").removesuffix(".md").replace("_", "-")


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
