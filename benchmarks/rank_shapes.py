"""Does the re-ranker's linear score miss a shape? Per-query transforms and interactions.

Run: PYTHONPATH=src:benchmarks python benchmarks/rank_shapes.py

The shipped re-ranker is a weighted sum of its features (rank_calibrate.py's recipe).
A sum cannot say "a catch-all page's closeness counts less" (an interaction with
`hub`) or "only the best candidate's BM25 matters" (a per-query rank), and the features'
scales differ from docs set to docs set. Each row adds such shapes to the recipe's
features and refits the recipe leave-one-community-out, on the cached candidate pools
rank_calibrate.py builds (same queries, same candidates): a shape earns its place only
if the sets it never saw gain. Writes benchmarks/results/rank_shapes.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from docloop.backends.docs_index.rerank import FEATURES
from rank_calibrate import L2_OPTIONS, SECTION, hits, loco, objective, set_pools
from rank_learn import Pools, bagged, choose_fits
from rank_sets import REAL, load_sets

RESULT = Path(__file__).resolve().parent / "results" / "rank_shapes.md"
KEEP = [FEATURES.index(f) for f in SECTION]  # the recipe's features, `fused` first
Shape = Callable[[Pools], np.ndarray]  # extra columns (queries, pool, k) for a set's pools


def _valid(pools: Pools) -> np.ndarray:
    return np.arange(pools.features.shape[1])[None, :] < pools.size[:, None]


def _recipe_columns(pools: Pools) -> np.ndarray:
    return pools.features[:, :, KEEP[1:]]  # `fused` is the offset: never reshaped


def per_query_rank(pools: Pools) -> np.ndarray:
    """1 / (1 + the candidate's place) on each feature, within its own query."""
    values = np.where(_valid(pools)[:, :, None], _recipe_columns(pools), -np.inf)
    places = np.argsort(np.argsort(-values, axis=1, kind="stable"), axis=1)
    return np.where(_valid(pools)[:, :, None], 1.0 / (1.0 + places), 0.0)


def per_query_z(pools: Pools) -> np.ndarray:
    """Each feature centred and scaled by its spread over the query's candidates."""
    valid = _valid(pools)[:, :, None]
    values = _recipe_columns(pools)
    count = np.maximum(pools.size, 1)[:, None, None]
    mean = (values * valid).sum(axis=1, keepdims=True) / count
    spread = np.sqrt((((values - mean) ** 2) * valid).sum(axis=1, keepdims=True) / count)
    return np.where(valid, (values - mean) / np.where(spread > 1e-9, spread, 1.0), 0.0)


def gap_to_best(pools: Pools) -> np.ndarray:
    """How far below the query's best candidate each feature is."""
    valid = _valid(pools)[:, :, None]
    values = _recipe_columns(pools)
    best = np.where(valid, values, -np.inf).max(axis=1, keepdims=True)
    return np.where(valid, values - best, 0.0)


def all_products(pools: Pools) -> np.ndarray:
    """Every pair of the recipe's features multiplied."""
    values = _recipe_columns(pools)
    pairs = [(i, j) for i in range(values.shape[2]) for j in range(i + 1, values.shape[2])]
    return np.stack([values[:, :, i] * values[:, :, j] for i, j in pairs], axis=2)


def product(first: str, second: str) -> Shape:
    """One interaction: two features multiplied."""
    def columns(pools: Pools) -> np.ndarray:
        values = pools.features
        return (values[:, :, FEATURES.index(first)] * values[:, :, FEATURES.index(second)]
                )[:, :, None]
    return columns


SHAPES: dict[str, Shape | None] = {
    "the recipe (section set)": None,
    "+ per-query rank of each feature": per_query_rank,
    "+ per-query z-score of each feature": per_query_z,
    "+ gap to the query's best, each feature": gap_to_best,
    "+ every pair of features multiplied": all_products,
    "+ squares": lambda pools: _recipe_columns(pools) ** 2,
    **{f"+ {a} x {b}": product(a, b) for a, b in (
        ("topic", "hub"), ("parts", "hub"), ("names", "hub"), ("link", "hub"),
        ("section_bm25", "hub"), ("bm25", "breadth"), ("topic", "parts"))},
}


def shaped(sets: dict[str, Pools], shape: Shape | None) -> dict[str, Pools]:
    """Each set's pools over the recipe's features plus `shape`'s columns."""
    out = {}
    for name, pools in sets.items():
        columns = [pools.features[:, :, KEEP]] + ([] if shape is None else [shape(pools)])
        out[name] = Pools(pools.kind, np.concatenate(columns, axis=2), pools.size, pools.gold)
    return out


def recipe_on_all_columns(training: Mapping[str, Pools], weights: Mapping[str, float]
                          ) -> np.ndarray:
    """The recipe's fit (L2 by the inner leave-one-set-out mean, inner fits averaged) over
    every column of shaped pools, `fused` at column 0 as the offset."""
    ordered = {name: training[name] for name in sorted(training)}
    fits = choose_fits(ordered, weights, 0, L2_OPTIONS, objective, "mean")
    return bagged(fits, weights)


def row(label: str, sets: dict[str, Pools]) -> str:
    """The shape's leave-one-community-out figures: group / message hit@1 per set."""
    chosen = loco(sets, recipe_on_all_columns, "equal")
    cells, real, every = [], [], []
    for name, pools in sets.items():
        found = hits(pools, chosen[name])
        cells.append(f"{found['group hit@1']:.2f} / {found['message hit@1']:.2f}")
        mean = (found["group hit@1"] + found["message hit@1"]) / 2
        every.append(mean)
        if name in REAL:
            real.append(mean)
    return (f"| {label} | " + " | ".join(cells)
            + f" | {np.mean(real):.3f} | {np.mean(every):.3f} |")


def main() -> None:
    sets = {s.name: set_pools(s) for s in load_sets(None)}
    if not sets:
        sys.exit("no labelled set found (needs ../shared)")
    lines = ["# Re-ranker shapes, leave-one-community-out", "",
             "`PYTHONPATH=src:benchmarks python benchmarks/rank_shapes.py`: the recipe of "
             "rank_calibrate.py refitted per fold with each shape's columns added; group "
             "hit@1 / message hit@1 of each set with weights chosen on the others; mean: "
             "(group + message hit@1) / 2 over the real sets and over all.", "",
             "| features | " + " | ".join(sets) + " | mean real | mean all |",
             "| --- |" + " --- |" * (len(sets) + 2)]
    for label, shape in SHAPES.items():
        lines.append(row(label, shaped(sets, shape)))
        print(lines[-1], flush=True)
    RESULT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
