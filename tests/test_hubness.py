"""Local scaling (CSLS): a problem close to many others needs more similarity to join."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from docloop.models import Problem
from docloop.stages.cluster import cluster_problems
from docloop.stages.hubness import LocalScaling, neighbourhood_density
from tests.helpers import BASE


def _unit(rows: list[list[float]]) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float32)
    return array / np.linalg.norm(array, axis=1, keepdims=True)


# two tight groups (a, b), a third problem c on its own, and h close to all of them
VECTORS = _unit([[1, 0.1, 0, 0], [1, -0.1, 0, 0], [0, 1, 0.1, 0], [0, 1, -0.1, 0],
                 [0, 0, 0, 1], [1, 1, 0, 0.5]])


def test_density_is_the_mean_of_the_k_nearest_others_centred_on_the_run() -> None:
    density = neighbourhood_density(VECTORS, k=2)
    similarities = VECTORS @ VECTORS.T
    np.fill_diagonal(similarities, -np.inf)
    raw = np.sort(similarities, axis=1)[:, -2:].mean(axis=1)
    assert density == pytest.approx(raw - raw.mean(), abs=1e-6)
    assert int(np.argmin(density)) == 4  # the loner
    assert density.sum() == pytest.approx(0.0, abs=1e-5)


def test_blocked_search_equals_one_block_and_small_runs_use_every_other_row() -> None:
    assert neighbourhood_density(VECTORS, 3, block=2) == pytest.approx(
        neighbourhood_density(VECTORS, 3), abs=1e-6)
    assert neighbourhood_density(VECTORS[:2], 5) == pytest.approx([0.0, 0.0], abs=1e-6)
    assert not neighbourhood_density(VECTORS[:1], 5).any()


def test_penalty_is_half_the_weight_times_problem_plus_cluster_density() -> None:
    scaling = LocalScaling(VECTORS, weight=0.5, k=2)
    scaling.index([(0, [0, 1]), (2, [4])])  # position 1 is empty
    penalty = scaling.penalty(5, 4)
    d = scaling.density
    assert penalty[0] == pytest.approx(0.25 * ((d[0] + d[1]) / 2 + d[5]))
    assert penalty[1] == pytest.approx(0.25 * d[5])
    assert penalty[2] == pytest.approx(0.25 * (d[4] + d[5]))
    assert penalty[3] == pytest.approx(0.25 * d[5])
    assert not LocalScaling(VECTORS, weight=0.0, k=2).penalty(5, 4).any()


def test_a_hub_close_to_every_group_stops_joining_one_of_them() -> None:
    problems = [Problem(id=f"p{i}", conversation_id=str(i), text=f"problem {i}",
                        timestamp=BASE + timedelta(hours=i)) for i in range(len(VECTORS))]
    common = {"shared_weight": 0.0, "center_shrink": None, "threshold": 0.6, "hub_k": 2,
              "lexical_weight": 0.0, "attach_threshold": None}  # the online pass alone
    plain = cluster_problems(problems, VECTORS, hub_weight=0.0, **common)  # type: ignore[arg-type]
    scaled = cluster_problems(problems, VECTORS, hub_weight=1.0, **common)  # type: ignore[arg-type]
    assert any(5 in c.members and len(c.members) > 1 for c in plain)
    assert [5] in [c.members for c in scaled]
    assert sorted(sorted(c.members) for c in scaled if 5 not in c.members) == [[0, 1], [2, 3], [4]]


def test_the_neighbour_search_holds_a_bounded_block_however_many_problems() -> None:
    """At 188k problems a fixed 1,024-row block held 770 MB (the 1M first run peaked at
    3.8 GB in clustering); rows per block now shrink so one block stays within budget."""
    from docloop.stages.hubness import BLOCK, BLOCK_CELLS, block_rows

    assert block_rows(100) == BLOCK
    assert block_rows(188_193) * 188_193 <= BLOCK_CELLS
    assert block_rows(10**9) == 1


def test_without_lifts_an_isolated_problem_is_not_pulled_into_a_cluster() -> None:
    """The loner (row 4) has the lowest density: by default that lowers its bar to join;
    with `lift_isolated` off its own density counts only when positive."""
    lifted = LocalScaling(VECTORS, weight=1.0, k=2)
    floored = LocalScaling(VECTORS, weight=1.0, k=2, lift_isolated=False)
    for scaling in (lifted, floored):
        scaling.index([(0, [0, 1])])
    assert lifted.density[4] < 0
    assert lifted.penalty(4, 1)[0] < floored.penalty(4, 1)[0]
    assert floored.penalty(4, 1)[0] == pytest.approx(0.5 * (lifted.density[[0, 1]].mean()))
    assert floored.penalty(5, 1)[0] == pytest.approx(lifted.penalty(5, 1)[0])  # a hub: same
