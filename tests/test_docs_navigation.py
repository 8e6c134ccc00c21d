"""Sections that only point elsewhere are never the section a search names or a ticket edits.

On the typescript-eslint docs, "no-floating-promises fire and forget" found the right rule
page at its "Related To" section (a one-line list of links), and "explicit-function-return-
type on arrow callbacks" at "Further Reading": a list of links is little more than the
page's title, so its vector is the page's name. A ticket sent the writer there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.backends.docs_index.navigation import points_only
from docloop.cli import main
from docloop.config import load_settings
from docloop.registry import build_docs_index, open_stores
from tests.docs_helpers import search_json, write_docs


@pytest.mark.parametrize(("heading", "text"), [
    ("Related To", "- [`no-misused-promises`](./no-misused-promises.mdx)"),
    ("Further Reading", '- ["Using Promises" MDN documentation](https://developer.mozilla.org/'
                        "x). Note especially the sections on [events](https://a.b/c)."),
    ("More info", 'For more info about CORS, check the <a href="https://developer.mozilla.org/'
                  'x" class="external-link">Mozilla CORS documentation</a>.'),
    ("Static Asset Handling", "- Related: [Public Base Path](./build#public-base-path)\n"
                              "- Related: [`assetsInclude` config option](/config/x)"),
])
def test_a_section_of_links_only_points(heading: str, text: str) -> None:
    assert points_only(heading, text)


@pytest.mark.parametrize(("heading", "text"), [
    ("WebSockets", "You can use [WebSockets](https://developer.mozilla.org/x) with FastAPI."),
    ("build.commonjsOptions", "- **Type:** [`RollupCommonJSOptions`](https://github.com/x)\n\n"
                              "Options to pass to [@rollup/plugin-commonjs](https://github.com/y)."),
    ("Related To", "```ts\n// see https://typescript-eslint.io/rules/x\nvoid promise;\n```"),
    ("Learn More", "You can combine dataclasses with Pydantic models, inherit from them, nest "
                   "them in other models, validate them strictly, serialize them to JSON and "
                   "read them back; see [the Pydantic docs](https://docs.pydantic.dev/x)."),
    ("Related To", "No links here, only prose about related rules."),
    ("Prerequisites", "- [Node.js](https://nodejs.org) 18 or later\n- [pnpm](https://p) 8"),
    ("Browser support", "- Chrome >=87: https://caniuse.com/x\n- Firefox >=78: https://c/y"),
    ("Resources", "Set resources.limits.cpu in [values.yaml](./values.yaml) to cap the pod."),
])
def test_a_section_that_says_something_of_its_own_is_kept(heading: str, text: str) -> None:
    assert not points_only(heading, text)


RULE = """# no-floating-promises

Require Promise-like statements to be handled appropriately.

A fire-and-forget call leaves its rejection unhandled; mark it with `void` to say so.

## Options

### ignoreVoid

Whether to ignore `void` expressions. Default: true.

## Related To

- [`no-misused-promises`](./no-misused-promises.mdx)

## Further Reading

- ["Using Promises" MDN documentation](https://developer.mozilla.org/en-US/docs/Promises)
"""
LINKS_ONLY = """# no-misused-promises

## Related To

- [`no-floating-promises`](./no-floating-promises.mdx)
"""


def test_search_and_the_match_name_a_section_that_answers(model_runner: CliRunner,
                                                          tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, {"rules/no-floating-promises.md": RULE,
                      "rules/no-misused-promises.md": LINKS_ONLY})
    result = model_runner.invoke(main, ["index-docs", str(docs)])
    assert result.exit_code == 0, result.output
    query = "no-floating-promises no-misused-promises related"
    hits = {h["path"]: h for h in search_json(model_runner, query)}
    assert hits["rules/no-floating-promises.md"]["heading"] not in ("Related To",
                                                                   "Further Reading")
    # a page whose every section only points still shows its best one
    assert hits["rules/no-misused-promises.md"]["heading"] == "Related To"
    settings = load_settings()  # the home and model folder the CLI used
    with open_stores(settings) as stores:
        index = build_docs_index(settings, stores)
        best = index.best_section("rules/no-floating-promises.md", query)
    assert best is not None and best.heading not in ("Related To", "Further Reading")
    shown = hits["rules/no-floating-promises.md"]
    assert shown["heading"] == best.heading
    assert float(shown["keyword"]) == best.keyword  # the shown section's own score


def test_unclosed_links_and_tags_are_read_as_text() -> None:
    """A page of unclosed `[` or `<a` is prose, read in one pass (the first patterns looked
    for each opening's close once per opening: quadratic on a hostile page)."""
    assert not points_only("Related To", "[" * 5000 + " some text")
    assert not points_only("Intro", "<a " * 5000)
    assert points_only("Related To", '<a href="https://x.y">one</a> and <A HREF="z">two</A >')
    assert not points_only("Intro", 'İİİİİİ <a href="x">link</a> explains what the retry '
                                    "budget is, how it resets and which calls spend it")
    assert points_only("Intro", "- [a [nested] label](./a.md)\n- [b](./b.md)")
