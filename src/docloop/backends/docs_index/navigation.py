"""Sections that only point elsewhere: "Related To", "Further Reading", "See also".

Such a section is a list of links, so its text is little more than the page's title and
headings, and its vector is the page's name: a query that names the page ("no-floating-
promises fire and forget") finds it first. The page is right; the section is not. A
ticket that asks a writer to edit § Related To, or a new section proposed after it,
sends them to the one place on the page that answers nothing. The search still ranks the
page by its best chunk; it shows (and the match names) the first of the page's three best
chunks that says something of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from docloop.text import content_words

#: a Markdown link or image, its label included (the label names the other place); every
#: part is bounded, so a page of unclosed brackets is read in linear time
_LINK = re.compile(r"!?\[[^\[\]\n]{0,300}(?:\[[^\[\]\n]{0,300}\][^\[\]\n]{0,300}){0,5}\]"
                   r"\([^()\n]{0,2000}\)")
_HTML_OPEN = re.compile(r"<a\b", re.I)
_HTML_CLOSE = re.compile(r"</a\s*>", re.I)
_URL = re.compile(r"<?https?://\S+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
#: headings of sections that exist to point elsewhere
_POINTING_HEADING = re.compile(
    r"^\W*(?:related(?: to| pages| rules| links| resources| topics)?|see also|further reading|"
    r"more (?:info|information|resources|reading)|external (?:links|resources)|learn more|"
    r"read more|next steps|useful links)\W*$", re.I)
#: a list item that says at most this many words of its own beside its link only points
OWN_WORDS = 3
#: under a pointing heading, a section with more words of its own than this still teaches
#: (FastAPI's "Learn More" on dataclasses explains before it links)
HEADED_WORDS = 12


def points_only(heading: str, text: str) -> bool:
    """Whether a chunk only points elsewhere: it links, holds no code, and either sits
    under a heading such as "Related To" or "Further Reading" with at most HEADED_WORDS
    words of its own, or is nothing but list items of links with at most OWN_WORDS words
    of their own each ("- TypeScript [Functions](…)"). A paragraph that names its link in
    a sentence ("You can use [WebSockets](…) with FastAPI") and an option's "- **Type:**
    […](…)" followed by what the option does say something, and are kept."""
    if "```" in text or "~~~" in text or not _links(text):
        return False
    if _POINTING_HEADING.match(heading.strip()):
        return len(content_words(_without_links(text))) <= HEADED_WORDS
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and all(_points(line) for line in lines)


def _points(line: str) -> bool:
    """A list item that is a link and at most OWN_WORDS words, none of them a number (a
    version or a limit beside a link is what the list says: "- [Node.js](…) 18 or later")."""
    if not (_LIST_ITEM.match(line) and _links(line)):
        return False
    own = _without_links(line)
    return not any(c.isdigit() for c in _LIST_ITEM.sub("", own)) \
        and len(content_words(own)) <= OWN_WORDS


def _links(text: str) -> bool:
    return bool(_LINK.search(text) or _HTML_OPEN.search(text) or _URL.search(text))


def _without_links(text: str) -> str:
    return _URL.sub(" ", _without_html_links(_LINK.sub(" ", text)))


def _without_html_links(text: str) -> str:
    """`text` without its `<a …>…</a>` elements, in one pass (a regex that looks for each
    opening tag's `</a>` reads an unclosed page once per tag)."""
    kept: list[str] = []
    position = 0
    while (opening := _HTML_OPEN.search(text, position)) is not None:
        closing = _HTML_CLOSE.search(text, opening.end())
        if closing is None:
            break
        kept.append(text[position:opening.start()])
        position = closing.end()
    kept.append(text[position:])
    return " ".join(kept)


def navigation_rows(chunks: Iterable[tuple[str, str]]) -> np.ndarray:
    """One flag per (heading, text) of a chunk, in order: True for a chunk that only points
    elsewhere."""
    return np.array([points_only(heading, text) for heading, text in chunks], dtype=bool)
