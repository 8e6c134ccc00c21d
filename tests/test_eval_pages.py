"""`docloop eval` says when labelled pages are not pages of the docs index (and which
`--doc-prefix` would match them) instead of reporting 0 right pages as docloop's misses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.evaluation.labels import LabelledMessage
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
    warning = page_warning(["docs/guide/build.md", "docs/index.md"], 2, INDEXED, tmp_path, "")
    assert warning.startswith("2 of the 2 labelled pages are not pages of the docs index")
    assert "docs/guide/build.md, docs/index.md" in warning
    assert warning.endswith("give --doc-prefix docs/ to match the labels' paths")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "stub.md").write_text("::: pkg.Thing\n", encoding="utf-8")
    excluded = page_warning(["api/stub.md"], 3, INDEXED, tmp_path, "")
    assert "api/stub.md is in the folder but was not indexed" in excluded
    typo = page_warning(["guide/bild.md"], 3, INDEXED, tmp_path, "")
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

