"""The errors users pasted, as an insight's title and its conversations' links read them.

A pasted error says what went wrong in the program's own words, so a title prefers it to a
user's sentence, and two users pasting one error (their own names and numbers aside) is the
recurring problem itself. Users paste errors in fenced code blocks, in inline code spans,
and after a lead-in ("I recently got the error:"), whose pasted line the offline analyzer
quotes on its own (`backends/analyzers/quoting.py`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from docloop.models import Problem
from docloop.text import PASTE_VARIABLES, SPEAKER, code_blocks, inline_code, reports_error

#: what a log puts before the message of a pasted line: a commit or build hash, a time, a
#: quote mark ("b8d6ae3d > SyntaxError: …", "10:38:19 [vite] Error when evaluating …"), a
#: linter's line:column and severity ("5:3  error  'USER' is defined but never used"), Node's
#: process id on a warning ("(node:236) DeprecationWarning: …")
LOG_PREFIX = re.compile(
    r"^(?:(?:\d+:\d+\s+(?:error|warning)|\(node:\d+\)|(?=[a-f]*\d)[0-9a-f]{7,40}|"
    r"\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?|>)\s+)+")
#: a logging library's fields before the message: a date and time, a logger's name and a
#: level, in either order, split by ` - ` or ` | ` (Python's "%(asctime)s - %(name)s -
#: %(levelname)s - %(message)s", "fastapi - 2024-02-29 09:48:04,289 - ERROR - …"), or a
#: bracketed clock time ("[2:17:54 PM]  WARN  The CJS build of …" keeps the tool's level)
LOG_FIELDS = re.compile(
    r"^(?:(?:[\w.]+ [-|] )?\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?Z?\]?"
    r"(?: [-|] [\w.]+)*? [-|] (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) [-|] "
    r"|\[\d{1,2}:\d{2}(?::\d{2})?(?: ?[AP]M)?\]\s+)")
#: how far from a line's end an editor's source suffix can start (characters)
SOURCE_TAIL = 80
#: what an editor appends when its problem list is copied: the source right after the
#: message's closing period or quote (`….eslint`), or with the rule or code in brackets
#: (`eslint(no-undef)`, `ts(2322)`); a file name's `.ts` is no source
EDITOR_SOURCE = re.compile(r"(?<=\S[.'\"])eslint$|(?<=[.'\")\]\s])\s*(?:eslint|ts)\([\w@/-]+\)$")
#: a line that opens with the name of what was raised (`pydantic.errors.PydanticUndefined
#: Annotation: name 'X' is not defined`, `Error: Invalid glob`)
RAISED = re.compile(r"^(?:[\w]+\.)*[A-Z]\w+: ")


def shared_paste(pasted_lines: Sequence[str | None]) -> str | None:
    """The error line that at least two members pasted (`pasted_lines`: each member's
    `pasted`), word for word but for what they quote or number ("Blocked request. This host
    ("xxx.net") is not allowed." from two of five users): the recurring problem in its own
    words, with what the copies differ in shown as `…` (one user's host name is neither the
    problem nor the docs' business)."""
    seen: dict[str, str] = {}
    for line in pasted_lines:
        if line is None:
            continue
        key = PASTE_VARIABLES.sub("_", line.lower())
        if key in seen:
            return _common_form(seen[key], line)
        seen[key] = line
    return None


def _common_form(first: str, second: str) -> str:
    """`first` with each quoted name or number that `second` has otherwise shown as `…`
    in its quote marks (`This host ("xxx.net")` and `("a.dev")` give `("…")`)."""
    others = iter(PASTE_VARIABLES.findall(second))

    def common(found: re.Match[str]) -> str:
        mine = found.group(0)
        if next(others, mine) == mine:
            return mine
        quoted = mine[0] in "\"'`"
        return f"{mine[0]}…{mine[-1]}" if quoted else "…"

    return PASTE_VARIABLES.sub(common, first)


def pasted(problem: Problem) -> str | None:
    """The error a problem's quotes show pasted, as a title shows it."""
    quotes = [quote.text for quote in problem.quotes]
    return shown(pasted_error(quotes) or _quoted_error(quotes) or _error_quote(quotes))


def pasted_error(texts: Sequence[str]) -> str | None:
    """The first line of a fenced code block in `texts` (a problem's quotes; for a link's
    name its messages as written too: a long message's quote is one sentence, often the
    one leading into the paste) that reports an error in words (`[vite] Internal server
    error: Invalid glob: ...`), as pasted (the `questions` read it so, as calibrated)."""
    for said in texts:
        for block in code_blocks(said):
            for line in block.splitlines():
                line = " ".join(line.split())
                if reports_error(line):
                    return line
    return None


def _quoted_error(texts: Sequence[str]) -> str | None:
    """The first inline code span of `texts` that reports an error in words ("Error is
    `Error: Invalid glob: "@dir/*.png" … It must start with '/'`"): the pasted error
    without the sentence around it, which a title limit would cut."""
    for said in texts:
        for span in inline_code(said):
            if reports_error(span):
                return span
    return None


def _error_quote(quotes: Sequence[str]) -> str | None:
    """A quote that is a pasted error line (quoting.py quotes a long message by the error
    its lead-in introduces: `Blocked request. This host ("xxx.net") is not allowed.`): at
    most two lines that report an error, no question, and no one speaking (a program's
    message never says "I", "my" or "we")."""
    return next((" ".join(q.split()) for q in quotes
                 if len(q.strip().splitlines()) <= 2 and reports_error(q)
                 and not q.rstrip().endswith("?") and not SPEAKER.search(q)), None)


def shown(line: str | None) -> str | None:
    """A pasted line without what a log puts before its message (a hash, a time, `>`, a
    logger's fields) and what an editor appends to it (`.eslint`, `ts(2322)`): how a title
    or a link shows it."""
    if not line:
        return None
    message = LOG_FIELDS.sub("", LOG_PREFIX.sub("", line))
    head, tail = message[:-SOURCE_TAIL], message[-SOURCE_TAIL:]  # the suffix is short: a
    return (head + EDITOR_SOURCE.sub("", tail)) or line  # long line is not searched whole
