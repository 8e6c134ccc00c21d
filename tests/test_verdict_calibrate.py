"""benchmarks/verdict_calibrate.py's choosing rule: one objective over every verdict knob.

The sweeps are given as numbers (no loop runs): each option's right pages, `missing`
found and `missing` verdicts said, as verdict_calibrate.sweep counts them.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from docloop.stages.verdict import VerdictSettings

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def calibrate() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    import verdict_calibrate

    return verdict_calibrate


def row(right: int, found: int, said: int, said_right: int) -> list[int]:
    """One option's COUNTS: right page, groups, found, no-page groups, said, said right."""
    return [right, 20, found, 3, said, said_right]


def test_a_wrong_missing_costs_more_than_a_wrong_page(calibrate: ModuleType) -> None:
    grid = [VerdictSettings(below_reference=0.09), VerdictSettings(below_reference=0.21)]
    # the eager option finds one more no-page group (one more right page) but says
    # `missing` three times wrongly; right pages alone would choose it
    sweeps = {"a": np.array([row(10, 1, 1, 1), row(11, 2, 5, 2)])}
    assert calibrate.objective(sweeps["a"]).tolist() == [10, 8]
    assert calibrate.choose(sweeps, ["a"], grid) == 0


def test_counts_are_pooled_over_the_sets_chosen_on(calibrate: ModuleType) -> None:
    grid = [VerdictSettings(below_reference=0.09), VerdictSettings(below_reference=0.21)]
    sweeps = {"a": np.array([row(10, 0, 0, 0), row(12, 1, 1, 1)]),
              "b": np.array([row(10, 0, 0, 0), row(9, 0, 2, 0)]),
              "c": np.array([row(3, 0, 0, 0), row(9, 2, 2, 2)])}
    assert calibrate.choose(sweeps, ["a", "b"], grid) == 0  # 20 against 19
    assert calibrate.choose(sweeps, ["a", "c"], grid) == 1  # 13 against 21
    assert calibrate.choose(sweeps, ["b"], grid) == 0


def test_ties_go_to_the_setting_nearest_the_shipped_one(calibrate: ModuleType) -> None:
    shipped = VerdictSettings()
    far = replace(shipped, below_reference=0.09, agree_weight=0.0)
    near = replace(shipped, below_reference=0.18)
    grid = [far, near, shipped]
    tied = {"a": np.array([row(12, 1, 1, 1)] * 3)}
    assert calibrate.choose(tied, ["a"], grid) == 2
    pair = {"a": tied["a"][:2]}
    assert calibrate.choose(pair, ["a"], grid[:2]) == 1
    assert calibrate.choose(pair, ["a"], grid[:2], anchor=far) == 0


def test_steps_count_grid_steps_per_knob(calibrate: ModuleType) -> None:
    anchor = VerdictSettings(below_reference=0.15, agree_weight=0.8, vote_k=1.0)
    assert calibrate.steps_from(anchor, anchor) == 0
    moved = replace(anchor, below_reference=0.09, agree_weight=0.0, vote_k=0.0)
    # two steps down below_reference's grid (0.15 → 0.12 → 0.09), two down agree_weight's
    # (0.8 → 0.4 → 0.0), and one for a knob the grid does not sweep
    assert calibrate.steps_from(moved, anchor) == 5


def test_the_grid_sweeps_every_scored_knob_and_holds_the_shipped_setting(
        calibrate: ModuleType) -> None:
    grid = calibrate.options()
    assert VerdictSettings() in grid
    assert calibrate.BEFORE in grid
    assert len(grid) == int(np.prod([len(v) for v in calibrate.GRID.values()]))
    assert {"below_reference", "term_weight", "unknown_weight", "chat_share", "agree_weight",
            "size_margin", "group_weight", "hub_discount"} <= set(calibrate.GRID)
