"""Reading plain string options out of a JavaScript or TypeScript site config, unexecuted.

Docusaurus and VitePress configs are code; docloop does not run them. An option is read
only where it can be read for sure: a property written as a plain string literal, at a
known place in the object nesting (`baseUrl` of the config object itself, `routeBasePath`
inside the `docs: {…}` options, `hostname` inside `sitemap: {…}`). A property of the
same name elsewhere (a blog's `routeBasePath`, a sidebar item's `base`) is another
option; one written as a variable, an expression or shorthand (`baseUrl,`) cannot be read,
and the caller then knows nothing rather than guessing.

The scan skips strings, template literals and comments, and tracks `{…}` nesting; a
regular-expression literal holding a brace can mislead it, which costs a value, never a
crash.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: a property name followed by a colon, or shorthand (`baseUrl,` / `baseUrl }`)
_PROPERTY = r"(?<![\w$.]){name}\s*(:|,|\}})"
_PLAIN = re.compile(r"""\s*(['"`])([^'"`$\\\n]*)\1\s*(?:[,}\n]|$)""")
#: an array of plain strings (`['**/README.md', 'drafts/**']`), whole
_PLAIN_LIST = re.compile(r"""\s*+\[((?:\s*+(['"`])[^'"`$\\\n]*+\2\s*+,)*+"""
                         r"""(?:\s*+(['"`])[^'"`$\\\n]*+\3)?+\s*+,?+\s*+)\]\s*+(?:[,}\n]|$)""")
_ITEM = re.compile(r"""(['"`])([^'"`$\\\n]*)\1""")


@dataclass(frozen=True)
class Found:
    """One property: where its value starts, its brace depth, and its plain string value
    (None when it is anything else)."""

    end: int
    depth: int
    value: str | None


class JsConfig:
    """A config's text with the brace depth of every code character."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.code, self.depth = _scan(text)
        self._closing = _closing_braces(self.code)

    def properties(self, name: str, depth: int | None = None,
                   within: tuple[int, int] | None = None) -> list[Found]:
        """Every property `name` (at `depth`, inside the span `within`, when given)."""
        found = []
        for match in re.finditer(_PROPERTY.format(name=re.escape(name)), self.code):
            at = match.start()
            if depth is not None and self.depth[at] != depth:
                continue
            if within is not None and not within[0] < at < within[1]:
                continue
            plain = _PLAIN.match(self.text, match.end()) if match.group(1) == ":" else None
            found.append(Found(match.end(), self.depth[at], plain.group(2) if plain else None))
        return found

    def string_list(self, found: Found) -> list[str] | None:
        """The value of the property `found` when it is an array of plain strings, else
        None (a variable, a spread, an expression)."""
        whole = _PLAIN_LIST.match(self.text, found.end)
        return [item.group(2) for item in _ITEM.finditer(whole.group(1))] if whole else None

    def strings(self, name: str, depth: int,
                within: tuple[int, int] | None = None) -> list[str] | None:
        """The option `name` (at `depth`, inside `within`) as an array of plain strings: []
        when it is not set, None when it is set any other way or more than once."""
        found = self.properties(name, depth, within)
        if not found:
            return []
        return self.string_list(found[0]) if len(found) == 1 else None

    def value_object(self, found: Found) -> tuple[int, int, int] | None:
        """The `{…}` span (start, end, depth inside) that is the value of the property
        `found` (`locales: {…}`), or None when its value is anything else (a variable, a
        call, a function)."""
        if self.code[found.end - 1] != ":":
            return None  # shorthand: `locales,`
        at = found.end
        while at < len(self.code) and self.code[at].isspace():
            at += 1
        return self.object_at(at) if at < len(self.code) and self.code[at] == "{" else None

    def objects(self, opening: str, in_text: bool = False) -> list[tuple[int, int, int]]:
        """The `{…}` spans (start, end, depth inside) that follow the pattern `opening`
        (`sitemap\\s*:\\s*`) in the code, or in the text when the pattern names a string
        (`plugin-content-docs['"]\\s*,\\s*`)."""
        spans = []
        for match in re.finditer(opening + r"\{", self.text if in_text else self.code):
            start = match.end() - 1
            if self.code[start] != "{":
                continue  # a brace inside a string or comment
            spans.append(self.object_at(start))
        return spans

    def object_at(self, start: int) -> tuple[int, int, int]:
        """The `{…}` span (start, end, depth inside) of the brace at `start` in the code."""
        return start, self._closing.get(start, len(self.code)), self.depth[start] + 1


def read_config(config: Path, fallback: str) -> JsConfig:
    """The config at `config`; one that cannot be read is logged, saying what is taken
    instead (`fallback`), and read as empty."""
    try:
        return JsConfig(config.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        log.warning("%s: cannot read it (%s); %s", config, exc, fallback)
        return JsConfig("")


def site_address(host: str, base: str) -> str:
    """A site's address from its host URL and base path, ending in `/`
    (`https://x.dev` + `/docs-site/` -> `https://x.dev/docs-site/`)."""
    base = base.strip("/")
    return f"{host.rstrip('/')}/{base}/" if base else f"{host.rstrip('/')}/"


def _scan(text: str) -> tuple[str, list[int]]:
    """The text with strings and comments blanked (same length), and the brace depth at
    each position (a `{` counts from the character after it, a `}` from itself)."""
    code = list(text)
    depth = [0] * (len(text) + 1)
    level, i = 0, 0
    while i < len(text):
        char, two = text[i], text[i:i + 2]
        skip = _skipped(text, i, char, two)
        if skip > i:
            for j in range(i, skip):
                code[j] = " " if text[j] != "\n" else "\n"
                depth[j] = level
            i = skip
            continue
        if char == "}":
            level = max(level - 1, 0)
        depth[i] = level
        if char == "{":
            level += 1
        i += 1
    depth[len(text)] = level
    return "".join(code), depth


def _closing_braces(code: str) -> dict[int, int]:
    """Where each `{` of the code closes, found in one pass: a config of thousands of
    nested objects is read in linear time, not once per object."""
    closing: dict[int, int] = {}
    opened: list[int] = []
    for at, char in enumerate(code):
        if char == "{":
            opened.append(at)
        elif char == "}" and opened:
            closing[opened.pop()] = at
    return closing


def _skipped(text: str, i: int, char: str, two: str) -> int:
    """Where a string, template literal or comment starting at `i` ends (`i` if none)."""
    if two == "//":
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if two == "/*":
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    if char in "'\"`":
        j = i + 1
        while j < len(text) and text[j] != char and (char == "`" or text[j] != "\n"):
            j += 2 if text[j] == "\\" else 1
        return min(j + 1, len(text))
    return i
