"""Late interaction (a page scored on each part of the query), docs links, and computing
only the features the ranking weighs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from docloop import db
from docloop.backends.docs_index.late import part_features
from docloop.backends.docs_index.rerank import (
    FEATURES,
    HYBRID_ORDER,
    RankSettings,
    link_match,
    linked_paths,
)
from docloop.backends.docs_index.sqlite import SQLiteDocsIndex
from docloop.docs.loader import load_pages
from docloop.docs.query import MAX_PARTS, query_parts
from tests.docs_helpers import HashingEmbedder, write_docs

#: a catch-all page holding one passage on everything, and two pages that each answer one
#: of the question's two parts in depth
DOCS = {
    "migration.md": (
        "# Migration\n\nSerializers, validators, settings and config: field serializer, model "
        "validator, env settings, json encoders all changed in the new version.\n"),
    "concepts/serialization.md": (
        "# Serialization\n\n## Custom serializers\n\nA field serializer controls how a "
        "decimal field is dumped to json as a string.\n"),
    "concepts/settings.md": (
        "# Settings\n\n## Environment variables\n\nSettings read env variables with a prefix "
        "and a nested delimiter.\n"),
}
QUESTION = ("How do I dump a decimal field to json as a string with a field serializer?\n"
            "Also settings ignore my env variables prefix.")


def _index(root: Path, rank: RankSettings | None = None,
           embedder: HashingEmbedder | None = None) -> SQLiteDocsIndex:
    index = SQLiteDocsIndex(db.memory(), embedder or HashingEmbedder(), rank=rank)
    write_docs(root, DOCS)
    index.sync(load_pages(root, "https://d.dev"))
    return index


def test_query_parts_are_the_sentences_and_lines_with_content() -> None:
    text = ("Hi!\nTraceback (most recent call last):\n  File \"/app/x.py\", line 3, in f\n"
            "ValueError: decimal field cannot be serialized. How do I set a field serializer?\n"
            "thanks")
    assert query_parts(text) == ["ValueError: decimal field cannot be serialized.",
                                 "How do I set a field serializer?"]
    many = "\n".join(f"line {i} about field serializer number {i}" for i in range(40))
    spread = query_parts(many)
    assert len(spread) == MAX_PARTS and spread[0].startswith("line 0 ")
    assert spread[-1] != f"line {MAX_PARTS - 1} about field serializer number {MAX_PARTS - 1}"


def test_part_features_reward_the_page_closest_to_each_part() -> None:
    parts = np.eye(3)[:2]  # two parts: the first and second axis
    page_a = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.0]])  # close to the first part
    page_b = np.array([[0.5, 0.8, 0.0]])  # closest to the second
    found, agree = part_features(parts, [page_a, page_b, np.zeros((0, 3))])
    assert found.tolist() == pytest.approx([(0.9 + 0.3) / 2, (0.5 + 0.8) / 2, 0.0])
    assert agree.tolist() == pytest.approx([0.5, 0.5, 0.0])
    empty = part_features(np.zeros((0, 3)), [page_a, page_b])
    assert [v.tolist() for v in empty] == [[0.0, 0.0], [0.0, 0.0]]


def test_candidates_carry_late_interaction_features(tmp_path: Path) -> None:
    index = _index(tmp_path)
    vectors, parts = index.embed_queries([QUESTION])
    assert parts[0] is not None and len(parts[0]) == 2
    pool = index.candidates(QUESTION, vectors[0], 3, parts=parts[0])
    rows = {p: dict(zip(FEATURES, pool.features[i].tolist(), strict=True))
            for i, p in enumerate(pool.paths)}
    agree = [rows[p]["agree"] for p in pool.paths]
    assert sum(agree) == pytest.approx(1.0)  # each part has one closest page
    assert rows["concepts/serialization.md"]["agree"] == pytest.approx(0.5)
    assert rows["concepts/settings.md"]["agree"] == pytest.approx(0.5)
    assert rows["migration.md"]["agree"] == 0.0
    assert all(0.0 < rows[p]["parts"] <= 1.0 for p in pool.paths)


def test_only_weighted_features_are_computed(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    index = _index(tmp_path, embedder=embedder)
    vectors, parts = index.embed_queries([QUESTION], HYBRID_ORDER.active())
    assert parts == [None]  # nothing weighs late interaction: no part is embedded
    pool = index.candidates(QUESTION, vectors[0], 3, HYBRID_ORDER.active(), parts[0])
    weighed_off = [FEATURES.index(f) for f in ("names", "bm25", "words", "parts", "agree")]
    assert not pool.features[:, weighed_off].any()
    assert pool.features[:, FEATURES.index("fused")].all()  # the index's scores are kept
    assert embedder.calls[-1] == [QUESTION.replace("\n", " ")]


def test_a_ranking_that_weighs_parts_embeds_them_in_the_same_batch(tmp_path: Path) -> None:
    rank = replace(HYBRID_ORDER, parts=1.0)
    embedder = HashingEmbedder()
    index = _index(tmp_path, rank, embedder)
    before = len(embedder.calls)
    hits = index.search_many([QUESTION, "settings env variables prefix nested"], 3)
    assert len(embedder.calls) == before + 1  # queries and their parts: one batch
    assert len(embedder.calls[-1]) == 2 + 2 + 1
    assert len(hits) == 2 and len(hits[0]) == 3
    assert index.search_ranked(QUESTION, 2, rank)[0].path == hits[0][0].path


def test_a_linked_docs_url_names_its_page() -> None:
    links = linked_paths("see https://docs.pydantic.dev/2.11/concepts/models/#generic-models "
                         "and (https://vitejs.dev/guide/troubleshooting.html#vite-cjs)")
    assert links == (("2.11", "concepts", "models"), ("guide", "troubleshooting"))
    assert link_match(links, "concepts/models.md") == 1.0
    assert link_match(links, "guide/troubleshooting.md") == 1.0
    assert link_match(links, "api/models.md") == 0.5  # the file name only
    assert link_match(links, "concepts/fields.md") == 0.0
    assert link_match(linked_paths("https://vite.dev/guide/"), "guide/index.md") == 1.0
    assert link_match((), "guide/index.md") == 0.0
