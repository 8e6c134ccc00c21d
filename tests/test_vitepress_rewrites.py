"""VitePress `rewrites` read as path-to-regexp 6 reads them, for the syntax its routing
guide shows; anything else is not guessed."""

from __future__ import annotations

from functools import partial

import pytest

from docloop.docs.js_config import JsConfig
from docloop.docs.vitepress_rewrites import publish, read_rewrites


def publisher(rules: str):  # type: ignore[no-untyped-def]
    found, unread = read_rewrites(JsConfig(f"export default {{\n  rewrites: {{\n{rules}\n  }}\n}}"))
    assert not unread
    return partial(publish, found)


@pytest.mark.parametrize(("rules", "path", "published"), [
    # the routing guide's examples
    ("'packages/pkg-a/src/foo.md': 'pkg-a/foo.md',", "packages/pkg-a/src/foo.md", "pkg-a/foo.md"),
    ("'packages/:pkg/src/:slug*': ':pkg/:slug*',", "packages/b/src/bar.md", "b/bar.md"),
    ("'packages/:pkg/src/:slug*': ':pkg/:slug*',", "packages/b/src/deep/bar.md", "b/deep/bar.md"),
    # VitePress' own docs: English at the root
    ("'en/:rest*': ':rest*',", "en/guide/routing.md", "guide/routing.md"),
    ("'en/:rest*': ':rest*',", "zh/guide/routing.md", "zh/guide/routing.md"),
    ("'en/:rest*': ':rest*',", "EN/index.md", "index.md"),  # path-to-regexp: not case-sensitive
    # one segment, the `.` before a parameter, optional and one-or-more modifiers
    ("'docs/:name.md': 'guide/:name.md',", "docs/intro.md", "guide/intro.md"),
    ("'docs/:name.md': 'guide/:name.md',", "docs/a/intro.md", "docs/a/intro.md"),
    ("'api/:version?/index.md': 'reference/:version?/index.md',", "api/index.md",
     "reference/index.md"),
    ("'api/:version?/index.md': 'reference/:version?/index.md',", "api/v2/index.md",
     "reference/v2/index.md"),
    ("'notes/:rest+': 'blog/:rest+',", "notes/a/b.md", "blog/a/b.md"),
    ("'packages/:pkg/src/(.*)': ':pkg/index.md',", "packages/a/src/x/y.md", "a/index.md"),
    # the first rule that matches wins
    ("'a/:x.md': 'one/:x.md',\n'a/b.md': 'two/b.md',", "a/b.md", "one/b.md"),
])
def test_a_page_is_published_where_the_first_matching_rule_says(
        rules: str, path: str, published: str) -> None:
    assert publisher(rules)(path) == published


@pytest.mark.parametrize("rules", [
    "'a/:x.md': 'b/:y.md',",  # a parameter the pattern does not have
    "'a/:x(\\\\d+).md': 'b/:x.md',",  # a custom parameter pattern
    "'docs/:slug(.*)': ':slug',",  # one parameter with a pattern, not `:slug` then `(.*)`
    "'docs/(.*)?': 'x.md',",  # a modifier after an unnamed parameter
    "'a{-:x}?.md': 'b.md',",  # a group
    "'^a/(.*)$': 'b/$1',",  # a regular expression
    "'a.md': base + 'b.md',",  # not a plain string
])
def test_a_rule_beyond_that_syntax_is_not_guessed(rules: str) -> None:
    found, unread = read_rewrites(JsConfig(f"export default {{ rewrites: {{ {rules} }} }}"))
    assert unread and found == []
