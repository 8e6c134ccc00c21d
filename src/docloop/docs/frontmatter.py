"""Front matter, read defensively: YAML between `---` lines, or TOML between `+++` lines
(Hugo's other format, hugo_site.py).

Front matter is a handful of keys (`title`, `slug`, `id`). A hostile page can
make a YAML loader recurse until Python's stack runs out (`[[[[...` 50,000
deep) or expand a 1 KB chain of aliases into gigabytes. So before loading,
the token stream is scanned (the scanner does not recurse): aliases are
rejected and nesting deeper than `MAX_DEPTH` is refused, each with an
`InputError` naming the file. TOML has no aliases; nesting that exhausts its parser is
refused the same way.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from docloop.errors import InputError

MAX_DEPTH = 20
_OPEN = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken,
         yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)
_CLOSE = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


#: the line that opens front matter, and the lines that may close it
_FENCES = {"---": ("---", "..."), "+++": ("+++",)}


def split_front_matter(lines: list[str], file: Path, generator: str = "") -> tuple[
        dict[str, Any], int]:
    """Front matter (YAML between `---` lines, TOML between `+++` lines), and the index of
    the first body line. `+++` opens front matter for Hugo, which must then be TOML (as
    Hugo refuses the page otherwise); elsewhere a `+++` block that is not closed TOML is
    the page's text, as it was before TOML was read."""
    end = front_matter_end(lines)
    toml = bool(lines) and lines[0].strip() == "+++"
    if end is None and toml and generator != "hugo":
        return {}, 0
    if end is None:
        raise InputError(f"{file}: front matter opened with '{lines[0].strip()}' on line 1 "
                         "is never closed")
    if not end:
        return {}, 0
    text = "\n".join(lines[1 : end - 1])
    if not toml:
        return load_front_matter(text, file), end
    try:
        return load_toml_front_matter(text, file), end
    except InputError:
        if generator == "hugo":
            raise
        return {}, 0


def front_matter_end(lines: list[str]) -> int | None:
    """Index of the first body line (0 without front matter); None if it is never closed."""
    closers = _FENCES.get(lines[0].strip()) if lines else None
    if closers is None:
        return 0
    return next((end + 1 for end in range(1, len(lines))
                 if lines[end].strip() in closers), None)


def load_toml_front_matter(text: str, file: Path) -> dict[str, Any]:
    """The TOML front matter table; InputError for invalid TOML, or nesting deep enough to
    exhaust the parser's recursion (`[[[[…` thousands deep)."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{file}: front matter is not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"{file}: front matter is nested too deeply; flatten it") from None
    if _depth(table) > MAX_DEPTH:  # dotted keys nest without the parser recursing
        raise InputError(f"{file}: front matter is nested more than {MAX_DEPTH} levels deep; "
                         "flatten it")
    return table


def _depth(value: Any) -> int:
    """How deep tables and arrays nest in `value`, counted without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((child, depth + 1) for child in
                         (item.values() if isinstance(item, dict) else item))
    return deepest


def load_front_matter(text: str, file: Path) -> dict[str, Any]:
    """The front matter mapping; InputError for invalid, aliased or too deep YAML."""
    try:
        _check_shape(text, file)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{file}: front matter is not valid YAML: {_one_line(exc)}") from None
    except (ValueError, TypeError) as exc:  # a value of an impossible type: `2024-02-30`
        raise InputError(f"{file}: front matter holds a value YAML cannot read: "
                         f"{' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise InputError(f"{file}: front matter must be a mapping of keys to values")
    return data


def _check_shape(text: str, file: Path) -> None:
    """Refuse aliases and deep nesting before anything is built from the YAML."""
    depth = 0
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, yaml.AliasToken):
            raise InputError(f"{file}: front matter uses a YAML alias (*{token.value}); "
                             "aliases are not expanded, write the value out")
        if isinstance(token, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"{file}: front matter is nested more than {MAX_DEPTH} "
                                 "levels deep; flatten it")
        elif isinstance(token, _CLOSE):
            depth -= 1


def _one_line(exc: yaml.YAMLError) -> str:
    return " ".join(str(exc).split())
