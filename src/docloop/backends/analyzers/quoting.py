"""Which part of a long chat message a ticket quotes: the part that says what went wrong.

A ticket's "What users said" is a writer's evidence. The first question of a long
message is often one that leans on what came before ("How can I resolve it?", "Is there
a function for this?"), and its first sentence often only leads into a paste ("I
recently got the error:"); quoted alone, each says nothing. So a long message is quoted
by, in order: a question that stands on its own and ends with "?"; a lead-in with the
line of what it leads into that reports an error (what the users hit, often word for
word); a sentence naming the error raised ("This causes TypeError: Object of type UUID
is not JSON serializable"); another sentence the analyzer read as a question that stands
on its own; the first sentence that says something and does not open on the one before
("And both requests are issued to the dev server"), else the first short one that does
neither ("It seems like proxies are not working."); and only then any question or
sentence. Every piece is the user's own text; a lead-in and its pasted line are joined
by a line break, the markup between them (a fence, a `>`) dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from docloop.text import ERROR_WORDS, content_words, error_strings, leads_in, sentences, truncate

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
             or lead_in_with_paste(text)
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


def lead_in_with_paste(text: str) -> str | None:
    """The first sentence that leads into a pasted error ("Now I get the following error:")
    and the first of the paste's lines that reports one. None when no lead-in is followed
    by a paste with such a line."""
    lines = text.splitlines()
    in_fence = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or not leads_in(line):
            continue
        pasted = _pasted_line(lines[index + 1:])
        lead = (sentences(_QUOTE_MARK.sub("", line)) or [""])[-1]
        if pasted and lead:
            return f"{lead}\n{truncate(pasted, QUOTE_LIMIT - len(lead) - 1)}"
    return None


def _pasted_line(after: list[str]) -> str | None:
    """The line of the paste that opens `after` (a fenced block or `>` lines; a plain line
    right after the lead-in is the paste too) that reports an error, with the next line
    when it only names the error (`pydantic.errors.X:`)."""
    rest = [line for line in after if line.strip()]
    if not rest:
        return None
    if _FENCE.match(rest[0]):
        block = []
        for line in rest[1:]:
            if _FENCE.match(line):
                break
            block.append(line.strip())
    elif _QUOTE_MARK.match(rest[0]):
        block = []
        for line in rest:
            if not _QUOTE_MARK.match(line):
                break
            block.append(_QUOTE_MARK.sub("", line).strip())
    else:
        block = [rest[0].strip()]
    said = [line for line in block if line]
    at = next((i for i, line in enumerate(said) if ERROR_WORDS.search(line)), None)
    if at is None:  # code, a config, a log without an error: the lead-in's sentence says more
        return None
    if leads_in(said[at]) and at + 1 < len(said):  # `pydantic.errors.X:` and its message
        return f"{said[at]} {said[at + 1]}"
    return said[at]


def _stands_alone(question: str) -> bool:
    return (len(question) >= MIN_CHARS and len(content_words(question)) >= QUESTION_WORDS
            and not leans_back(question) and not leads_in(question))


def _says_something(sentence: str) -> bool:
    return len(content_words(sentence)) >= MIN_WORDS and not leads_in(sentence)


def _prefix(text: str) -> str:
    cut = text[:QUOTE_LIMIT]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut
