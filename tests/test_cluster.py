"""Clustering groups recurring problems and keeps insight identities between runs."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from docloop import db
from docloop.models import Problem
from docloop.stages.cluster import cluster_problems
from docloop.storage.insights import InsightStore
from tests.helpers import BASE


def _problems(n: int, prefix: str = "") -> list[Problem]:
    return [Problem(id=f"p{prefix}{i}", conversation_id=f"{prefix}{i}",
                    text=f"problem topic{prefix}{i}",
                    timestamp=BASE + timedelta(hours=i)) for i in range(n)]


def _vectors(labels: list[int], dim: int = 16, noise: float = 0.15, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.eye(dim, dtype=np.float32)
    rows = np.stack([centres[label] + noise * rng.standard_normal(dim) for label in labels])
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _groups(clusters: list, problems: list[Problem]) -> set[frozenset[str]]:
    return {frozenset(problems[i].id for i in c.members) for c in clusters}


def test_recurring_problems_are_grouped_and_singletons_kept() -> None:
    labels = [0, 1, 0, 2, 1, 0, 3]
    problems = _problems(len(labels))
    clusters = cluster_problems(problems, _vectors(labels))
    assert _groups(clusters, problems) == {
        frozenset({"p0", "p2", "p5"}), frozenset({"p1", "p4"}), frozenset({"p3"}),
        frozenset({"p6"}),
    }


def test_same_data_gives_same_ids() -> None:
    labels = [0, 1, 0, 1, 2]
    problems = _problems(len(labels))
    first = cluster_problems(problems, _vectors(labels))
    second = cluster_problems(problems, _vectors(labels))
    assert [(c.id, c.members) for c in first] == [(c.id, c.members) for c in second]


def test_next_week_merges_into_the_stored_insight() -> None:
    conn = db.memory()
    store = InsightStore(conn)
    week1 = _problems(4, "a")
    week1_vectors = _vectors([0, 1, 0, 1], seed=1)
    first = cluster_problems(week1, week1_vectors)
    store.save((c.id, c.centroid, [(week1[i].id, week1[i].conversation_id) for i in c.members])
               for c in first)
    ids_week1 = {frozenset(week1[i].id for i in c.members): c.id for c in first}

    # week 2 overlaps week 1 (a2, a3 again) and brings new evidence for both problems
    week2 = week1[2:] + _problems(2, "b")
    week2_vectors = np.vstack([week1_vectors[2:], _vectors([0, 1], seed=2)])
    second = cluster_problems(week2, week2_vectors, store.clusters(), store.members())
    by_member = {week2[i].id: c.id for c in second for i in c.members}
    assert by_member["pa2"] == ids_week1[frozenset({"pa0", "pa2"})]
    assert by_member["pb0"] == by_member["pa2"]
    assert by_member["pb1"] == by_member["pa3"] == ids_week1[frozenset({"pa1", "pa3"})]


def test_empty_input() -> None:
    assert cluster_problems([], np.zeros((0, 8), dtype=np.float32)) == []


def _narrow_domain(labels: list[int], shared: float = 2.0, seed: int = 3) -> np.ndarray:
    """Problems of one product: every vector carries the same large 'product' direction."""
    rng = np.random.default_rng(seed)
    dim = 16
    rows = np.stack([shared * np.eye(dim)[0] + np.eye(dim)[1 + label]
                     + 0.1 * rng.standard_normal(dim) for label in labels])
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_centring_keeps_one_products_problems_apart() -> None:
    labels = [i % 4 for i in range(40)]  # a week of one product's chat: 4 problems
    problems = _problems(len(labels))
    vectors = _narrow_domain(labels)
    assert float(vectors[0] @ vectors[1]) > 0.7  # raw cosine says "all the same"
    raw = cluster_problems(problems, vectors, center_shrink=None)
    centred = cluster_problems(problems, vectors)
    assert len(raw) == 1
    assert _groups(centred, problems) == {
        frozenset(f"p{i}" for i in range(40) if i % 4 == label) for label in range(4)}


def test_few_problems_are_barely_centred() -> None:
    """Two problems alone would be pushed apart by their own mean; shrinkage prevents it."""
    problems = _problems(2)
    vectors = _narrow_domain([0, 0])
    assert len(cluster_problems(problems, vectors)) == 1
    assert len(cluster_problems(problems, vectors, center_shrink=0.0)) == 2


def test_centroids_come_back_in_the_embedding_space() -> None:
    labels = [0, 1, 0, 1]
    problems = _problems(len(labels))
    vectors = _narrow_domain(labels)
    for cluster in cluster_problems(problems, vectors):
        mean = vectors[cluster.members].mean(axis=0)
        assert np.allclose(cluster.centroid, mean / np.linalg.norm(mean), atol=1e-5)


def test_body_vectors_decide_the_grouping_and_text_vectors_the_centroid() -> None:
    """Two reports whose prose differs but whose pasted code agrees (their body vectors)
    are one cluster; its centroid stays the mean of the text vectors the match reads."""
    labels = [0, 1, 2, 3]
    problems = _problems(len(labels))
    text = _vectors(labels)
    apart = _groups(cluster_problems(problems, text), problems)
    assert frozenset({"p0", "p1"}) not in apart
    body = _vectors([5, 5], seed=4)
    clusters = cluster_problems(problems, text, body_vectors={0: body[0], 1: body[1]})
    assert frozenset({"p0", "p1"}) in _groups(clusters, problems)
    [joined] = [c for c in clusters if len(c.members) == 2]
    mean = text[[0, 1]].sum(axis=0)
    assert np.allclose(joined.centroid, mean / np.linalg.norm(mean), atol=1e-5)
