"""`docloop eval` says when labelled pages are not pages of the docs index (and which
`--doc-prefix` would match them) instead of reporting 0 right pages as docloop's misses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.evaluation.labels import LabelledMessage, read_labels
from docloop.evaluation.pages import page_warning, suggested_prefix, unindexed_pages
from tests.docs_helpers import write_docs
from tests.test_eval_cli import DOCS, labels_lines, write_labels

INDEXED = {"guide/build.md", "config/server-options.md", "index.md"}


def message(page: str | None, group: str | None = "g") -> LabelledMessage:
    return LabelledMessage("m1", "u1", "text", group, page)


def test_unindexed_pages_are_the_labelled_pages_the_index_lacks() -> None:
    messages = [message("guide/build.md"), message("docs/index.md"), message(None),
                message("docs/index.md"), message(None, None)]
    assert unindexed_pages(messages, INDEXED) == ["docs/index.md"]


@pytest.mark.parametrize(("pages", "expected"), [
    (["docs/guide/build.md", "docs/index.md"], "docs/"),
    (["docs/en/docs/guide/build.md", "docs/en/docs/config/server-options.md"], "docs/en/docs/"),
    (["guide/bild.md"], None),
])
def test_the_suggested_prefix_is_the_one_that_matches_the_most_pages(
        pages: list[str], expected: str | None) -> None:
    assert suggested_prefix(pages, INDEXED) == expected


def test_the_warning_names_the_pages_and_what_to_do(tmp_path: Path) -> None:
    warning = page_warning(["docs/guide/build.md", "docs/index.md"], 2, INDEXED, tmp_path, ())
    assert warning.startswith("2 of the 2 labelled pages are not pages of the docs index")
    assert "docs/guide/build.md, docs/index.md" in warning
    assert warning.endswith("give --doc-prefix docs/ to match the labels' paths")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "stub.md").write_text("::: pkg.Thing\n", encoding="utf-8")
    excluded = page_warning(["api/stub.md"], 3, INDEXED, tmp_path, ())
    assert "api/stub.md is in the folder but was not indexed" in excluded
    typo = page_warning(["guide/bild.md"], 3, INDEXED, tmp_path, ())
    assert typo.endswith("check the labels' doc_path against the docs folder")


@pytest.mark.usefixtures("minilm")
def test_eval_without_the_doc_prefix_warns_and_still_measures(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", DOCS)
    labels = write_labels(tmp_path / "labels.jsonl", labels_lines())
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--json"])  # the labels say docs/guide/…
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["right_page"] == 0
    assert len(data["warnings"]) == 1
    assert "give --doc-prefix docs/" in data["warnings"][0]
    assert "give --doc-prefix docs/" in result.stderr
    right = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                      "--doc-prefix", "docs/", "--json"])
    assert json.loads(right.stdout)["warnings"] == []



def test_several_prefixes_each_remove_their_root_the_longest_first(tmp_path: Path) -> None:
    labels = write_labels(tmp_path / "l.jsonl", [
        {"id": "1", "author": "a", "text": "t", "group": "g1",
         "doc_path": "packages/eslint-plugin/docs/rules/no-shadow.mdx"},
        {"id": "2", "author": "b", "text": "t", "group": "g2",
         "doc_path": "docs/troubleshooting/faqs/ESLint.mdx"},
        {"id": "3", "author": "c", "text": "t", "group": "g3", "doc_path": "docs/en/docs/a.md"},
        {"id": "4", "author": "d", "text": "t", "group": "g4", "doc_path": "other/b.md"}])
    read = read_labels(labels, ("docs/", "packages/eslint-plugin/docs/", "docs/en/docs/"))
    assert [m.page for m in read] == ["rules/no-shadow.mdx", "troubleshooting/faqs/ESLint.mdx",
                                      "a.md", "other/b.md"]
    assert read[0].written_page == "packages/eslint-plugin/docs/rules/no-shadow.mdx"


@pytest.mark.usefixtures("minilm")
def test_docs_with_two_roots_get_the_second_prefix_suggested_as_the_labels_spell_it(
        tmp_path: Path) -> None:
    """typescript-eslint's docs come from `docs/` and `packages/eslint-plugin/docs/`; with
    `--doc-prefix docs/` the warning suggested `docs/packages/eslint-plugin/docs/`, a prefix
    no label has."""
    write_docs(tmp_path / "site", {
        "troubleshooting/faqs/ESLint.md": "# ESLint\n\nDisable the base no-unused-vars rule "
                                          "and enable the typescript-eslint one.\n",
        "rules/no-shadow.md": "# no-shadow\n\nDisallow variable declarations from shadowing "
                              "variables declared in the outer scope.\n"})
    lines = []
    for n, (page, text) in enumerate([
            ("docs/troubleshooting/faqs/ESLint.md", "base no-unused-vars rule reports types"),
            ("docs/troubleshooting/faqs/ESLint.md", "no-unused-vars false positive on types"),
            ("packages/eslint-plugin/docs/rules/no-shadow.md", "no-shadow flags my enum"),
            ("packages/eslint-plugin/docs/rules/no-shadow.md", "shadowing error on enum")]):
        lines.append({"id": str(n), "author": f"u{n}", "text": text,
                      "group": page.rsplit("/", 1)[1], "doc_path": page})
    labels = write_labels(tmp_path / "l.jsonl", lines)
    args = ["eval", str(labels), "--docs", str(tmp_path / "site"), "--json",
            "--doc-prefix", "docs/"]
    one = CliRunner().invoke(main, args)
    assert one.exit_code == 0, one.output
    warning = json.loads(one.stdout)["warnings"][0]
    assert "1 of the 2 labelled pages are not pages" in warning
    assert warning.endswith("add --doc-prefix packages/eslint-plugin/docs/ to match the "
                            "labels' paths")
    both = CliRunner().invoke(main, [*args, "--doc-prefix", "packages/eslint-plugin/docs/"])
    assert both.exit_code == 0, both.output
    assert json.loads(both.stdout)["warnings"] == []
