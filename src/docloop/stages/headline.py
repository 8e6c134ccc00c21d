"""An insight's title: the sentence its users wrote that best says what they share.

The most representative problem's own title is often the opening of one chat message:
"Hi!", "webpack :", "Could you let me know what I need to set up?", or a long first
sentence cut mid-way. A docs writer scanning a ticket list needs the problem itself. A
Discord thread title is the asker's own summary, so when the top members have titles
written as titles (in no message verbatim) that say something, the best of those is the
title. Else an error line two of the top members pasted word for word, but for the names
and numbers they quote, is the title: several users pasting one error is the recurring
problem in its own words ("Blocked request. This host (…) is not allowed."). Else the
best of the offline analyzer's composed "opening — question" titles, as written ones
were before. Otherwise it is chosen among the top members' titles, the first sentences
of their quotes (verbatim) and the error each pasted (a code block's, inline code's or a
quote that is one such line, without a log's hash or time before it) by the words the
members share (each word weighted by how many members use it and how rare it is in the
run), per word of the sentence, so a short sentence naming the shared terms wins over a
long one that also names them; a question, then a pasted error line, is preferred, and a
sentence that would be cut, that leads into a code block ("like this:") or that leans on
the one before ("However …", "And …") is penalised; the tail of a sentence that pasted
code cut ("… ```…``` when trying to use a proxy…") is one only when no other is left.
Every candidate is the users' own text, never composed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from docloop.models import Problem
from docloop.stages.pastes import RAISED, pasted, pasted_error, shared_paste, shown
from docloop.text import (
    TITLE_LIMIT,
    content_words,
    error_strings,
    is_aside,
    leads_in,
    reports_error,
    sentences,
    truncate,
    without_chat_opening,
    without_inline_code,
)

#: the most representative members whose sentences may become the title
POOL = 5
#: sentences read from the start of each member's quotes
SENTENCES = 4
#: a candidate needs this many content words outside inline code to say anything
MIN_WORDS = 4
POINTS_ELSEWHERE = re.compile(r"\b(?:same|similar|this|that)\s+(?:issue|problem|error|bug|thing)\b",
                              re.I)
#: characters of a sentence looked up in its message to see what comes before it
CUT_PROBE = 40
POINTER_WORDS = 6  # at most this many content words: the sentence is only the pointer
QUESTION = 1.5  # what the user asked, in their words: the most natural ticket title
ERROR = 1.3  # a pasted error line: what the user hit
CUT = 0.7  # a sentence that would be cut mid-way, or one leading into code ("like this:")
#: a sentence that opens by leaning on the one before ("However I output a UMD module…",
#: "And my requests are never proxied…") is half a thought in a ticket list; scored as CUT
CONTINUES = re.compile(r"^\W*(?:however|but|and|also|so|or|then|plus|otherwise|anyway)\b",
                       re.I)
#: what every candidate scores before the words it shares: with nothing shared (two members
#: with no word in common) a question still beats an aside, not only the first member's line
TIE = 1e-3


def headline(members: Sequence[Problem], idf: Mapping[str, float],
             member_words: Counter[str]) -> str:
    """The title for a cluster whose `members` are ordered most representative first;
    `member_words` counts the members using each word (`insights.member_words`). Thread
    titles (or a model's) come first, then an error two members pasted, then the
    analyzer's composed "opening — question" titles, then the members' sentences."""
    pool = members[:POOL]
    titled = [p for p in pool if _written_title(p)]
    written = [p.title for p in titled if not _composed(p)]
    errors = [pasted(p) for p in pool]
    shared = None if written else shared_paste(errors)
    if shared:
        return truncate(shared, TITLE_LIMIT)
    weights = _shared_weights(member_words, len(members), idf)
    best, best_score = "", -1.0
    for candidate in written or [p.title for p in titled] or _whole(_candidates(pool, errors),
                                                                     pool):
        score = _score(candidate, weights)
        if score > best_score:  # ties keep the more representative member's sentence
            best, best_score = candidate, score
    return truncate(without_chat_opening(best or _fallback(pool)), TITLE_LIMIT)


def _fallback(members: Sequence[Problem]) -> str:
    """The title when no candidate says something: the first member's title, unless it
    only points at another problem ("I see the same issue as well.", a real Pydantic
    ticket's title); then the first sentence of the members' quotes that says something,
    past the SENTENCES the candidates read, else the first that points nowhere."""
    first = members[0].title or members[0].text
    if not _points_elsewhere(first):
        return first
    said = [" ".join(s.split()) for p in members for q in p.quotes for s in sentences(q.text)]
    told = next((s for s in said if _says_something(s)), None)
    own = [p.title for p in members if p.title] + said
    return told or next((t for t in own if not _points_elsewhere(t)), first)


def _points_elsewhere(text: str) -> bool:
    """A short sentence whose subject is someone else's problem ("same issue here")."""
    prose = without_inline_code(text)
    return len(content_words(prose)) <= POINTER_WORDS and bool(POINTS_ELSEWHERE.search(prose))


def _written_title(problem: Problem) -> bool:
    """A title written as one: a Discord thread title or a model's (or the analyzer's
    self-contained "opening — question"), which no message of the conversation contains
    verbatim. A title the analyzer took from the message as it stands (its first question
    or sentence) is one of the members' sentences even where the quote shows another part
    of the message ("When I use the mypy plugin the error changes to:" beside the quoted
    error), and a lead-in is never a title."""
    title = " ".join(problem.title.split())
    quoted = [" ".join(q.text.split()) for q in problem.quotes]
    return (bool(title) and not title.endswith("…") and _says_something(title)
            and not leads_in(title) and bool(quoted) and not any(title in q for q in quoted)
            and (not problem.title_in_message or _composed(problem)))


def _composed(problem: Problem) -> bool:
    """The offline analyzer's "opening — question" (`offline._self_contained`): sentences
    of the message joined, not a title anyone wrote."""
    return problem.title_in_message and " — " in problem.title


def _shared_weights(counts: Counter[str], members: int, idf: Mapping[str, float]
                    ) -> dict[str, float]:
    """Each word's share of the members using it times its rarity in the run; with
    several members only the words at least two of them use count."""
    least = 2 if members > 1 else 1
    return {w: n / members * idf.get(w, 1.0) for w, n in counts.items() if n >= least}


def _candidates(members: Sequence[Problem], errors: Sequence[str | None]) -> list[str]:
    """Each member's title and the first sentences of its quotes (the users' messages
    verbatim; the problem text glues question sentences and error names together), and
    the error it pasted (`errors`, by member); a sentence that only leads into a paste ("In
    vite 5, I am able to use dynamic import in the following way:") only when no other
    says something."""
    found: dict[str, None] = {}
    for problem, error in zip(members, errors, strict=True):
        for text in [*_own_lines(problem), *([error] if error else [])]:
            text = " ".join(text.split())
            if reports_error(text):  # a pasted line, as a title shows it (no log prefix)
                text = shown(text) or text
            if _says_something(text):
                found.setdefault(text, None)
    told = [text for text in found if not leads_in(text)]
    return told or list(found)


def _own_lines(problem: Problem) -> list[str]:
    """The problem's title, then the first sentences of its quotes."""
    said = [s for quote in problem.quotes for s in sentences(quote.text)]
    return [problem.title, *said[:SENTENCES]]


def _whole(candidates: list[str], members: Sequence[Problem]) -> list[str]:
    """The candidates that are not the tail of a sentence pasted code cut (`_fragments`),
    unless no other is left."""
    fragments = _fragments(members)
    return [c for c in candidates if c not in fragments] or candidates


def _fragments(members: Sequence[Problem]) -> set[str]:
    """The members' sentences that are the tail of a sentence their pasted code cut: one
    that opens in lower case right after a code block ("I am facing a similar issue
    ```…```\n when trying to use a proxy…"); a written title is never one. A sentence
    opening with a lower-case name elsewhere ("npm install -g fails with EACCES") is a
    sentence."""
    found: set[str] = set()
    for problem in members:
        lines = _own_lines(problem)[0 if problem.title_in_message else 1:]
        flat = " ".join((problem.body or problem.text).split())
        found.update(line for line in (" ".join(raw.split()) for raw in lines)
                     if _lowercase_opening(line) and _after_code(line, flat))
    return found


def _lowercase_opening(text: str) -> bool:
    """Opens with a plain lower-case word ("when trying to use a proxy…"), not a name
    (`pydantic.errors.…`) or code."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return first[:1].islower() and first.rstrip(".,:;!?").isalpha()


def _after_code(line: str, message: str) -> bool:
    """Whether `line` follows a closing code fence in `message` (both whitespace-folded)."""
    if "```" not in message:
        return False
    probe = re.escape(line[:CUT_PROBE])
    return any(message[:found.start()].rstrip().endswith("```")
               for found in re.finditer(probe, message))


def _says_something(text: str) -> bool:
    """Enough prose to stand alone, or a pasted error line ("SyntaxError: Unexpected
    token '?'" says exactly what happened); a short sentence pointing at someone else's
    problem ("I see the same issue as well.") does not."""
    if _points_elsewhere(text):
        return False
    prose = without_inline_code(text)
    return len(content_words(prose)) >= MIN_WORDS or bool(error_strings(prose))


def _score(candidate: str, weights: Mapping[str, float]) -> float:
    words = set(content_words(candidate))
    score = TIE + sum(weights.get(w, 0.0) for w in words) / max(len(words), 1) ** 0.5
    if candidate.endswith("?"):
        score *= QUESTION
    elif error_strings(candidate):
        score *= ERROR
    if len(candidate) > TITLE_LIMIT or candidate.endswith("…") or leads_in(candidate):
        score *= CUT
    if CONTINUES.search(candidate) or is_aside(candidate):
        score *= CUT
    return score


def conversation_name(problem: Problem, limit: int) -> str:
    """A conversation's name among an insight's `questions`: its title, unless that says
    nothing ("Hi!", "webpack :"), then its first sentence that does, then the error it
    pasted in a code block (a message that is "App.vue", code, "run error:" and the error
    says what happened only there). The match stage searches with these names and the
    `missing` verdict reads their words, as calibrated; `link_name` reads further."""
    own = [text for text in _own_lines(problem) if _says_something(text)]
    if own:
        return truncate(own[0], limit)
    error = pasted_error([quote.text for quote in problem.quotes])
    return truncate(error or problem.title or problem.text, limit)


def link_name(problem: Problem, limit: int) -> str:
    """A conversation's link text, which nothing scores: `conversation_name`, but past a
    sentence that only leads into a paste ("I recently got the error:"). The first own line
    that is no lead-in; else the pasted error when it names what was raised
    (`ReferenceError: __dirname is not defined`); else a lead-in that says something
    ("full-repo lint in CI now dies halfway through:" beats the garbage collector's log
    line it leads into); else any pasted error; else the first sentence of the messages
    that says something and is no lead-in. (Read this way for `questions` too, one Vite
    `missing` was lost chosen without the set; benchmarks/RESULTS.md, session 11.)"""
    own = [text for text in _own_lines(problem) if _says_something(text)]
    told = _first_told(own)
    if told:
        return truncate(told, limit)
    pasted = shown(pasted_error([*(quote.text for quote in problem.quotes), problem.body]))
    named = pasted if pasted and (error_strings(pasted) or RAISED.match(pasted)) else None
    choice = (named or next(iter(own), None) or pasted
              or _first_told(" ".join(s.split()) for s in sentences(problem.body or problem.text)
                             if _says_something(s)))
    return truncate(choice or problem.title or problem.text, limit)


def _first_told(texts: Iterable[str]) -> str | None:
    """The first of `texts` that is not only a lead-in to a paste."""
    return next((text for text in texts if not leads_in(text)), None)


