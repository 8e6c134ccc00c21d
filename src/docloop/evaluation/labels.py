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

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docloop.errors import InputError

NOISE = "noise"
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
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # drops a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the labels file {path}: {exc}") from None
    messages: list[LabelledMessage] = []
    seen: dict[str, int] = {}
    pages: dict[str, tuple[str | None, int]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        item = _parse_line(where, line)
        if from_source and item.get("group") in (None, ""):
            continue  # not labelled
        message = _message(where, item, prefixes, required)
        if message.id in seen:
            raise InputError(f"{where}: id {message.id!r} repeats line {seen[message.id]}; "
                             "give every message its own id")
        seen[message.id] = number
        _check_page(where, message, pages, number)
        messages.append(message)
    if not any(m.group for m in messages):
        raise InputError(f"{path}: no labelled problem messages (every group is 'noise' or "
                         "the file is empty); label at least one group")
    return messages


def gold_of(messages: list[LabelledMessage]) -> Gold:
    """The labels in the form `metrics` scores against."""
    groups = {m.group: m.page for m in messages if m.group is not None}
    return Gold(groups=groups, messages={m.id: m.group for m in messages})


def _parse_line(where: str, line: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
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
                                else "a string, or left out (the source gives it)"))
        elif field in required and not value.strip():
            raise InputError(f"{where}: field {field!r} must be a non-empty string")
    if "doc_path" not in item:
        raise InputError(f"{where}: field 'doc_path' is missing (a page path, or null when no "
                         "page covers the group)")
    page = item["doc_path"]
    if page is not None and (not isinstance(page, str) or not page.strip()):
        raise InputError(f"{where}: field 'doc_path' must be a page path or null")
    group = None if item["group"] == NOISE else item["group"]
    written = None if group is None else page
    page = None if written is None else strip_prefix(written, prefixes)
    return LabelledMessage(item["id"], item["author"], item["text"], group, page, written)


def _check_page(where: str, message: LabelledMessage,
                pages: dict[str, tuple[str | None, int]], number: int) -> None:
    """Every message of a group must name the same page."""
    if message.group is None:
        return
    first = pages.setdefault(message.group, (message.page, number))
    if first[0] != message.page:
        raise InputError(f"{where}: field 'doc_path' is {message.page!r} but line {first[1]} "
                         f"gives group {message.group!r} the page {first[0]!r}; one group, "
                         "one page")
