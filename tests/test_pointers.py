"""The `pointed` re-ranking feature: the docs' own links from a strong passage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from docloop import db
from docloop.backends.docs_index.pointers import (
    LinkTable,
    linked_pages,
    page_keys,
    pointed_scores,
    resolve,
)
from docloop.backends.docs_index.rerank import FEATURES, RankSettings
from docloop.backends.docs_index.sqlite import SQLiteDocsIndex
from docloop.docs.loader import load_pages
from tests.docs_helpers import HashingEmbedder, write_docs

PATHS = ["guide/troubleshooting.md", "config/server-options.md", "guide/index.md",
         "concepts/models.md", "concepts/fields.mdx"]
PAGES = page_keys(PATHS)


@pytest.mark.parametrize(("target", "from_path", "expected"), [
    ("/config/server-options.md#server-watch", "guide/troubleshooting.md",
     "config/server-options.md"),
    ("/config/server-options.html#server-host", "guide/index.md", "config/server-options.md"),
    ("/config/server-options#server-host", "guide/index.md", "config/server-options.md"),
    ("../config/server-options.md", "guide/troubleshooting.md", "config/server-options.md"),
    ("./troubleshooting", "guide/index.md", "guide/troubleshooting.md"),
    ("/guide/", "concepts/models.md", "guide/index.md"),
    ("fields.mdx#aliases", "concepts/models.md", "concepts/fields.mdx"),
    ("https://vite.dev/config/server-options", "guide/index.md", None),
    ("#on-this-page", "guide/index.md", None),
    ("../../outside.md", "guide/index.md", None),
    ("/images/logo.png", "guide/index.md", None),
])
def test_links_resolve_as_the_docs_site_resolves_them(target: str, from_path: str,
                                                      expected: str | None) -> None:
    assert resolve(target, from_path, PAGES) == expected


def test_a_passage_names_each_linked_page_once_and_never_itself() -> None:
    text = ("Vite cannot watch file changes on WSL2. See [`server.watch`]"
            "(/config/server-options.md#server-watch) and [again](../config/server-options) "
            "or [this page](#below) or [the guide](./troubleshooting.md).")
    assert linked_pages(text, "guide/troubleshooting.md", PAGES) == (
        "config/server-options.md",)


def test_a_page_earns_the_share_of_the_strongest_candidate_linking_to_it() -> None:
    table = LinkTable({"trouble#1": ("config/server-options.md",),
                       "assets#1": ("config/server-options.md", "guide/troubleshooting.md")})
    paths = ["guide/troubleshooting.md", "config/server-options.md", "guide/assets.md"]
    scores = pointed_scores(paths, ["trouble#1", "options#3", "assets#1"], [0.8, 0.6, 0.2],
                            table)
    assert scores.tolist() == pytest.approx([0.25, 1.0, 0.0])
    assert not pointed_scores(paths, ["a", "b", "c"], [0.8, 0.6, 0.2], table).any()


DOCS = {
    "guide/troubleshooting.md": (
        "# Troubleshooting\n\n## Vite does not detect a file change\n\nIf you run Vite on "
        "WSL2 or in Docker, file watching fails. See [`server.watch`]"
        "(/config/server-options.md#server-watch).\n\n## Slow builds\n\nBuild speed.\n"),
    "config/server-options.md": (
        "# Server Options\n\n## server.host\n\nThe IP addresses the server listens on.\n\n"
        "## server.watch\n\nFile system watcher options passed to chokidar.\n"),
    "guide/assets.md": "# Static assets\n\nImport images and fonts from `src/`.\n",
}
QUESTION = "HMR does not detect a file change in Docker on WSL2"


def test_candidates_carry_the_pointed_feature_through_the_index(tmp_path: Path) -> None:
    index = SQLiteDocsIndex(db.memory(), HashingEmbedder(), rank=RankSettings(pointed=1.0))
    write_docs(tmp_path, DOCS)
    index.sync(load_pages(tmp_path, "https://d.dev"))
    vector = index.embedder.embed([QUESTION])[0]
    pool = index.candidates(QUESTION, vector, 3, frozenset({"pointed"}))
    pointed = dict(zip(pool.paths, pool.features[:, FEATURES.index("pointed")], strict=True))
    assert pool.paths[0] == "guide/troubleshooting.md"  # the passage closest to the question
    assert pointed["config/server-options.md"] == pytest.approx(1.0)  # ... says go there
    assert pointed["guide/troubleshooting.md"] == 0.0
    unweighed = index.candidates(QUESTION, vector, 3, frozenset())
    assert not np.any(unweighed.features[:, FEATURES.index("pointed")])
