"""The clustering space at scale: sparse TF-IDF rows, the joint space written on demand,
approximate neighbours and blocked member sums, each equal to its dense, exact form."""

from __future__ import annotations

import math
import zlib
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest

from docloop.models import Problem
from docloop.stages import hubness, lexical, neighbours
from docloop.stages.centroids import member_sum
from docloop.stages.hubness import neighbourhood_density
from docloop.stages.lexical import JointSpace, SparseRows, joint_space, lexical_rows
from tests.helpers import BASE

WORDS = ("pyinstaller frozen import module validator field value trailing slash proxy "
         "allowedHosts config reload websocket cache token timeout retry schema alias").split()


def _problems(n: int, seed: int = 0) -> list[Problem]:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(0, 9)))) for _ in range(n)]
    return [Problem(id=f"p{i}", conversation_id=str(i), text=text or "hello",
                    timestamp=BASE + timedelta(minutes=i)) for i, text in enumerate(texts)]


def _dense_reference(problems: list[Problem], dims: int) -> np.ndarray:
    """The dense TF-IDF matrix as lexical.py built it before it was kept sparse."""
    df: Counter[str] = Counter()
    for problem in problems:
        df.update(lexical._terms(problem))
    out = np.zeros((len(problems), dims), dtype=np.float32)
    for row, problem in enumerate(problems):
        for term in lexical._terms(problem):
            out[row, zlib.crc32(term.encode()) % dims] += math.log((len(problems) + 1) / df[term])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.where(norms > 0, norms, 1.0)
    return out


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((6, dim))
    rows = centres[rng.integers(0, 6, n)] + 0.4 * rng.standard_normal((n, dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_sparse_tfidf_rows_hold_exactly_the_dense_matrix_across_fill_blocks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    problems = _problems(50)
    monkeypatch.setattr(lexical, "FILL_BLOCK", 7)
    rows = lexical_rows(problems, dims=64)
    assert len(rows) == 50 and rows.values.dtype == np.float32
    np.testing.assert_array_equal(rows.dense(), _dense_reference(problems, 64))
    assert len(rows.values) == np.count_nonzero(rows.dense())  # only the non-zero cells
    empty = SparseRows.stacked([], 8)
    assert len(empty) == 0 and empty.dense().shape == (0, 8)


def test_joint_space_rows_equal_the_dense_joint_matrix_however_they_are_asked_for() -> None:
    problems = _problems(30, seed=1)
    embedded = _unit_rows(30, 12, seed=2)
    expected = joint_space(embedded.copy(), _dense_reference(problems, 64), 0.3)
    space = JointSpace(embedded.copy(), lexical_rows(problems, dims=64), 0.3)
    assert space.shape == expected.shape == (30, 76) and len(space) == 30
    np.testing.assert_array_equal(space.dense(), expected)
    np.testing.assert_array_equal(space[7], expected[7])
    np.testing.assert_array_equal(space[3:11], expected[3:11])
    np.testing.assert_array_equal(space[[29, 0, 5, 5]], expected[[29, 0, 5, 5]])
    plain = JointSpace(embedded.copy(), None, 0.3)  # no lexical half: the embedding itself
    assert plain.shape == (30, 12)
    np.testing.assert_array_equal(plain.dense(), embedded)


def test_blocked_member_sums_equal_one_sum_bit_for_bit() -> None:
    vectors = np.random.default_rng(4).standard_normal((500, 16)).astype(np.float32)
    members = list(np.random.default_rng(5).permutation(500)[:333])
    np.testing.assert_array_equal(member_sum(vectors, members, block=10),
                                  vectors[members].sum(axis=0))
    np.testing.assert_array_equal(member_sum(vectors, members[:4], block=10),
                                  vectors[members[:4]].sum(axis=0))


def test_bucketed_neighbours_equal_exact_ones_when_every_bucket_is_searched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = _unit_rows(400, 10, seed=6)
    monkeypatch.setattr(neighbours, "BUCKET", 20)
    monkeypatch.setattr(neighbours, "PROBES", 10_000)
    exact = neighbourhood_density(vectors, 5, exact_max=10_000)
    approximate = neighbourhood_density(vectors, 5, exact_max=100)
    assert approximate == pytest.approx(exact, abs=1e-5)


def test_bucketed_neighbours_stay_close_to_exact_ones_with_few_probes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = _unit_rows(1200, 10, seed=7)
    monkeypatch.setattr(neighbours, "BUCKET", 40)
    buckets = neighbours.split(lambda ids: vectors[ids], np.arange(1200),
                               np.random.default_rng(0))
    assert sorted(np.concatenate(buckets).tolist()) == list(range(1200))  # each row once
    assert max(len(b) for b in buckets) <= 80
    exact = neighbourhood_density(vectors, 5, exact_max=10_000)
    approximate = neighbourhood_density(vectors, 5, exact_max=100)
    assert np.corrcoef(exact, approximate)[0, 1] > 0.95
    assert float(np.abs(exact - approximate).mean()) < 0.02


def test_identical_rows_are_still_cut_into_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(neighbours, "BUCKET", 10)
    same = np.tile(_unit_rows(1, 4, seed=8), (95, 1))
    buckets = neighbours.split(lambda ids: same[ids], np.arange(95), np.random.default_rng(0))
    assert max(len(b) for b in buckets) <= 20 and sum(len(b) for b in buckets) == 95
    density = neighbourhood_density(same, 3, exact_max=10)
    assert density == pytest.approx(np.zeros(95), abs=1e-5)


def test_local_scaling_reads_a_joint_space_above_the_exact_size(
        monkeypatch: pytest.MonkeyPatch) -> None:
    problems = _problems(300, seed=9)
    embedded = _unit_rows(300, 12, seed=10)
    dense = joint_space(embedded.copy(), _dense_reference(problems, 64), 0.3)
    space = JointSpace(embedded.copy(), lexical_rows(problems, dims=64), 0.3)
    monkeypatch.setattr(neighbours, "BUCKET", 16)
    monkeypatch.setattr(neighbours, "PROBES", 10_000)
    monkeypatch.setattr(hubness, "EXACT_MAX", 50)
    scaled = hubness.LocalScaling(space, weight=1.0, k=5)
    assert scaled.density == pytest.approx(
        neighbourhood_density(dense, 5, exact_max=10_000), abs=1e-5)
