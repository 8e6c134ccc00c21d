"""benchmarks/rank_calibrate.py's recipe (what loco_eval replays per fold) and its pieces
in rank_learn.py, on synthetic candidate pools: no docs index, no model."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from docloop.backends.docs_index.rerank import FEATURES

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def learn() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    import rank_learn

    return rank_learn


@pytest.fixture(scope="module")
def calibrate() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    import rank_calibrate

    return rank_calibrate


def pools(learn: ModuleType, seed: int, queries: int = 40, signal: tuple[str, ...] = ("parts",),
          noise: float = 0.6) -> object:
    """Queries over 10 candidates whose labelled page stands out on the `signal` features
    (1.0 against uniform noise below `noise`); the hybrid score is noise."""
    rng = np.random.default_rng(seed)
    features = np.zeros((queries, 10, len(FEATURES)))
    features[:, :, FEATURES.index("fused")] = rng.uniform(0.0, 0.3, (queries, 10))
    gold = rng.integers(0, 10, queries)
    for name in signal:
        column = FEATURES.index(name)
        features[:, :, column] = rng.uniform(0.0, noise, (queries, 10))
        features[np.arange(queries), gold, column] = 1.0
    kind = np.array(["group" if i % 4 == 0 else "message" for i in range(queries)])
    return learn.Pools(kind, features, np.full(queries, 10), gold)


def test_the_spread_rule_prefers_gains_every_set_shares(learn: ModuleType) -> None:
    """+0.2 on one set and -0.1 on another averages above +0.04 on both, but is worse
    once the spread is taken off (and on the worst set)."""
    uneven = learn.InnerFits(1.0, {}, {"a": 0.7, "b": 0.4})
    even = learn.InnerFits(3.0, {}, {"a": 0.54, "b": 0.54})
    baseline, weights = {"a": 0.5, "b": 0.5}, {"a": 1.0, "b": 1.0}
    assert learn.summary(uneven, baseline, weights, "mean") > learn.summary(
        even, baseline, weights, "mean")
    for rule in ("spread", "worst"):
        assert learn.summary(even, baseline, weights, rule) > learn.summary(
            uneven, baseline, weights, rule)
    with pytest.raises(ValueError, match="unknown L2 rule"):
        learn.summary(even, baseline, weights, "median")


def test_bagging_averages_the_inner_fits_as_the_sets_are_weighted(learn: ModuleType) -> None:
    fits = learn.InnerFits(1.0, {"a": np.array([1.0, 2.0]), "b": np.array([1.0, 5.0])}, {})
    assert np.allclose(learn.bagged(fits, {"a": 2.0, "b": 1.0}), [1.0, 3.0])


def test_choose_fits_keeps_the_held_out_fits_of_the_chosen_l2(learn: ModuleType,
                                                               calibrate: ModuleType) -> None:
    training = {f"s{i}": pools(learn, i) for i in range(3)}
    weights = dict.fromkeys(training, 1.0)
    offset = FEATURES.index("fused")
    chosen = learn.choose_fits(training, weights, offset, (10.0, 0.1), calibrate.objective,
                               "spread")
    assert set(chosen.fits) == set(training)
    for left, fitted in chosen.fits.items():
        rest = [n for n in training if n != left]
        again = learn.fit([training[n] for n in rest], [1.0] * len(rest), offset, chosen.l2)
        assert np.allclose(fitted, again)
        assert chosen.scores[left] == pytest.approx(calibrate.objective(training[left], fitted))


def test_choose_weights_is_the_bagged_recipe_over_the_late_features(
        learn: ModuleType, calibrate: ModuleType) -> None:
    """What loco_eval replays per fold: the inner leave-one-set-out fits over the late
    features averaged, features outside the late set at 0."""
    sets = {f"s{i}": pools(learn, 10 + i) for i in range(3)}
    weights = calibrate.choose_weights(sets)
    recipe = calibrate.Recipe()  # the defaults are the recipe
    assert np.allclose(weights, recipe(sets, dict.fromkeys(sets, 1.0)))
    keep = [FEATURES.index(f) for f in calibrate.LATE]
    reduced = {n: calibrate._only(p, keep) for n, p in sets.items()}
    l2 = recipe.l2[frozenset(sets)]
    inner = [learn.fit([reduced[n] for n in sets if n != left], [1.0, 1.0],
                       calibrate.LATE.index("fused"), l2) for left in sets]
    assert np.allclose(weights[keep], np.mean(inner, axis=0))
    outside = [i for i, f in enumerate(FEATURES) if f not in calibrate.LATE]
    assert not weights[outside].any()


def test_the_late_features_are_weighed_even_when_a_grid_corner_ties(
        learn: ModuleType, calibrate: ModuleType) -> None:
    """The race before this change took the first method with the best mean, so when the
    old grid (bm25, no `parts`) ranked the training sets as well as the listwise ranker
    over the late features, it shipped `parts` at 0 (3 of 6 real folds did). The recipe
    has no race: evidence that ranks every set right earns weight."""
    sets = {f"s{i}": pools(learn, 20 + i, signal=("parts", "bm25"), noise=0.3)
            for i in range(3)}
    weights = calibrate.choose_weights(sets)
    assert weights[FEATURES.index("parts")] > 0.2
    assert weights[FEATURES.index("bm25")] > 0.2
    for pool in sets.values():
        assert calibrate.hits(pool, weights)["message hit@1"] == 1.0


def test_the_recipe_without_its_choices_is_the_late_listwise_ranker(
        learn: ModuleType, calibrate: ModuleType) -> None:
    """L2 by the mean and a refit on all training sets: the method the race called
    "late listwise, equal" (so the variant rows measure only the two new choices)."""
    sets = {f"s{i}": pools(learn, 30 + i) for i in range(3)}
    weights = dict.fromkeys(sets, 1.0)
    plain = calibrate.Recipe(rule="mean", bag=False)(sets, weights)
    assert np.allclose(plain, calibrate.Listwise(calibrate.LATE)(sets, weights))


def test_the_recipe_does_not_depend_on_the_order_the_sets_come_in(
        learn: ModuleType, calibrate: ModuleType) -> None:
    """rank_calibrate lists the sets real first, loco_eval by name: both must ship the
    same weights."""
    sets = {f"s{i}": pools(learn, 20 + i, signal=("parts", "bm25")) for i in range(4)}
    backwards = dict(reversed(list(sets.items())))
    assert np.array_equal(calibrate.choose_weights(sets), calibrate.choose_weights(backwards))
