"""Singletons the refinement cannot move join their best other cluster (stages/fragments.py)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from docloop.models import Problem
from docloop.stages.centroids import CentroidRows
from docloop.stages.cluster import Cluster, _Scoring, cluster_problems
from docloop.stages.cluster_index import BucketedCentroids, Centroids
from docloop.stages.fragments import attach_singletons
from docloop.stages.hubness import LocalScaling
from docloop.stages.shared_terms import SharedTerms
from tests.helpers import BASE


def _problems(n: int) -> list[Problem]:
    return [Problem(id=f"p{i}", conversation_id=f"c{i}", text=f"problem {i}",
                    timestamp=BASE + timedelta(hours=i)) for i in range(n)]


def _unit_rows(rows: list[list[float]]) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _stranded() -> np.ndarray:
    """p0 first; p1 and p2 at 0.45 from it and 0.55 from each other: their centroid is
    0.51 from p0, above a 0.5 threshold no single member reached when p0 was alone."""
    x1 = float(np.sqrt(1 - 0.45**2))
    a = (0.55 - 0.45**2) / x1
    b = float(np.sqrt(x1**2 - a**2))
    return _unit_rows([[1, 0, 0], [0.45, x1, 0], [0.45, a, b]])


def _plain(problems: list[Problem], vectors: np.ndarray,
           attach: float | None) -> set[frozenset[str]]:
    """Plain cosines (no centring, words, bonus or local scaling), join threshold 0.5."""
    clusters = cluster_problems(problems, vectors, threshold=0.5, center_shrink=None,
                                lexical_weight=0.0, shared_weight=0.0, hub_weight=0.0,
                                attach_threshold=attach)
    return {frozenset(problems[i].id for i in c.members) for c in clusters}


def test_a_stranded_singleton_joins_the_cluster_formed_after_it() -> None:
    problems = _problems(3)
    assert _plain(problems, _stranded(), None) == {frozenset({"p0"}), frozenset({"p1", "p2"})}
    assert _plain(problems, _stranded(), 0.5) == {frozenset({"p0", "p1", "p2"})}


def test_a_singleton_below_the_attach_threshold_stays() -> None:
    problems = _problems(3)
    assert _plain(problems, _stranded(), 0.6) == {frozenset({"p0"}), frozenset({"p1", "p2"})}


def _scoring(problems: list[Problem], vectors: np.ndarray) -> _Scoring:
    return _Scoring(SharedTerms(problems, 0.0), LocalScaling(vectors, 0.0, 5))


def test_stored_singletons_and_joined_singletons_do_not_move() -> None:
    vectors = _unit_rows([[1, 0, 0], [0.9, 0.1, 0], [0.95, 0.05, 0]])
    problems = _problems(3)
    clusters = [Cluster("stored", vectors[0], [0], stored=True),
                Cluster("a", vectors[1], [1]), Cluster("b", vectors[2], [2])]
    score = _scoring(problems, vectors)
    score.index(clusters)
    moved = attach_singletons(list(clusters), CentroidRows(vectors), vectors, score, 0.5)
    # "a" joins the best live cluster other than itself; "b" then holds two and stays
    assert moved == 1
    assert [c.members for c in clusters] == [[0], [], [2, 1]]


def test_no_cluster_is_close_enough_nothing_moves() -> None:
    vectors = _unit_rows([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    problems = _problems(3)
    clusters = [Cluster(f"c{i}", vectors[i], [i]) for i in range(3)]
    score = _scoring(problems, vectors)
    score.index(clusters)
    assert attach_singletons(list(clusters), CentroidRows(vectors), vectors, score, 0.3) == 0
    assert [c.members for c in clusters] == [[0], [1], [2]]


class _Counting:
    """The clustering score, recording how many clusters each singleton is scored against."""

    def __init__(self, score: _Scoring) -> None:
        self.score = score
        self.scored_counts: list[int] = []

    def add(self, position: int, member: int) -> None:
        self.score.add(position, member)

    def scored(self, problem: int, vector: np.ndarray,
               centroids: Centroids) -> tuple[np.ndarray, np.ndarray]:
        positions, scores = self.score.scored(problem, vector, centroids)
        self.scored_counts.append(len(positions))
        return positions, scores


def _far_pair(texts: list[str]) -> tuple[list[Cluster], np.ndarray, np.ndarray, _Counting]:
    """p0 alone near centre 0; p1 and p2 in a cluster whose centroid (0.6 from p0, above
    the 0.5 threshold) lies in centre 2's bucket; p3 alone near centre 1."""
    vectors = _unit_rows([[1, 0, 0], [0.6, 0, 0.8], [0.6, 0, 0.8], [0, 1, 0]])
    problems = [Problem(id=f"p{i}", conversation_id=f"c{i}", text=text,
                        timestamp=BASE + timedelta(hours=i)) for i, text in enumerate(texts)]
    clusters = [Cluster("a", vectors[0], [0]), Cluster("b", vectors[1], [1, 2]),
                Cluster("c", vectors[3], [3])]
    score = _Scoring(SharedTerms(problems, 0.2), LocalScaling(vectors, 0.0, 5))
    score.index(clusters)
    centroids = np.stack([vectors[0], vectors[1], vectors[3]])
    return clusters, vectors, centroids, _Counting(score)


def test_bucketed_the_pass_scores_only_the_candidates_and_skips_its_own_cluster() -> None:
    plain = ["plain words", "other words", "more words", "unrelated words"]
    clusters, vectors, centroids, score = _far_pair(plain)
    assert attach_singletons(list(clusters), CentroidRows(centroids), vectors, score, 0.5) == 1
    assert [c.members for c in clusters] == [[], [1, 2, 0], [3]]  # exact: every cluster
    assert score.scored_counts == [3, 3]

    clusters, vectors, centroids, score = _far_pair(plain)
    bucketed = BucketedCentroids.filled(np.eye(3, dtype=np.float32), list(centroids), probes=1)
    assert attach_singletons(list(clusters), bucketed, vectors, score, 0.5) == 0
    assert [c.members for c in clusters] == [[0], [1, 2], [3]]
    assert score.scored_counts == [1, 1]  # each singleton saw its own bucket only


def test_bucketed_a_cluster_sharing_a_rare_term_is_scored_even_in_a_far_bucket() -> None:
    texts = ["`frobnicate_widget()` fails", "calling `frobnicate_widget()`", "more words",
             "unrelated words"]
    clusters, vectors, centroids, score = _far_pair(texts)
    bucketed = BucketedCentroids.filled(np.eye(3, dtype=np.float32), list(centroids), probes=1)
    assert attach_singletons(list(clusters), bucketed, vectors, score, 0.5) == 1
    assert [c.members for c in clusters] == [[], [1, 2, 0], [3]]
    assert score.scored_counts == [2, 1]
