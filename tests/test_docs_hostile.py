"""Hostile docs through `docloop index-docs`: a one-line error and exit 2 with nothing
written, or a warning naming the page; never a traceback (issue #11)."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docloop import registry
from docloop.cli import main
from tests.docs_helpers import write_docs

Index = Callable[..., Result]


@pytest.fixture
def index_docs(monkeypatch: pytest.MonkeyPatch) -> Index:
    """`docloop index-docs DOCS` with the instant hashing embedder standing in for MiniLM."""
    monkeypatch.setitem(registry.BACKENDS["embedder"], "local",
                        "tests.docs_helpers:HashingEmbedder")

    def run(docs: Path, home: Path, *args: str) -> Result:
        return CliRunner().invoke(main, ["index-docs", str(docs), *args],
                                  env={"DOCLOOP_HOME": str(home)})

    return run


def _assert_rejected(result: Result, home: Path, *words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(word in lines[0] for word in words), lines[0]
    assert not (home / "docloop.db").exists()  # nothing written


def _stored(home: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "docloop.db") as conn:
        return conn.execute(sql).fetchall()


def test_front_matter_nested_50000_deep_is_rejected(index_docs: Index, tmp_path: Path) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    write_docs(tmp_path / "docs", {"ok.md": "# Fine\n", "deep.md": f"---\nx: {deep}\n---\n# D\n"})
    result = index_docs(tmp_path / "docs", tmp_path / "home")
    _assert_rejected(result, tmp_path / "home", "deep.md", "nested more than")


def test_front_matter_alias_bomb_is_rejected(index_docs: Index, tmp_path: Path) -> None:
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    source = "---\n" + "\n".join(bomb) + "\n---\n# Bomb\n"
    assert len(source) < 1100
    write_docs(tmp_path / "docs", {"bomb.md": source})
    result = index_docs(tmp_path / "docs", tmp_path / "home")
    _assert_rejected(result, tmp_path / "home", "bomb.md", "alias")


def test_oversized_page_is_skipped_with_a_warning(index_docs: Index, tmp_path: Path) -> None:
    huge = "# Huge\n\n" + ("A line of generated text that goes on.\n\n" * 30_000)  # ~1.2 MB
    write_docs(tmp_path / "docs", {"small.md": "# Small\n\nReal text.\n", "gen/huge.md": huge})
    result = index_docs(tmp_path / "docs", tmp_path / "home")  # default cap: 1024 KB
    assert result.exit_code == 0, result.output
    assert "skipped gen/huge.md" in result.stderr and "docs_max_page_kb" in result.stderr
    assert _stored(tmp_path / "home", "SELECT path FROM docs_pages") == [("small.md",)]


def test_chunks_per_page_are_capped_with_a_warning(index_docs: Index, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    page = "".join(f"## Part {i}\n\nText of part {i}.\n\n" for i in range(10))
    write_docs(tmp_path / "docs", {"long.md": page, "short.md": "# Short\n\nText.\n"})
    monkeypatch.setenv("DOCLOOP_DOCS_MAX_CHUNKS_PER_PAGE", "3")
    result = index_docs(tmp_path / "docs", tmp_path / "home")
    assert result.exit_code == 0, result.output
    assert "long.md: indexed its first 3 of 10 chunks" in result.stderr
    counts = _stored(tmp_path / "home",
                     "SELECT path, count(*) FROM docs_chunks GROUP BY path ORDER BY path")
    assert counts == [("long.md", 3), ("short.md", 1)]
    again = index_docs(tmp_path / "docs", tmp_path / "home")
    assert "0 embedded" in again.stderr  # the cap keeps re-indexing incremental


def test_unknown_generator_is_a_usage_error(index_docs: Index, tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", {"a.md": "# A\n"})
    result = index_docs(tmp_path / "docs", tmp_path / "home", "--generator", "jekyll")
    assert result.exit_code == 2 and not (tmp_path / "home" / "docloop.db").exists()


FRAGMENTS = [
    "# Title", "## Sub {#custom}", "Setext", "=====", "-----", "```", "~~~~", "    # code",
    "\t# tabbed", "<!--", "-->", "<!-- ## hidden -->", "<script setup>", "</script>",
    "import X from 'x';", "export const y = {", "}", "{/* ## c */}", "{/*", "*/}", ":::note",
    ":::", "::: tip Title", "!!! warning \"W\"", "??? note", "=== \"Tab\"", "/// tip | T",
    "///", "--8<-- \"a.md\"", "--8<--", "{! x.md !}", "<Tabs>", "</Tabs>", "<TabItem>",
    "[](){#auto}", "<a id=\"x\"></a>", "* item", "1. one", "> quote", ">>>>>>> deep",
    "| a | b |", "|---|---|", "text with `code` and *em*", "", "", "\u2028", "\x0c", "\r",
    "\x00", "ünïcödé ✓ 中文", "## 1. Numbered", "##", "#" * 7 + " seven",
]
FRONT_MATTER = st.one_of(
    st.just(""),
    st.dictionaries(st.sampled_from(["title", "slug", "id", "tags", "x"]),
                    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                                 lambda inner: st.lists(inner, max_size=3)
                                 | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                                 max_leaves=8), max_size=4).map(
        lambda d: "---\n" + "\n".join(f"{k}: {v!r}" for k, v in d.items()) + "\n---\n"),
    st.text(alphabet="-:&*![]{}#'\" \nab|>", max_size=40).map(lambda t: f"---\n{t}\n---\n"),
)
PAGE = st.tuples(FRONT_MATTER, st.lists(
    st.tuples(st.sampled_from(["", "  ", "    ", "\t"]), st.sampled_from(FRAGMENTS)),
    max_size=30)).map(lambda fm_lines: fm_lines[0] + "\n".join(i + f for i, f in fm_lines[1]))


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pages=st.lists(PAGE, min_size=1, max_size=3), suffix=st.sampled_from([".md", ".mdx"]))
def test_fuzzed_pages_never_crash_or_half_write(index_docs: Index, pages: list[str],
                                                suffix: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        docs, home = Path(scratch) / "docs", Path(scratch) / "home"
        write_docs(docs, {f"p{i}{suffix}": text for i, text in enumerate(pages)})
        result = index_docs(docs, home)
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.exception
        if result.exit_code == 2:
            _assert_rejected(result, home)
            return
        assert result.exit_code == 0, result.output
        assert _stored(home, "SELECT count(*) FROM docs_pages") == [(len(pages),)]
        spans = _stored(home, "SELECT p.source, c.start_line, c.end_line FROM docs_chunks c "
                              "JOIN docs_pages p USING (path)")
        for source, start, end in spans:
            assert 1 <= int(str(start)) <= int(str(end)) <= len(str(source).splitlines())
