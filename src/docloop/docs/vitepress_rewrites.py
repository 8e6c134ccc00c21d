"""VitePress `rewrites`: the path a page is published at when it is not its file's path.

A rewrite maps a source path pattern to a published one (`'packages/:pkg/src/:slug*':
':pkg/:slug*'`, or VitePress' own docs' `'en/:rest*': ':rest*'`, which publishes the
English pages at the site's root). VitePress compiles both sides with path-to-regexp 6
(facts from VitePress' routing guide and its rewrites plugin): the first rule whose
pattern matches a page's path (case-insensitively) gives its published path.

docloop reads the rules only when `rewrites` is an object literal of plain strings, and
only the syntax the guide shows: literal text, `:name` (one path segment) with an optional
`?`, `*` or `+` modifier (the `/` or `.` before it is part of the optional or repeated
part), and unnamed `(.*)`. A rule with any other syntax (a custom parameter pattern, a `{…}`
group, a `^` regular expression) is not guessed: the pages it would move keep their file
paths, and the config is named in a warning. So is a `rewrites` function.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from docloop.docs.js_config import JsConfig

#: a path-to-regexp 6 token: a named parameter with its modifier, an unnamed `(.*)`, or
#: the literal text up to the next token
_TOKEN = re.compile(r":([A-Za-z_]\w*)([?*+])?|\(\.\*\)|[^:(]+|.", re.S)
_SEGMENT = r"[^/#?]+?"
#: a pair of plain strings in the rules' object: `'from': 'to',`
_RULE = re.compile(r"""(['"`])([^'"`$\\\n]*)\1\s*(:)\s*(['"`])([^'"`$\\\n]*)\4\s*(?=[,}\s])""")
#: `rewrites(id) {…}`: a method docloop does not run (`rewrites: (id) => …` is a property
#: whose value is no object)
_METHOD = re.compile(r"(?<![\w$.])rewrites\s*\(")


@dataclass(frozen=True)
class Rule:
    """One rewrite: the compiled source pattern and the published path's template."""

    source: re.Pattern[str]
    target: list[tuple[str, str, str]]  # (literal, parameter, prefix) pieces

    def apply(self, path: str) -> str | None:
        found = self.source.fullmatch(path)
        if found is None:
            return None
        values = found.groupdict()
        return "".join(literal + (prefix + values[name] if values.get(name) else "")
                       for literal, name, prefix in self.target)


def read_rewrites(js: JsConfig) -> tuple[list[Rule], bool]:
    """The config's rewrite rules, and whether it has rewrites docloop cannot follow (a
    function, a value that is no plain string, a rule with other syntax)."""
    if any(js.depth[m.start()] == 1 for m in _METHOD.finditer(js.code)):
        return [], True
    found = js.properties("rewrites", 1)
    if not found:
        return [], False
    span = js.value_object(found[0]) if len(found) == 1 else None
    if span is None:
        return [], True
    start, end, depth = span
    pairs = [m for m in _RULE.finditer(js.text, start, end)
             if js.code[m.start(3)] == ":" and js.depth[m.start(3)] == depth]
    rules = [_rule(m.group(2), m.group(5)) for m in pairs]
    written = sum(1 for i in range(start, end) if js.code[i] == ":" and js.depth[i] == depth)
    usable = [rule for rule in rules if rule is not None]
    return usable, len(usable) != len(rules) or written != len(rules)


def publish(rules: Sequence[Rule], path: str) -> str:
    """The published path of a page at a source path: the first matching rule's, else its
    own."""
    return next((moved for rule in rules if (moved := rule.apply(path)) is not None), path)


def _rule(source: str, target: str) -> Rule | None:
    if source.startswith("^"):
        return None
    pattern = _source_pattern(source)
    pieces = _target_pieces(target)
    if pattern is None or pieces is None:
        return None
    names = set(re.compile(pattern).groupindex)
    if any(name and name not in names for _, name, _ in pieces):
        return None
    return Rule(re.compile(pattern, re.I), pieces)


def _source_pattern(source: str) -> str | None:
    """The regular expression of a path-to-regexp 6 pattern, or None for other syntax."""
    parts: list[str] = []
    tokens = list(_TOKEN.finditer(source))
    for index, token in enumerate(tokens):
        text, name, modifier = token.group(0), token.group(1), token.group(2) or ""
        after = tokens[index + 1].group(0) if index + 1 < len(tokens) else ""
        if text in (":", "(") or "{" in text or "}" in text or (
                name and after.startswith("(")) or (text == "(.*)" and after[:1] in "?*+"
                                                    and after):
            return None  # `:name(.*)` is one parameter with a pattern; `(.*)?` a modifier
        prefix = ""
        if (name or text == "(.*)") and parts and parts[-1] in (re.escape("/"), r"\."):
            prefix = parts.pop()
        if text == "(.*)":
            parts.append(f"{prefix}(?:.*)")
        elif name:
            group = f"(?P<{name}>{_SEGMENT}(?:{prefix}{_SEGMENT})*)" if modifier in "*+" \
                and modifier else f"(?P<{name}>{_SEGMENT})"
            optional = "?" if modifier in ("?", "*") else ""
            parts.append(f"(?:{prefix}{group}){optional}")
        else:
            parts.extend(re.escape(char) for char in text)
    return "".join(parts)


def _target_pieces(target: str) -> list[tuple[str, str, str]] | None:
    """The published path's template: literal text, then a parameter with its prefix."""
    pieces: list[tuple[str, str, str]] = []
    literal = ""
    for token in _TOKEN.finditer(target):
        text, name = token.group(0), token.group(1)
        if text in (":", "(", "(.*)") or "{" in text or "}" in text:
            return None
        if not name:
            literal += text
            continue
        prefix = literal[-1] if literal.endswith(("/", ".")) else ""
        pieces.append((literal[:len(literal) - len(prefix)], name, prefix))
        literal = ""
    pieces.append((literal, "", ""))
    return pieces
