"""A site generator's small config file read as a mapping, defensively and once.

Hugo (`hugo.toml`, `config.yaml`, `hugo.json`) and Mintlify (`docs.json`) configs are read
only for a few keys. A file that is too large, not UTF-8, not valid for its format, or
nested deep enough to exhaust a parser is no config: the caller gets {} and reads the
folder as it is. Detection asks the same file more than once (is it Hugo, where is its
content, what is its URL), so a file is parsed once per size and modification time.
"""

from __future__ import annotations

import json
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 1_000_000  # a site config is a few KB; a larger file is not one


def read_mapping(config: Path) -> dict[str, Any]:
    """The config's top-level mapping by its suffix (TOML, JSON, else YAML); {} when it
    cannot be read as one."""
    try:
        stat = config.stat()
    except OSError:
        return {}
    if stat.st_size > MAX_CONFIG_BYTES:
        return {}
    return dict(_parsed(str(config), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=64)
def _parsed(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    """The parsed file (keyed by its time and size, so an edit is read again)."""
    config = Path(path)
    try:
        text = config.read_text(encoding="utf-8")
        if config.suffix == ".toml":
            data = tomllib.loads(text)
        elif config.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}
