"""Read a large JSON export one top-level member (and one array item) at a time.

A DiscordChatExporter file of a big community is hundreds of megabytes; loading
it whole costs several times its size in Python objects. This reader walks
ijson's flat event stream (no recursion, no prefix strings) and builds only the
values asked for: the top-level members named in `wanted`, and each item of the
top-level array `items_of`, handed out one by one and then forgotten.

Hostile input becomes `InputError` with the file named, never a traceback:
nesting deeper than `MAX_DEPTH` (real exports are about six levels deep; the
standard library would hit `RecursionError`), truncated or invalid JSON,
invalid UTF-8, and numbers Python refuses to convert.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from docloop.errors import InputError

#: Deeper than any real export (message -> embeds -> fields ... is about six levels).
MAX_DEPTH = 64
_BOM = b"\xef\xbb\xbf"
_OPEN = {"start_map", "start_array"}
_CLOSE = {"end_map", "end_array"}
Event = tuple[str, Any]


class TopLevelNotObject(Exception):
    """The document is valid JSON so far but its top level is not an object."""


def stream_members(path: Path, wanted: frozenset[str], items_of: str,
                   hint: str) -> Iterator[tuple[str, Any]]:
    """Yield `(key, value)` for wanted top-level members, `(items_of + "[]", item)` per item.

    Members are yielded in file order; a member that is not wanted is skipped
    without being built. `(items_of + "[", None)` marks where the array starts,
    so an empty one is seen too; an `items_of` member that is not an array is
    yielded whole as `(items_of, value)`, for the caller to report.
    """
    try:
        with path.open("rb") as handle:
            yield from _members(_events(handle), wanted, items_of)
    except TopLevelNotObject:
        raise InputError(f"{path}: $: the top level must be a JSON object; this is not a "
                         f"DiscordChatExporter JSON export ({hint})") from None
    except _TooDeep:
        raise InputError(f"{path}: nested deeper than {MAX_DEPTH} levels; no export is, "
                         f"so it is not a DiscordChatExporter JSON export ({hint})") from None
    except ijson.JSONError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not valid JSON ({reason}); the file may be truncated "
                         f"- {hint}") from None
    except (ValueError, SystemError) as exc:  # int() refusing a 5,000-digit number, via ijson
        raise InputError(f"{path}: not a usable JSON number or string ({_first_line(exc)}) "
                         f"- {hint}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the export: {exc}") from None


class _TooDeep(Exception):
    pass


def _first_line(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__ or exc
    return (str(cause).splitlines() or [type(cause).__name__])[0][:120]


def _events(handle: BinaryIO) -> Iterator[Event]:
    """ijson's basic events, after an optional UTF-8 byte order mark."""
    if handle.read(3) != _BOM:
        handle.seek(0)
    return iter(ijson.basic_parse(LoneSurrogateFilter(handle)))


#: A run of backslashes, then a surrogate escape (a high one optionally followed by a low one).
_SURROGATE_ESCAPE = re.compile(
    rb"(\\+)u([dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    rb"|(\\+)u([dD][c-fC-F][0-9a-fA-F]{2})")
#: The trailing bytes of a read that could be part of an escape (backslashes, `u`, hex
#: digits): held back for the next read, so an escape or a pair is never split.
_ESCAPE_BYTES = b"\\u0123456789abcdefABCDEF"


class LoneSurrogateFilter:
    """A byte stream with lone surrogate escapes rewritten to `\\ufffd`.

    `"\\ud800"` is valid JSON but no character; the C parser would turn it into
    `?`, indistinguishable from a real question mark. Rewriting the escape before
    parsing gives U+FFFD, the replacement character, as the standard library
    (and `docloop.surrogates`) would. Proper pairs and escaped backslashes
    (`\\\\ud800` is the text `\\ud800`) are left alone.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.held = b""

    def read(self, size: int = 65536) -> bytes:
        if size == 0:  # ijson probes the stream's type with read(0)
            return b""
        data = self.held
        while True:
            chunk = self.raw.read(max(size, 64))
            data = data + chunk if data else chunk
            if not chunk:
                self.held = b""
                return _without_lone_escapes(data)
            cut = len(data.rstrip(_ESCAPE_BYTES))  # the rest may be an unfinished escape
            if cut > 0:
                self.held = data[cut:]
                return _without_lone_escapes(data[:cut])


def _without_lone_escapes(data: bytes) -> bytes:
    """Rewrite lone surrogate escapes; most text has no surrogate escape at all."""
    if b"\\ud" not in data and b"\\uD" not in data:
        return data
    return _SURROGATE_ESCAPE.sub(_fix_escape, data)


def _fix_escape(match: re.Match[bytes]) -> bytes:
    """Replace the lone surrogate escapes in one match (see `_SURROGATE_ESCAPE`)."""
    high, low = match.group(2), match.group(3)
    slashes = match.group(1) or match.group(4)
    escaped = len(slashes) % 2 == 1  # an even run is literal backslashes
    if high is None:
        return slashes + b"ufffd" if escaped else match.group(0)
    if escaped:
        return match.group(0) if low else slashes + b"ufffd"
    return slashes + b"u" + high + (b"\\ufffd" if low else b"")


def _members(events: Iterator[Event], wanted: frozenset[str],
             items_of: str) -> Iterator[tuple[str, Any]]:
    first = next(events, None)
    if first is None:
        raise ijson.IncompleteJSONError("premature EOF: the file is empty")
    if first[0] != "start_map":
        raise TopLevelNotObject
    for event, key in events:
        if event == "end_map":
            for _ in events:  # yajl raises on trailing data; anything else is a second value
                raise ijson.IncompleteJSONError("trailing data after the top-level object")
            return
        kind, value = next(events)
        if key == items_of and kind == "start_array":
            yield items_of + "[", None  # the array starts (it may be empty)
            yield from ((items_of + "[]", item) for item in _array_items(events))
        elif key == items_of or key in wanted:
            yield key, _build(kind, value, events)
        else:
            _skip(kind, events)


def _array_items(events: Iterator[Event]) -> Iterator[Any]:
    for kind, value in events:
        if kind == "end_array":
            return
        yield _build(kind, value, events, depth=2)


def _build(kind: str, value: Any, events: Iterator[Event], depth: int = 1) -> Any:
    """The value that starts with event `kind`, built without recursion."""
    if kind not in _OPEN:
        return value
    root: Any = {} if kind == "start_map" else []
    stack: list[Any] = [root]
    keys: list[Any] = [None]
    for kind, value in events:
        if kind == "map_key":
            keys[-1] = value
            continue
        if kind in _CLOSE:
            stack.pop()
            keys.pop()
            if not stack:
                return root
            continue
        child: Any = value
        if kind in _OPEN:
            child = {} if kind == "start_map" else []
        parent = stack[-1]
        if isinstance(parent, dict):
            parent[keys[-1]] = child
        else:
            parent.append(child)
        if kind in _OPEN:
            if len(stack) + depth > MAX_DEPTH:
                raise _TooDeep
            stack.append(child)
            keys.append(None)
    raise ijson.IncompleteJSONError("premature EOF")


def _skip(kind: str, events: Iterator[Event]) -> None:
    """Consume a value that is not wanted, still refusing absurd nesting."""
    if kind not in _OPEN:
        return
    depth = 1
    for kind, _ in events:
        if kind in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                raise _TooDeep
        elif kind in _CLOSE:
            depth -= 1
            if depth == 0:
                return
    raise ijson.IncompleteJSONError("premature EOF")
