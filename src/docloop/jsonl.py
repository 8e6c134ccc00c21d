"""Reading the JSONL files users hand docloop (labels, search queries), line by line.

A line is what ends in `\n` (a `\r` before it dropped): `str.splitlines` also breaks at
U+2028, U+2029 and U+0085, which `json.dumps(..., ensure_ascii=False)` writes inside strings,
and would cut such a line in two. Errors name the file and the line, and say what to do:
a file in another encoding, a JSON array where one object per line is read, and the
constants `NaN` and `Infinity`, which Python's reader accepts but no other JSON reader
does (an id echoed as `NaN` breaks the caller's parser).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from docloop.errors import InputError

#: the path that means standard input (`docloop eval - …`, `docloop docs search --queries -`)
STDIN = Path("-")


def named(path: Path) -> str:
    """How errors name a file users handed over: its path, or `<stdin>`."""
    return "<stdin>" if path == STDIN else str(path)


def read_lines(path: Path, what: str) -> list[str]:
    """The file's lines (standard input's for `-`), read as UTF-8 (a BOM dropped); `what`
    names the file in errors."""
    try:
        data = sys.stdin.buffer.read() if path == STDIN else path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the {what} {named(path)}: {exc}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{named(path)}: the file is UTF-16; save it as UTF-8 (one JSON "
                         "object per line)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"{named(path)}:{line}: not UTF-8 text (byte "
                         f"0x{data[exc.start]:02x}); save the file as UTF-8") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_line(where: str, line: str) -> Any:
    """One line's JSON value; an InputError naming `where` (file:line) otherwise."""
    try:
        value = json.loads(line, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        hint = (": the file looks like one JSON array; write one object per line (JSONL)"
                if line.lstrip().startswith("[") else "")
        raise InputError(f"{where}: not valid JSON ({exc.msg}){hint}") from None
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    if isinstance(value, list):
        raise InputError(f"{where}: a JSON array; write one object per line (JSONL)")
    return value


def finite(value: object) -> bool:
    """False for a float that is infinite (`1e400` reads as one) or not a number."""
    return not isinstance(value, float) or math.isfinite(value)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON (only Python reads it); write a number or a string")
