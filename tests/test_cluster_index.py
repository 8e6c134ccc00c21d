"""Large runs score each problem against the clusters of its nearest buckets only."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from docloop.models import Problem
from docloop.stages import cluster_index
from docloop.stages.centroids import CentroidRows
from docloop.stages.cluster import Cluster, _Scoring, cluster_problems
from docloop.stages.cluster_index import BucketedCentroids
from docloop.stages.hubness import LocalScaling
from docloop.stages.shared_terms import SharedTerms
from tests.helpers import BASE

GROUPS = 40


def _problems(n: int) -> list[Problem]:
    """Problems whose texts share a group word and, for some, a rare code term."""
    return [Problem(id=f"p{i}", conversation_id=str(i),
                    text=f"topic{i % GROUPS} fails `Widget{i % 7}.run_{i % 13}()` again",
                    timestamp=BASE + timedelta(minutes=i)) for i in range(n)]


def _vectors(n: int, dim: int = 64, noise: float = 0.35, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((GROUPS, dim))
    rows = centres[np.arange(n) % GROUPS] + noise * rng.standard_normal((n, dim)) * 3
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _groups(clusters: list, problems: list[Problem]) -> set[frozenset[str]]:
    return {frozenset(problems[i].id for i in c.members) for c in clusters}


def _bucketed(monkeypatch: pytest.MonkeyPatch, probes: int, bucket: int = 16) -> None:
    monkeypatch.setattr(cluster_index, "EXACT_MAX", 50)
    monkeypatch.setattr(cluster_index, "BUCKET", bucket)
    monkeypatch.setattr(cluster_index, "PROBES", probes)


def _count_candidate_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record each `BucketedCentroids.candidates` call (one per bucketed scoring)."""
    calls: list[int] = []
    original = BucketedCentroids.candidates

    def counted(self: BucketedCentroids, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(self))
        return original(self, vector)

    monkeypatch.setattr(BucketedCentroids, "candidates", counted)
    return calls


def test_bucketed_with_every_bucket_probed_makes_the_exact_decisions(
        monkeypatch: pytest.MonkeyPatch) -> None:
    problems, vectors = _problems(400), _vectors(400)
    exact = cluster_problems(problems, vectors)
    _bucketed(monkeypatch, probes=10_000)
    bucketed = cluster_problems(problems, vectors)
    assert 1 < len(exact) < len(problems)  # the data has groups and the test can tell
    assert _groups(bucketed, problems) == _groups(exact, problems)
    assert [c.id for c in bucketed] == [c.id for c in exact]


def test_bucketed_with_few_probes_still_finds_the_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    problems, vectors = _problems(400), _vectors(400, noise=0.1)
    exact = _groups(cluster_problems(problems, vectors), problems)
    _bucketed(monkeypatch, probes=2)
    assert _groups(cluster_problems(problems, vectors), problems) == exact


def _scoring(problems: list[Problem], vectors: np.ndarray, members: list[list[int]],
             hub_weight: float = 0.5) -> _Scoring:
    scoring = _Scoring(SharedTerms(problems, 0.2), LocalScaling(vectors, hub_weight, 5))
    scoring.index([Cluster(f"c{pos}", vectors[m[0]], list(m)) for pos, m in enumerate(members)])
    return scoring


def test_a_bucketed_best_is_the_true_score_of_a_cluster_and_never_below_the_kept_one() -> None:
    problems, vectors = _problems(300), _vectors(300)
    members = [[i, i + 150] for i in range(150)]
    centroids = np.stack([vectors[m].sum(axis=0) for m in members])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    scoring = _scoring(problems, vectors, members)
    rng = np.random.default_rng(0)
    bucketed = BucketedCentroids(vectors[rng.choice(300, 12, replace=False)], probes=1)
    for row in centroids:
        bucketed.append(row)
    exact = CentroidRows(centroids)
    for problem in range(300):
        scores = centroids @ vectors[problem] + scoring.offset(problem, len(members))
        keep = problem % 150
        best, score = scoring.best(problem, vectors[problem], bucketed, keep=keep)
        assert score == pytest.approx(float(scores[best]), abs=1e-6)  # a real score
        assert score >= float(scores[keep]) - 1e-6  # never worse than where it is
        assert scoring.best(problem, vectors[problem], exact)[0] == int(np.argmax(scores))


def test_a_cluster_sharing_a_rare_term_is_scored_even_in_a_far_bucket() -> None:
    problems = [Problem(id=f"p{i}", conversation_id=str(i), text=text, timestamp=BASE)
                for i, text in enumerate(["call `frobnicate_widget()` here", "plain words",
                                          "more plain words", "`frobnicate_widget()` broke"])]
    vectors = np.eye(4, dtype=np.float32)
    vectors[3] = [0.05, 0.1, 0.0, 0.99]
    vectors[3] /= np.linalg.norm(vectors[3])
    scoring = _scoring(problems, vectors, [[0], [1], [2]], hub_weight=0.0)
    bucketed = BucketedCentroids(vectors[:3], probes=1)
    for row in vectors[:3]:
        bucketed.append(row)
    assert bucketed.candidates(vectors[3])[0].tolist() == [1]  # cluster 0's bucket is not probed
    best, score = scoring.best(3, vectors[3], bucketed)
    assert best == 0  # the shared term's bonus lifts it above cluster 1, and it was scored
    assert score == pytest.approx(float(vectors[3, 0]) + 0.2 * 0.5, abs=1e-6)


def test_a_moved_centroid_changes_bucket_and_the_others_stay_found() -> None:
    centres = np.eye(3, dtype=np.float32)
    bucketed = BucketedCentroids(centres, probes=1)
    for row in np.eye(3, dtype=np.float32)[[0, 0, 1]]:
        bucketed.append(row)
    bucketed[0] = centres[2]  # cluster 0 leaves bucket 0; cluster 1 takes its row
    assert bucketed.candidates(centres[0])[0].tolist() == [1]
    assert bucketed.candidates(centres[2])[0].tolist() == [0]
    assert np.array_equal(bucketed.row(1), centres[0])
    bucketed[1] = centres[0] * 1.0  # same bucket: updated in place
    assert bucketed.candidates(centres[1])[0].tolist() == [2]


def test_the_singleton_pass_bucketed_with_every_bucket_probed_makes_the_exact_moves(
        monkeypatch: pytest.MonkeyPatch) -> None:
    problems, vectors = _problems(400), _vectors(400, noise=0.5)
    exact = cluster_problems(problems, vectors)
    unattached = cluster_problems(problems, vectors, attach_threshold=None)
    _bucketed(monkeypatch, probes=10_000)
    bucketed = cluster_problems(problems, vectors)
    assert _groups(exact, problems) != _groups(unattached, problems)  # the pass moved some
    assert _groups(bucketed, problems) == _groups(exact, problems)
    assert [c.id for c in bucketed] == [c.id for c in exact]


def test_filled_buckets_hold_what_appending_each_row_holds() -> None:
    rng = np.random.default_rng(5)
    rows = rng.standard_normal((300, 24)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    centres = rows[rng.choice(300, 10, replace=False)][:, :16]  # bucketed by a leading part
    appended = BucketedCentroids(centres, probes=3)
    for row in rows:
        appended.append(row)
    filled = BucketedCentroids.filled(centres, list(rows), probes=3)
    assert len(filled) == len(appended) == 300
    for position in range(300):
        assert np.array_equal(filled.row(position), rows[position])
    for query in rows[:50]:
        got, want = filled.candidates(query), appended.candidates(query)
        assert got[0].tolist() == want[0].tolist()
        assert np.allclose(got[1], want[1], atol=1e-6)
    filled[7] = rows[8]  # a filled bucket still takes moves
    assert np.array_equal(filled.row(7), rows[8])


def test_a_large_run_with_fewer_clusters_than_buckets_scores_every_cluster(
        monkeypatch: pytest.MonkeyPatch) -> None:
    problems, vectors = _problems(400), _vectors(400, noise=0.1)
    exact = cluster_problems(problems, vectors)
    _bucketed(monkeypatch, probes=1, bucket=2)  # 200 buckets for about 40 clusters
    calls = _count_candidate_calls(monkeypatch)
    assert _groups(cluster_problems(problems, vectors), problems) == _groups(exact, problems)
    assert len(exact) < 200 and calls == []


def test_a_large_run_switches_to_buckets_once_clusters_outnumber_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    problems, vectors = _problems(400), _vectors(400)
    _bucketed(monkeypatch, probes=10_000)  # 25 buckets
    calls = _count_candidate_calls(monkeypatch)
    clusters = cluster_problems(problems, vectors)
    assert len(clusters) > 25
    assert calls and min(calls) > 25  # only ever with more clusters than buckets
