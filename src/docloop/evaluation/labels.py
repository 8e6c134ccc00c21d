"""The labelled-messages file of `docloop eval` (the realsets' JSONL format).

One JSON object per line: `id`, `author` (strings, or integers read as their
decimal text), `text`, `group` (a problem id, or `"noise"`) and `doc_path` (the
page a maintainer would edit, or null when no page covers the group). Other keys
(`source`, `kind`) are kept out of the way.
Labels of a community's own messages (`docloop eval --source`) name each message
by its id in the source, and may leave `text` and `author` out: the source's are
measured. A line whose `group` is null or empty is a message not labelled (yet),
as `docloop sources labels` writes every line, and is skipped.
A bad line is an InputError naming the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from docloop.errors import InputError
from docloop.jsonl import named, parse_line, read_lines
from docloop.sanitize import whole_characters

NOISE = "noise"
#: fields only a `docloop sources labels` template writes (the message's place in the export)
TEMPLATE_FIELDS = frozenset(("channel", "thread", "reply_to"))
REQUIRED_STRINGS = ("id", "author", "text", "group")
#: what a label of a message in a source must give; the rest is read from the source
SOURCE_REQUIRED = ("id", "group")
#: fields an export may write as JSON integers (a row number, a numeric user id): read as
#: their decimal text, the same id whichever way a file spells it
NUMBERED = ("id", "author")


@dataclass(frozen=True)
class LabelledMessage:
    """One labelled message; `group` is None for noise, `page` None for no page."""

    id: str
    author: str
    text: str
    group: str | None
    page: str | None
    #: `doc_path` as the file wrote it, before a `--doc-prefix` was removed (for warnings)
    written_page: str | None = None
    #: the export places a `docloop sources labels` template writes (TEMPLATE_FIELDS) the
    #: line carried, for `template_warning`
    placed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Gold:
    """What the metrics compare against: message -> group, group -> page."""

    groups: dict[str, str | None]
    messages: dict[str, str | None]

    def members(self, group: str) -> list[str]:
        return [m for m, g in self.messages.items() if g == group]


def read_labels(path: Path, doc_prefix: str | Sequence[str] = "",
                from_source: bool = False) -> list[LabelledMessage]:
    """Every labelled line of `path`, validated; `doc_prefix` (one, or several for docs
    with several roots) is removed from the pages, the longest that matches.
    `from_source`: the lines label a source's messages (see the module docstring)."""
    required = SOURCE_REQUIRED if from_source else REQUIRED_STRINGS
    prefixes = prefix_list(doc_prefix)
    lines = read_lines(path, "labels file")
    messages: list[LabelledMessage] = []
    seen: dict[str, int] = {}
    pages: dict[str, tuple[str | None, int]] = {}
    grouped = False  # a line with a `group` field
    read = False  # a line that is not blank
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{named(path)}:{number}"
        item = _parse_line(where, line)
        read, grouped = True, grouped or "group" in item
        if from_source and item.get("group") in (None, ""):
            if item.get("doc_path") not in (None, ""):
                raise InputError(f"{where}: field 'doc_path' is set but 'group' is not: name "
                                 "the message's problem group, or clear doc_path to leave "
                                 "the message unlabelled")
            continue  # not labelled
        if not from_source and item.get("group") is None and TEMPLATE_FIELDS & item.keys():
            raise InputError(f"{where}: field 'group' is null: a `docloop sources labels` "
                             "line not labelled yet; label it, or give the --source it was "
                             "written from (unlabelled lines are then skipped)")
        message = replace(_message(where, item, prefixes, required),
                          placed=tuple(sorted(TEMPLATE_FIELDS & item.keys())))
        if message.id in seen:
            raise InputError(f"{where}: id {message.id!r} repeats line {seen[message.id]}; "
                             "give every message its own id")
        seen[message.id] = number
        _check_page(where, message, pages, number)
        messages.append(message)
    if read and not grouped:
        raise InputError(f"{named(path)}: no line has a 'group' field; give each message its "
                         "problem group (or 'noise')")
    if not any(m.group for m in messages):
        raise InputError(f"{named(path)}: no labelled problem messages (every group is 'noise' or "
                         "null, or the file is empty); label at least one group")
    return messages


def template_warning(path: Path, messages: Sequence[LabelledMessage]) -> str | None:
    """A warning when labels measured as chat (no --source) are a `sources labels` template:
    the figures are then of the texts as new top-level messages, not of the export."""
    placed = sorted({field for message in messages for field in message.placed})
    if not placed:
        return None
    return (f"{named(path)}: the labels carry the export's places of their messages "
            f"({', '.join(placed)}), as `docloop sources labels` writes them; without "
            "--source eval measures their texts as new top-level chat, not the export with "
            "its threads and replies: add the --source the template was written from")


def lone_groups_warning(messages: Sequence[LabelledMessage]) -> str | None:
    """A warning naming the groups of one message: recovering a group takes two of its
    messages in one insight, so these count against `recovered` whatever the loop does."""
    sizes: dict[str, int] = {}
    for message in messages:
        if message.group is not None:
            sizes[message.group] = sizes.get(message.group, 0) + 1
    lone = sorted(group for group, size in sizes.items() if size == 1)
    if not lone:
        return None
    shown = ", ".join(repr(group) for group in lone[:5]) + (" …" if len(lone) > 5 else "")
    return (f"{len(lone)} of {len(sizes)} groups have one message ({shown}): a group is "
            "recovered when two of its messages share an insight, so these are never "
            "recovered; label at least two messages of each group")


def gold_of(messages: list[LabelledMessage]) -> Gold:
    """The labels in the form `metrics` scores against."""
    groups = {m.group: m.page for m in messages if m.group is not None}
    return Gold(groups=groups, messages={m.id: m.group for m in messages})


def _parse_line(where: str, line: str) -> dict[str, Any]:
    item = parse_line(where, line)
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected a JSON object with id, author, text, group, "
                         "doc_path")
    return item


def prefix_list(doc_prefix: str | Sequence[str]) -> tuple[str, ...]:
    """The prefixes to try, longest first (`docs/` must not win over `docs/en/docs/`)."""
    given = [doc_prefix] if isinstance(doc_prefix, str) else list(doc_prefix)
    return tuple(sorted({p for p in given if p}, key=len, reverse=True))


def strip_prefix(page: str, prefixes: Sequence[str]) -> str:
    """`page` without the first of `prefixes` (longest first) it starts with."""
    for prefix in prefixes:
        if page.startswith(prefix):
            return page[len(prefix):]
    return page


def _message(where: str, item: dict[str, Any], prefixes: tuple[str, ...],
             required: tuple[str, ...]) -> LabelledMessage:
    for field in NUMBERED:
        value = item.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            item[field] = str(value)
    for field in REQUIRED_STRINGS:
        value = item.get(field)
        if field not in required and value is None:
            item[field] = ""
        elif not isinstance(value, str):
            raise InputError(f"{where}: field {field!r} must be "
                             + ("a non-empty string" if field in required
                                else "a string, or left out (the source gives it)")
                             + (" (or a whole number)" if field in NUMBERED else ""))
        elif field in required and not value.strip():
            raise InputError(f"{where}: field {field!r} must be a non-empty string")
        item[field] = whole_characters(item[field])  # a broken emoji, as `run` reads it
    _check_noise_spelling(where, item["group"])
    if "doc_path" not in item:
        raise InputError(f"{where}: field 'doc_path' is missing (a page path, or null when no "
                         "page covers the group)")
    page = item["doc_path"]
    if page is not None and (not isinstance(page, str) or not page.strip()):
        raise InputError(f"{where}: field 'doc_path' must be a page path or null")
    group = None if item["group"] == NOISE else item["group"]
    if group is None and page is not None:
        raise InputError(f"{where}: field 'doc_path' is {page!r} on a 'noise' message; noise "
                         "has no page (null), or name the problem group the page answers")
    if page is not None:
        page = page.replace("\\", "/")  # a Windows path: the index's pages use '/'
    written = None if group is None else page
    page = None if written is None else strip_prefix(written, prefixes)
    return LabelledMessage(item["id"], item["author"], item["text"], group, page, written)


def _check_noise_spelling(where: str, group: str) -> None:
    """`Noise` or `noise ` would silently be a problem group of its own and skew every figure."""
    if group != NOISE and group.strip().lower() == NOISE:
        raise InputError(f"{where}: field 'group' is {group!r}; write {NOISE!r} (lower case) "
                         "for a message with no problem, or name the problem group otherwise")


def _check_page(where: str, message: LabelledMessage,
                pages: dict[str, tuple[str | None, int]], number: int) -> None:
    """Every message of a group must name the same page."""
    if message.group is None:
        return
    first = pages.setdefault(message.group, (message.page, number))
    if first[0] != message.page:
        raise InputError(f"{where}: field 'doc_path' is {_json(message.page)} but line "
                         f"{first[1]} gives group {message.group!r} the page {_json(first[0])}; "
                         "one group, one page")


def _json(page: str | None) -> str:
    """A page as the file writes it: `null` for none."""
    return "null" if page is None else repr(page)
