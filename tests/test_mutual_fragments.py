"""A small cluster joins its mutually nearest group when the pair stands out in the run
(stages/mutual_fragments.py)."""

from __future__ import annotations

import numpy as np
import pytest

from docloop.stages.centroids import CentroidRows
from docloop.stages.cluster import Cluster, cluster_problems
from docloop.stages.cluster_index import BucketedCentroids
from docloop.stages.mutual_fragments import join_mutual_fragments, nearest_clusters
from tests.test_cluster_index import _bucketed, _groups, _problems, _vectors


def _rows(*rows: list[float]) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _clusters(sizes: list[int], stored: tuple[int, ...] = ()) -> list[Cluster]:
    """Clusters of the given sizes with consecutive member numbers."""
    out, start = [], 0
    for position, size in enumerate(sizes):
        out.append(Cluster(f"c{position}", np.zeros(1, dtype=np.float32),
                           list(range(start, start + size)), stored=position in stored))
        start += size
    return out


#: a and b at 0.8 (a split group), c and d at 0.6 (two problems a reader files apart)
SPLIT_AND_NEAR = _rows([1, 0, 0, 0], [0.8, 0.6, 0, 0], [0, 0, 1, 0], [0, 0, 0.6, 0.8])


def _join(sizes: list[int], rows: np.ndarray = SPLIT_AND_NEAR, quantile: float = 0.75,
          max_size: int = 2, stored: tuple[int, ...] = (),
          density: np.ndarray | None = None) -> list[list[int]]:
    clusters = _clusters(sizes, stored)
    sides = np.zeros(len(sizes), dtype=np.float32) if density is None else density
    join_mutual_fragments(clusters, CentroidRows(rows), sides, quantile, max_size)
    return [c.members for c in clusters]


def test_a_split_pair_standing_out_in_the_run_joins_and_a_nearer_than_usual_one_does_not() -> None:
    # nearest scores 0.8, 0.8, 0.6, 0.6: the 0.75 quantile is 0.8, so only a+b reach it
    assert _join([2, 2, 2, 2]) == [[0, 1, 2, 3], [], [4, 5], [6, 7]]


def test_the_bar_is_the_runs_own_not_a_fixed_cosine() -> None:
    # the same two pairs, every similarity lower: a+b still stands out and joins
    lower = _rows([1, 0, 0, 0], [0.5, 0.87, 0, 0], [0, 0, 1, 0], [0, 0, 0.3, 0.95])
    assert _join([2, 2, 2, 2], rows=lower) == [[0, 1, 2, 3], [], [4, 5], [6, 7]]


def test_two_groups_larger_than_a_fragment_stay_apart() -> None:
    assert _join([3, 3, 2, 2], max_size=2) == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]


def test_two_lone_problems_never_found_a_group() -> None:
    assert _join([1, 1, 2, 2]) == [[0], [1], [2, 3], [4, 5]]


def test_a_fragment_whose_nearest_prefers_another_cluster_stays() -> None:
    # b's nearest is a (0.8) but a's nearest is c (0.9): not mutual, b stays
    rows = _rows([1, 0, 0], [0.8, 0.6, 0], [0.9, 0, 0.44])
    assert _join([2, 2, 2], rows=rows, quantile=0.0) == [[0, 1, 4, 5], [2, 3], []]


def test_a_crowded_cluster_is_held_back_by_local_scaling() -> None:
    # a and b at 0.8, but a hub's density lowers every score of b below the other pair's
    rows = _rows([1, 0, 0, 0], [0.8, 0.6, 0, 0], [0, 0, 1, 0], [0, 0, 0.7, 0.71])
    density = np.array([0.0, 0.4, 0.0, 0.0], dtype=np.float32)
    assert _join([2, 2, 2, 2], rows=rows, density=density) == [[0, 1], [2, 3], [4, 5, 6, 7],
                                                               []]


def test_only_a_new_cluster_moves() -> None:
    assert _join([2, 2, 2, 2], stored=(0,)) == [[0, 1, 2, 3], [], [4, 5], [6, 7]]
    assert _join([2, 2, 2, 2], stored=(1,)) == [[], [2, 3, 0, 1], [4, 5], [6, 7]]
    assert _join([2, 2, 2, 2], stored=(0, 1)) == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_bucketed_nearest_with_every_bucket_probed_is_the_exact_nearest() -> None:
    rng = np.random.default_rng(7)
    rows = rng.standard_normal((60, 8)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    density = rng.uniform(-0.1, 0.1, 60).astype(np.float32)
    alive = np.ones(60, dtype=bool)
    alive[[3, 17]] = False
    exact = nearest_clusters(CentroidRows(rows), density, alive)
    bucketed = nearest_clusters(BucketedCentroids.filled(rows[:6], list(rows), probes=6),
                                density, alive)
    assert exact[0].tolist() == bucketed[0].tolist()
    assert np.allclose(exact[1], bucketed[1], atol=1e-5)
    assert exact[0][3] == -1 and 3 not in exact[0].tolist()


def test_through_the_cluster_stage_bucketed_or_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    problems, vectors = _problems(400), _vectors(400, noise=0.5)
    off = cluster_problems(problems, vectors)
    exact = cluster_problems(problems, vectors, fragment_quantile=0.5, fragment_size=2)
    assert _groups(exact, problems) != _groups(off, problems)  # the pass joined some
    assert len(exact) < len(off)
    _bucketed(monkeypatch, probes=10_000)
    bucketed = cluster_problems(problems, vectors, fragment_quantile=0.5, fragment_size=2)
    assert _groups(bucketed, problems) == _groups(exact, problems)
