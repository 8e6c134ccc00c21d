"""YAML front matter, read defensively.

Front matter is a handful of keys (`title`, `slug`, `id`). A hostile page can
make a YAML loader recurse until Python's stack runs out (`[[[[...` 50,000
deep) or expand a 1 KB chain of aliases into gigabytes. So before loading,
the token stream is scanned (the scanner does not recurse): aliases are
rejected and nesting deeper than `MAX_DEPTH` is refused, each with an
`InputError` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from docloop.errors import InputError

MAX_DEPTH = 20
_OPEN = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken,
         yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)
_CLOSE = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def split_front_matter(lines: list[str], file: Path) -> tuple[dict[str, Any], int]:
    """YAML front matter between `---` lines, and the index of the first body line."""
    end = front_matter_end(lines)
    if end is None:
        raise InputError(f"{file}: front matter opened with '---' on line 1 is never closed")
    if not end:
        return {}, 0
    return load_front_matter("\n".join(lines[1 : end - 1]), file), end


def front_matter_end(lines: list[str]) -> int | None:
    """Index of the first body line (0 without front matter); None if it is never closed."""
    if not lines or lines[0].strip() != "---":
        return 0
    return next((end + 1 for end in range(1, len(lines))
                 if lines[end].strip() in ("---", "...")), None)


def load_front_matter(text: str, file: Path) -> dict[str, Any]:
    """The front matter mapping; InputError for invalid, aliased or too deep YAML."""
    try:
        _check_shape(text, file)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{file}: front matter is not valid YAML: {_one_line(exc)}") from None
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
