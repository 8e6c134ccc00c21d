"""Whether any page covers an insight: `missing` decided from calibrated evidence.

A fixed similarity cannot say "no page covers this": how close a good page
comes depends on the docs set (a broad product's pages sit near everything)
and on how its community writes (a two-line chat question embeds far from
any page, a pasted GitHub issue close to several). So the insight's best-page
similarity is compared with a *reference*: the median best-page similarity
of the run's insights, most of which a docs set covers. An insight is
`missing` when it sits clearly below that reference, and the more of the
users' own terms (names, errors, frequent words) the chosen page lacks, the
less clearly it has to: a page that neither comes close nor mentions what
users say is not where their answer is. Words the members share that no
page of the docs uses at all (`pyinstaller`, `heap`, `cargo`: the tool or
failure the problem is about) count towards `missing` the same way
(`unknown_terms`): a docs set that never names the thing cannot explain it.
Only words rare in the run's own chat count (`ChatWords`, `chat_share`): words
much of the community writes (`say`, `local`) are how its users talk, and a
small docs set that never says them still covers their problems. Members that
agree count against `missing` (`agree_weight`): when most of the members' own
searches put the chosen page first, that page answers them, however far their
chat embeds from its prose (cron lines and zone names against a page of code);
members that scatter say nothing either way (a broad problem spans pages).
A small insight has to sit further below: the centroid of two or three chat
messages strays further from every page than a large one's by chance alone
(a fragment of a split problem, or two messages that share little), so the
gap asked of it grows with 1/√messages (`size_margin`, measured from an
insight of four messages). Its size is counted in chat messages, not problems:
two threads of seven messages each are fourteen users' words on the problem,
two single messages are two (counted in problems, a gap large enough to stop
two stray messages saying `missing` also silenced the FastAPI set's two
threads that rightly do; benchmarks/RESULTS.md).

Members whose problems share no word at all (one user's "I see the same issue as well"
beside another's rebuild error: the embedding put them together, their words do not) are a
chance cluster, not a problem, and never say `missing`: a wrong `missing` sends a writer to
create a page that exists, and there is no "this" for a new page to answer.

With fewer than `min_reference` insights in a run the median means little;
the verdict then falls back to the absolute floor `fallback_missing`.

The run's median stands for "as close as a covered problem comes" only when the docs
cover most of the run's problems. Pointed at docs that do not fit the community (another
product's, or one corner of its own), every insight sits far from every page, the median
sinks with them, and "clearly below the median" picks out few: measured, 3 to 10 of 18 to
32 insights said `missing` and the rest were filed against whichever page came least far
(`contributing.md`, a docs `SOURCE.md`). So a run whose median is below its model's
`FIT_FLOORS` entry is held to that floor instead, and warned (`fit_warning`). With MiniLM
the median is 0.61 to 0.76 on every labelled set and 0.32 to 0.38 for each of them against
an unrelated product's docs; the floor sits midway, so no labelled set's verdicts move, and
against unrelated docs 53 to 70% of the insights then say `missing` (16 to 36% without
it; the rest, whose members agree on a page or find their words on it, keep it: the
warning is what tells the user; benchmarks/RESULTS.md, "When the docs do not fit the
community"). A run of fewer than `min_reference` insights has no median, so neither floor
nor warning: its absolute `fallback_missing` decides. A model without an entry (an OpenAI
embedding has another scale of similarity) has no floor.

The thresholds are `VerdictSettings`, chosen leave-one-community-out on the
labelled sets: `term_weight` on the labelled groups (benchmarks/verdict_calibrate.py),
`below_reference`, `size_margin`, `unknown_weight`, `chat_share` and `agree_weight`
end to end, on the insights the loop actually forms (benchmarks/match_replay.py;
on the labels' own groups a lower gap looked best, but real clusters include
fragments that sit lower).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from docloop.backends.analyzers.offline_suggest import user_terms
from docloop.backends.docs_index.terms import PageTerms, atoms
from docloop.models import DocChunk, Insight, PageHit, page_text
from docloop.text import mentions

SIZE_YARDSTICK = 4  # chat messages of the insight whose gap is `below_reference` exactly
#: per embedding model, the run reference below which the docs do not fit the run's
#: messages (the module docstring): midway between 0.61, the lowest median of the labelled
#: sets with their own docs, and 0.38, the highest of them against an unrelated product's
FIT_FLOORS = {"all-MiniLM-L6-v2": 0.50}


@dataclass(frozen=True)
class VerdictSettings:
    """Verdict knobs; the defaults are the shipped (calibrated) values."""

    below_reference: float = 0.18  # how far below the run's reference similarity is `missing`
    term_weight: float = 0.2  # similarity credit per unit of users' terms on the page, from 0.5
    unknown_weight: float = 0.15  # similarity debit when `unknown_cap` shared words are in no page
    unknown_cap: int = 3  # unknown words counted at most (a few say it; more say no more)
    chat_share: float = 0.1  # an unknown word counts when at most this share of the run's
    # other problems write it (ChatWords.rare; 1.0: every unknown word counts)
    agree_weight: float = 0.8  # similarity credit per unit of members agreeing above half
    size_margin: float = 0.2  # extra gap asked of a small insight, times 1/√messages − 1/√4
    min_reference: int = 5  # insights a run needs for its median to be the reference
    fallback_missing: float = 0.38  # absolute floor when the run has too few insights
    covered: float = 0.50  # similarity above which a page that has the users' terms covers it
    term_coverage: float = 0.30  # share of users' terms a covering page mentions
    group_weight: float = 0.25  # the re-ranked group query votes as this share of the members
    # (match.fuse_pages; 0: off), chosen LOCO end to end, benchmarks/RESULTS.md
    hub_discount: float = 0.5  # a member's vote for a catch-all page (hubness 1) counts 1 - this
    heading_quote: float = 1.0  # votes a page gets per member one of its headings quotes
    # (match.quoted_votes; 0: off)
    group_breadth: float | None = None  # the group query's breadth weight (None: shipped)
    vote_k: float = 1.0  # members vote 1 / (1 + rank) (match.vote_totals); 0: score margins
    fit_floor: float | None = None  # the reference's floor (None: the model's FIT_FLOORS;
    # 0: none), held_reference


@dataclass(frozen=True)
class CoverageEvidence:
    """How close the docs come to an insight."""

    similarity: float  # the best candidate page's similarity to the insight's centroid
    coverage: float  # share of the users' salient terms the chosen page mentions
    unknown: int = 0  # words the members share that no docs page uses (unknown_terms)
    messages: int = 0  # the insight's chat messages (0: unknown, no size adjustment)
    agreement: float | None = None  # share of voters whose first page is the chosen one
    shared: int | None = None  # words >= 2 members' problems share (None: not known)


def best_similarity(hits: Sequence[PageHit]) -> float:
    """The closest any candidate page comes (0.0 without candidates)."""
    return max((h.similarity for h in hits), default=0.0)


def term_coverage(insight: Insight, chunks: Sequence[DocChunk]) -> float:
    """Share of the users' salient terms that the page mentions (1.0 when there are none)."""
    terms = user_terms(insight)[:10]
    if not terms:
        return 1.0
    page = page_text(chunks).lower()
    return sum(1 for t in terms if mentions(page, t)) / len(terms)


@dataclass(frozen=True)
class ChatWords:
    """How many of a run's problems write each word: the run's own chat vocabulary, against
    which unknown_terms tells a problem's rare words from everyday ones."""

    counts: dict[str, int]  # word (stemmed, verdict's atoms) -> problems that write it
    problems: int  # the run's problems

    @classmethod
    def of_run(cls, texts: Sequence[str]) -> ChatWords:
        """The vocabulary of a run whose problems' texts are `texts`."""
        return cls(dict(Counter(word for text in texts for word in atoms(text))), len(texts))

    def of_members(self, texts: Sequence[str]) -> ChatWords:
        """Only the words the members (`texts`) write: all unknown_terms needs of the run's
        vocabulary for one insight (small enough to travel in its task)."""
        words = sorted(set().union(*map(atoms, texts)))
        return ChatWords({word: self.counts.get(word, 0) for word in words}, self.problems)

    def rare(self, word: str, members: int, share: float) -> bool:
        """Whether at most `share` of the run's problems other than the `members` that
        write `word` write it too."""
        return self.counts.get(word, members) - members <= share * self.problems


def unknown_terms(texts: Sequence[str], terms: PageTerms, chat: ChatWords | None = None,
                  share: float = 1.0) -> list[str]:
    """Words at least two of the members write (every word of a lone member) that no page
    of the docs uses and (given the run's `chat` words) at most `share` of the run's other
    problems write, sorted.

    Shared, because one user's aside or typo says nothing about the problem; measured in
    the docs' own vocabulary (the stemmed words `PageTerms` indexes), so a word a page
    spells as part of an identifier counts as used. Rare in the run's chat, because a word
    much of the community writes (`say`, `local`) is how these users talk, not the thing
    this problem is about: a docs set need not use everyday chat words to cover a problem,
    while the tool or failure no page names (`pyinstaller`, `heap`) is written by the few
    users who hit it.
    """
    counts = Counter(word for text in texts for word in atoms(text))
    need = min(2, len(texts))
    return sorted(w for w, n in counts.items()
                  if n >= need and terms.word_idf(w) == 0
                  and (chat is None or chat.rare(w, n, share)))


def reference_similarity(similarities: Sequence[float], settings: VerdictSettings) -> float | None:
    """The run's reference: the median best-page similarity of its insights, or None when
    there are too few insights for a median to mean anything."""
    if len(similarities) < settings.min_reference:
        return None
    ordered = sorted(similarities)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def held_reference(median: float | None, model: str, settings: VerdictSettings) -> float | None:
    """The reference a run's verdicts use: its median (`reference_similarity`), or the
    model's fit floor when the median is below it (the docs do not fit the run)."""
    floor = fit_floor(model, settings)
    if median is None or floor is None:
        return median
    return max(median, floor)


def fit_floor(model: str, settings: VerdictSettings) -> float | None:
    """The fit floor for embeddings of `model` (settings override `FIT_FLOORS`; 0: none)."""
    floor = settings.fit_floor if settings.fit_floor is not None else FIT_FLOORS.get(model)
    return floor or None


def fit_warning(median: float | None, model: str, settings: VerdictSettings) -> str | None:
    """What to tell the user when the run's docs do not fit its messages, else None."""
    floor = fit_floor(model, settings)
    if median is None or floor is None or median >= floor:
        return None
    closest = math.floor(median * 100) / 100  # never printed as the floor it is below
    return (f"the indexed docs fit this run's messages poorly: half of its insights come no "
            f"closer than {closest:.2f} to any page, below the {floor:.2f} that runs whose "
            f"docs cover their community stay above with {model}. Check that `docloop "
            "index-docs` read the right docs folder, and that the messages are in a language "
            "the embedding model reads; insights far from every page say `missing`.")


def is_missing(evidence: CoverageEvidence, reference: float | None,
               settings: VerdictSettings) -> bool:
    """No page covers the insight (see the module docstring)."""
    if evidence.shared == 0:
        return False  # members that share no word: a chance cluster, no problem to place
    if reference is None:
        return evidence.similarity < settings.fallback_missing
    credit = settings.term_weight * (evidence.coverage - 0.5)
    if evidence.agreement is not None:
        credit += settings.agree_weight * max(evidence.agreement - 0.5, 0.0)
    debit = settings.unknown_weight * min(evidence.unknown, settings.unknown_cap) / max(
        settings.unknown_cap, 1)
    gap = settings.below_reference + size_allowance(evidence.messages, settings)
    return evidence.similarity + credit - debit < reference - gap


def size_allowance(messages: int, settings: VerdictSettings) -> float:
    """How much further below the reference an insight of `messages` chat messages must sit
    than one of `SIZE_YARDSTICK` (less for a larger one; 0 when the size is unknown)."""
    if messages <= 0:
        return 0.0
    return settings.size_margin * (1 / math.sqrt(messages) - 1 / math.sqrt(SIZE_YARDSTICK))
