"""Which part of a long chat message a ticket quotes: the part that says what went wrong.

A ticket's "What users said" is a writer's evidence. The first question of a long
message is often one that leans on what came before ("How can I resolve it?", "Is there a
function for this?"), and its first sentence often only leads into a paste ("I recently
got the error:"); quoted alone, each says nothing. So a long message is quoted by, in
order: a question that stands on its own and ends with "?"; the error line a lead-in
introduces (what the users hit, often word for word: `Blocked request. This host
("xxx.net") is not allowed.`; a lead-in to code or a config is passed over; an issue form's
"**What actually happened?**" leads in too, while its headings are never quoted); a sentence
naming the error raised ("This causes TypeError: Object of type UUID is not JSON
serializable"); another sentence the analyzer read as a question that stands on its own;
the first sentence that says something and does not open on the one before ("And both
requests are issued to the dev server"), else the first short one that does neither ("It
seems like proxies are not working."); and only then any question or sentence. Every quote
is verbatim from the message (DESIGN §5), cut at a word boundary when longer than a quote; a
sentence is quoted as the message writes it (```name``` and all), never as `sentences` reads it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from docloop.text import (
    ERROR_WORDS,
    content_words,
    error_strings,
    form_heading_words,
    leads_in,
    sentences,
)

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
#: what joins a message's opening to a question that leans back on it, in a title
COMPOSED_DASH = " — "
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_QUOTE_MARK = re.compile(r"^\s*(?:>\s?)+")
#: a sentence read as backtick runs, whitespace runs and the text between
_PIECES = re.compile(r"`+|\s+|[^`\s]+")


def excerpt(text: str, questions: Sequence[str]) -> str:
    """What to quote of `text`, a chat message (`questions`: its question sentences)."""
    text = text.strip()
    if len(text) <= QUOTE_LIMIT:
        return text
    told = [s for s in _as_written(sentences(text), text) if len(s) >= MIN_CHARS]
    asked = _as_written(questions, text)
    alone = [q for q in asked if _stands_alone(q)]
    found = (next((q for q in alone if q.rstrip().endswith("?")), None)
             or pasted_error(text)
             or next((s for s in told if _says_something(s) and error_strings(s)), None)
             or next(iter(alone), None)
             or next((s for s in told if _says_something(s) and not CONTINUES.search(s)), None)
             or next((s for s in told if not leads_in(s) and not CONTINUES.search(s)), None)
             or next((s for s in told if _says_something(s)), None)
             or next((q for q in asked if len(q) >= MIN_CHARS), None)
             or next(iter(told), None))
    return found if found and len(found) <= QUOTE_LIMIT else _prefix(found or text)


def _as_written(said: Sequence[str], text: str) -> list[str]:
    return [found for found in (verbatim(s, text) for s in said) if found]


def verbatim(sentence: str, text: str) -> str | None:
    """`sentence` as `text` writes it, or None when it is not there. `sentences` reads a
    one-line fence as inline code ("set the ``` localIdentName ``` for" holds the sentence
    "set the `localIdentName` for"), so a backtick run matches any run with the spaces
    around it, and a space any whitespace; a sentence the text does not hold even so is
    never quoted."""
    if sentence in text:
        return sentence
    parts = (r"\s*`+\s*" if piece.startswith("`") else r"\s+" if piece.isspace()
             else re.escape(piece) for piece in _PIECES.findall(sentence))
    found = re.search("".join(parts), text)
    return found.group(0) if found else None


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
    no lead-in is followed by a paste with such a line. Linear in the message's lines (each
    lead-in's paste is looked up in tables built once), so a hostile message of thousands of
    lead-ins costs no more than reading it."""
    lines = text.splitlines(keepends=True)
    paste = _PasteLines(lines)
    in_fence = False
    for index, line in enumerate(lines):
        if paste.fence[index]:
            in_fence = not in_fence
        elif not in_fence and (leads_in(line.rstrip()) or _heads_outcome(line)
                               or _POINTS_AT_PASTE.search(line.rstrip())):
            # under a form's heading the user's own line comes first ("I have the
            # following error"), and "… I get this output" may end a line with nothing
            # pasted below: only a fenced or quoted paste right below is the error then
            found = paste.error_after(index + 1, plain=leads_in(line.rstrip()))
            if found is not None:
                first, last = found
                content = _QUOTE_MARK.sub("", lines[first]).lstrip()
                begin = paste.starts[first] + len(lines[first]) - len(content)
                return text[begin:paste.starts[last] + len(lines[last].rstrip())]
    return None


class _PasteLines:
    """For each line of a message: where the next non-blank line, fence, line reporting an
    error and line with words are, and where its run of `>` lines ends."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.starts = list(itertools.accumulate((len(line) for line in lines), initial=0))
        self.fence = [bool(_FENCE.match(line)) for line in lines]
        self.quoted = [bool(_QUOTE_MARK.match(line)) for line in lines]
        said = [bool(_QUOTE_MARK.sub("", line).strip()) for line in lines]
        count = len(lines)
        self.next_blankless = _next_where([bool(line.strip()) for line in lines])
        self.next_fence = _next_where(self.fence)
        self.next_error = _next_where([_may_report(line) for line in lines])
        self.next_said = _next_where(said)
        self.quote_end = [count] * (count + 1)
        for i in range(count - 1, -1, -1):
            blank = not lines[i].strip()
            self.quote_end[i] = (self.quote_end[i + 1] if self.quoted[i] or blank else i)

    def error_after(self, after: int, plain: bool = True) -> tuple[int, int] | None:
        """The first and last line of the error in the paste that opens at `after` (a fenced
        block, `>` lines, or, when `plain`, the one plain line right after the lead-in)."""
        opening = self.next_blankless[after]
        if opening >= len(self.fence):
            return None
        if self.fence[opening]:
            begin, end = opening + 1, self.next_fence[opening + 1]
        elif self.quoted[opening]:
            begin, end = opening, self.quote_end[opening]
        elif plain:
            begin, end = opening, opening + 1
        else:
            return None
        error = self.next_error[begin]
        if error >= end:  # code, a config, a log without an error: the sentence says more
            return None
        following = self.next_said[error + 1]
        names_only = following < end and leads_in(self.lines[error].rstrip())
        return error, following if names_only else error


#: a line that ends pointing at what it shows ("When I run `yarn run dev` I get this
#: output", "… and I get this error"): a lead-in when a paste follows it
_POINTS_AT_PASTE = re.compile(
    r"\bth(?:is|ese) (?:errors?|output|warnings?|messages?|logs?|exceptions?|stack ?traces?)"
    r"\W*$", re.I)
#: an issue form's heading over what happened (not over what the user expected)
_OUTCOME_WORDS = frozenset({"actual", "actually", "happened", "happens", "error", "errors",
                            "output", "log", "logs", "trace", "traceback"})


#: a paste's line that is not the program's report, whatever words it holds: a GitHub
#: alert's marker (`> [!WARNING]` over the pasted error) or the command the user typed at a
#: shell prompt (`# NODE_OPTIONS=--trace-deprecation yarn lint`, `$ vite build`)
_NOT_A_REPORT = re.compile(r"^\s*(?:\[![A-Za-z]+\]\s*$|[$#%>]\s+\S)")


def _may_report(line: str) -> bool:
    """Whether a paste's line may be the error it reports (it says an error word, and is
    no alert marker or prompt line: `_NOT_A_REPORT`)."""
    return bool(ERROR_WORDS.search(line)) and not _NOT_A_REPORT.match(_QUOTE_MARK.sub("", line))


def _heads_outcome(line: str) -> bool:
    """An issue form's heading that introduces what went wrong ("**What actually
    happened?**", "**Error:**", "### Actual Behavior"): a lead-in to the paste below it.
    "**What did you expect to happen?**" introduces the user's wish, never the error."""
    said = form_heading_words(line)
    return (said is not None and bool(said & _OUTCOME_WORDS)
            and not any(w.startswith("expect") for w in said))


def _next_where(flags: list[bool]) -> list[int]:
    """For each index, the first index at or after it whose flag is set (len when none)."""
    found = [len(flags)] * (len(flags) + 1)
    for i in range(len(flags) - 1, -1, -1):
        found[i] = i if flags[i] else found[i + 1]
    return found


def _stands_alone(question: str) -> bool:
    return (len(question) >= MIN_CHARS and len(content_words(question)) >= QUESTION_WORDS
            and not leans_back(question) and not leads_in(question))


def _says_something(sentence: str) -> bool:
    return len(content_words(sentence)) >= MIN_WORDS and not leads_in(sentence)


def _prefix(text: str) -> str:
    cut = text[:QUOTE_LIMIT]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut
