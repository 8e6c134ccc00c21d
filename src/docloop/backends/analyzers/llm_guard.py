"""Checks that keep model output tied to evidence (prompt-injection hardening).

The model reads community messages, and a message may try to instruct it. We
never rely on the model resisting: its output passes deterministic checks.

- Data is sent as JSON with `<` escaped, so no message can close the data
  block (`safe_json`).
- Quotes must be verbatim (after whitespace normalisation) in a message of
  the cited conversation; the stored text is cut from the original message
  (`locate_quote`).
- Messages that look like instructions to a model are never evidence
  (`looks_like_injection`).
- Model-written prose loses links, HTML and markup (`clean_text`) and must
  share vocabulary with its evidence (`grounded`), so a message cannot make
  the model write arbitrary text into a ticket.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

_INJECTION = [re.compile(p, re.I | re.M) for p in (
    r"\b(ignore|disregard|forget|override)\b.{0,30}\b(instructions?|prompts?|rules|directions)\b",
    r"^\W*(system|assistant|developer)\s*(prompt|message)?\s*[:>]",
    r"<\|?\s*/?\s*(system|im_start|im_end|assistant)\s*\|?>",
    r"\[/?(system|inst)\]",
    r"\byou are (now|no longer)\b",
    r"\b(pretend|act|behave) (to be|as if|as an?|like an?|you are)\b",
    r"\brole-?play\b",
    r"\b(new|updated|real) (system )?(instructions|rules|prompt)\b",
    r"</\s*(conversations|evidence|page)\s*>",
    r"\b(file|create|open|submit) (a|an|the|this) (ticket|issue) (saying|that says|titled)\b",
    r"\b(output|respond with|reply with)\b.{0,20}\bjson\b",
)]
_URL = re.compile(r"\b(?:https?|ftp|javascript|data):[^\s)\]>]+|\bwww\.[^\s)\]>]+", re.I)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_HTML = re.compile(r"<[^>]{0,200}>")
_MARKUP = re.compile(r"[`*#>|~\\]")
_WORD = re.compile(r"[a-z0-9][a-z0-9_.\-]*[a-z0-9]|[a-z0-9]")
_STOP_WORDS = """about after again also always another because before being between both
    cannot could does doing doesn during each error every from have having here into just
    know like make many more most much need only other over really same should some still
    such than that their them then there these they thing this those through trying under
    user users using very want were what when where which while with without would your
    problem problems issue issues question questions unable"""
_STOP = frozenset(_STOP_WORDS.split())
STEM = 5
MIN_QUOTE_CHARS = 8


def safe_json(value: Any) -> str:
    """JSON whose strings cannot contain a literal `<` (so no fake closing tag)."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces, trimmed."""
    return " ".join(text.split())


def locate_quote(quote: str, content: str) -> str | None:
    """The exact original substring of `content` that `quote` matches, if any.

    Matching ignores differences in whitespace only; the returned text is cut
    from the stored message, so what we keep is verbatim.
    """
    tokens = quote.split()
    if len(normalise(quote)) < MIN_QUOTE_CHARS:
        return None
    match = re.search(r"\s+".join(re.escape(t) for t in tokens), content)
    return match.group(0) if match else None


def stable_sample(items: Sequence[str], limit: int) -> list[str]:
    """Up to `limit` distinct items chosen by hash, not by position.

    An insight's evidence changes a little each week; choosing by hash keeps
    the same items chosen unless one of them leaves, so the request (and its
    cache key) stays the same and a re-run asks the model nothing new.
    """
    unique = list(dict.fromkeys(items))
    ranked = sorted(unique, key=lambda item: hashlib.sha256(item.encode()).digest())
    return ranked[:limit]


def looks_like_injection(text: str) -> bool:
    """True when a message reads like an instruction aimed at a model."""
    return any(pattern.search(text) for pattern in _INJECTION)


def clean_text(text: str, limit: int) -> str:
    """Plain prose: links, URLs, HTML and Markdown markup removed, whitespace collapsed."""
    text = _MD_LINK.sub(r"\1", text)
    text = _HTML.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    text = normalise(text)
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def urls(text: str) -> set[str]:
    """Every URL-like string in `text`."""
    return {u.rstrip(".,;:'\"") for u in _URL.findall(text)}


def grounded(text: str, evidence: Iterable[str]) -> bool:
    """Does `text` share at least one content word (by 5-letter stem) with the evidence?"""
    wanted = _stems(text)
    if not wanted:
        return False
    return any(wanted & _stems(item) for item in evidence)


def _stems(text: str) -> set[str]:
    return {w[:STEM] for w in _WORD.findall(text.lower()) if len(w) >= 4 and w not in _STOP}
