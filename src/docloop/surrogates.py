"""Lone UTF-16 surrogates, replaced before text is stored or printed.

JSON may escape a lone surrogate (`"\\ud800"`): valid JSON, and a real export
can hold one (a message cut in the middle of an emoji), but not encodable as
UTF-8, so SQLite and stdout refuse it. Such a character is replaced with
U+FFFD, the Unicode replacement character, instead of rejecting the message.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def without_surrogates(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD (a no-op for normal text)."""
    return _SURROGATE.sub(REPLACEMENT, text)
