"""Unified diffs for suggested edits, and a strict check that they apply.

A suggestion's patch must apply cleanly to the indexed page; `apply_patch`
re-applies a diff to the original text (context lines must match exactly) so
a patch is only ever shown after it has been proven to apply.
"""

from __future__ import annotations

import difflib
import re

from docloop.errors import StageError

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def make_patch(path: str, before: str, after: str) -> str:
    """A unified diff from `a/path` to `b/path`, ending with a newline."""
    lines = difflib.unified_diff(
        _with_final_newline(before).splitlines(keepends=True),
        _with_final_newline(after).splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(lines)


def apply_patch(original: str, patch: str) -> str:
    """Apply a unified diff to `original`; StageError if any hunk does not fit."""
    source = _with_final_newline(original).splitlines(keepends=True)
    result: list[str] = []
    cursor = 0
    lines = patch.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        match = _HUNK.match(lines[i])
        i += 1
        if not match:
            continue
        start = int(match.group(1)) - 1 if int(match.group(2) or 1) else int(match.group(1))
        if start < cursor:
            raise StageError("patch hunks overlap or are out of order")
        result.extend(source[cursor:start])
        cursor = start
        while i < len(lines) and not lines[i].startswith("@@"):
            tag, text = lines[i][:1], lines[i][1:]
            i += 1
            if tag in (" ", "-"):
                if cursor >= len(source) or source[cursor] != text:
                    raise StageError(f"patch does not apply at line {cursor + 1}")
                cursor += 1
                if tag == " ":
                    result.append(text)
            elif tag == "+":
                result.append(text)
    result.extend(source[cursor:])
    return "".join(result)


def _with_final_newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"
