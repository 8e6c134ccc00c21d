"""Which part of a long chat message a ticket quotes: the part that says what went wrong.

A ticket's "What users said" is a writer's evidence. The first question of a long
message is often one that leans on what came before ("How can I resolve it?", "Is there a
function for this?"), and its first sentence often only leads into a paste ("I recently
got the error:"); quoted alone, each says nothing. So a long message is quoted by, in
order: a question that stands on its own and ends with "?"; the error line a lead-in
introduces (what the users hit, often word for word: `Blocked request. This host
("xxx.net") is not allowed.`; a lead-in to code or a config is passed over); a sentence
naming the error raised ("This causes TypeError: Object of type UUID is not JSON
serializable"); another sentence the analyzer read as a question that stands on its own;
the first sentence that says something and does not open on the one before ("And both
requests are issued to the dev server"), else the first short one that does neither ("It
seems like proxies are not working."); and only then any question or sentence. Every quote
is verbatim from the message (DESIGN §5), cut at a word boundary when longer than a quote.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from docloop.text import ERROR_WORDS, content_words, error_strings, leads_in, sentences

#: a quote longer than this is a long message's excerpt, never the message
QUOTE_LIMIT = 280
#: a sentence needs this many content words to say something on its own
MIN_WORDS = 4
#: a question needs this many content words to stand on its own
QUESTION_WORDS = 3
#: shorter sentences are greetings or fragments, never an excerpt
MIN_CHARS = 16
#: words that make a short question lean on the sentence before it
POINTS_BACK = re.compile(r"\b(?:that|this|it|these|those|them)\b", re.I)
CONTINUES = re.compile(r"^\W*(?:but|and|so|or)\b", re.I)
#: a question with a pronoun and at most this many content words needs its opening
VAGUE_WORDS = 3
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_QUOTE_MARK = re.compile(r"^\s*(?:>\s?)+")


def excerpt(text: str, questions: Sequence[str]) -> str:
    """What to quote of `text`, a chat message (`questions`: its question sentences)."""
    text = text.strip()
    if len(text) <= QUOTE_LIMIT:
        return text
    told = [s for s in sentences(text) if s in text and len(s) >= MIN_CHARS]
    alone = [q for q in questions if _stands_alone(q) and q in text]
    found = (next((q for q in alone if q.rstrip().endswith("?")), None)
             or pasted_error(text)
             or next((s for s in told if _says_something(s) and error_strings(s)), None)
             or next(iter(alone), None)
             or next((s for s in told if _says_something(s) and not CONTINUES.search(s)), None)
             or next((s for s in told if not leads_in(s) and not CONTINUES.search(s)), None)
             or next((s for s in told if _says_something(s)), None)
             or next((q for q in questions if q in text and len(q) >= MIN_CHARS), None)
             or next(iter(told), None))
    return found if found and len(found) <= QUOTE_LIMIT else _prefix(found or text)


def leans_back(question: str) -> bool:
    """"how do I stop leaking that?", "but I did pip install it?", "what's the clean way?":
    a question that means nothing without the sentence before it."""
    words = len(content_words(question))
    return (bool(CONTINUES.search(question)) or words <= 1
            or (words <= VAGUE_WORDS and bool(POINTS_BACK.search(question))))


def pasted_error(text: str) -> str | None:
    """The error a lead-in introduces ("Now I get the following error:" and, pasted after it,
    `Blocked request. This host ("xxx.net") is not allowed.`): the first line of the paste
    that reports one, with the next line when it only names the error
    (`pydantic.errors.X:`), verbatim from `text` without the quote mark before it. None when
    no lead-in is followed by a paste with such a line."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    in_fence = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and leads_in(line.rstrip()):
            found = _error_lines(lines, index + 1)
            if found is not None:
                first, last = found
                content = _QUOTE_MARK.sub("", lines[first]).lstrip()
                begin = starts[first] + len(lines[first]) - len(content)
                return text[begin:starts[last] + len(lines[last].rstrip())]
    return None


def _error_lines(lines: list[str], after: int) -> tuple[int, int] | None:
    """The first and last line of the error in the paste that opens at `after` (a fenced
    block, `>` lines, or the one plain line right after the lead-in)."""
    rest = [i for i in range(after, len(lines)) if lines[i].strip()]
    if not rest:
        return None
    if _FENCE.match(lines[rest[0]]):
        closing = next((i for i in rest[1:] if _FENCE.match(lines[i])), len(lines))
        block = [i for i in rest[1:] if i < closing]
    elif _QUOTE_MARK.match(lines[rest[0]]):
        block = list(itertools.takewhile(lambda i: bool(_QUOTE_MARK.match(lines[i])), rest))
    else:
        block = rest[:1]
    said = [i for i in block if _QUOTE_MARK.sub("", lines[i]).strip()]
    at = next((n for n, i in enumerate(said) if ERROR_WORDS.search(lines[i])), None)
    if at is None:  # code, a config, a log without an error: the lead-in's sentence says more
        return None
    names_only = leads_in(lines[said[at]].rstrip()) and at + 1 < len(said)
    return said[at], said[at + 1] if names_only else said[at]


def _stands_alone(question: str) -> bool:
    return (len(question) >= MIN_CHARS and len(content_words(question)) >= QUESTION_WORDS
            and not leans_back(question) and not leads_in(question))


def _says_something(sentence: str) -> bool:
    return len(content_words(sentence)) >= MIN_WORDS and not leads_in(sentence)


def _prefix(text: str) -> str:
    cut = text[:QUOTE_LIMIT]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut
