"""Untrusted text made safe to store and render, and timestamps made plausible.

Chat text is pasted from anywhere. Three kinds of character do harm and carry
no meaning a docs team needs:

- control characters (NUL makes a Markdown file binary; ESC sequences repaint
  a terminal that shows a ticket or a log line);
- bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which
  make text display in another order than it reads ("Trojan Source");
- invisible zero-width characters (U+200B, U+200C, U+2060, U+FEFF), which
  split words so that search, redaction and de-duplication miss them. The
  zero-width joiner (U+200D) is kept between two symbols, where it builds an
  emoji sequence, and dropped elsewhere.

Lone surrogates (valid in JSON, not encodable as UTF-8) become U+FFFD.

A message's timestamp must fall between Discord's epoch and a day from now:
one message dated 9999 would make every other message look old and cut every
insight's recency score.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta

from docloop.models import Message

#: the first second of 2015, Discord's snowflake epoch
DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
#: how far ahead of the clock a timestamp may be (time zones, skewed clocks)
FUTURE_SLACK = timedelta(days=1)

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u2060\ufeff\u180e]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ZWJ = "\u200d"


def clean_text(text: str) -> str:
    """`text` without control, bidi-override and zero-width characters.

    Newlines and tabs stay; a carriage return becomes a newline (a lone one)
    or disappears (in CRLF).
    """
    if text.isascii() and text.isprintable():
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = whole_characters(text)
    text = _ZERO_WIDTH.sub("", _BIDI.sub("", _CONTROLS.sub("", text)))
    return _drop_stray_joiners(text) if _ZWJ in text else text


def whole_characters(text: str) -> str:
    """`text` with each lone surrogate (half of a character, which no file or database can
    store as UTF-8) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def clean_line(text: str) -> str:
    """`clean_text` for one-line fields (names, titles): newlines and tabs become spaces."""
    return " ".join(clean_text(text).split())


def clean_message(message: Message) -> Message:
    """The message with every text field cleaned (before redaction and storage)."""
    update: dict[str, object] = {
        "content": clean_text(message.content),
        "author_name": clean_line(message.author_name),
        "channel_name": clean_line(message.channel_name),
    }
    if message.thread_name is not None:
        update["thread_name"] = clean_line(message.thread_name)
    if message.reactions:
        update["reactions"] = {clean_line(k) or "?": v for k, v in message.reactions.items()}
    return message.model_copy(update=update)


def plausible_time(when: datetime, now: datetime) -> bool:
    """True when `when` lies between Discord's epoch and a day after `now`."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return DISCORD_EPOCH <= aware <= now + FUTURE_SLACK


def _drop_stray_joiners(text: str) -> str:
    """Keep a zero-width joiner only between two symbols (an emoji sequence)."""
    out: list[str] = []
    for index, char in enumerate(text):
        if char == _ZWJ and not _joins_symbols(text, index):
            continue
        out.append(char)
    return "".join(out)


def _joins_symbols(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return _is_symbol(before) and _is_symbol(after)


def _is_symbol(char: str) -> bool:
    """An emoji-ish character: a symbol, a variation selector or a skin-tone modifier."""
    if not char:
        return False
    return unicodedata.category(char) in {"So", "Sk", "Mn"} or "\ufe00" <= char <= "\ufe0f"
