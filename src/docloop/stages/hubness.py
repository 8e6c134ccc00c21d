"""Local scaling of similarities: a problem in a crowded neighbourhood must be closer.

On real community messages (long GitHub-issue excerpts) some problems are hubs:
boilerplate-heavy reports ("upgraded to v2, here is my model, here is the
traceback") sit close to many problems of other groups, while a terse report
is far from everything, even from its own group. One threshold then merges
the hubs and strands the terse ones. CSLS (cross-domain similarity local
scaling, Conneau et al. 2018) corrects this: the similarity of x and y is
lowered by how close each of them is to its own k nearest neighbours,
2·cos(x, y) − r(x) − r(y). Measured as the ranking of same-group pairs above
different-group pairs (ROC AUC of the centred cosine), it lifts Pydantic
0.886 → 0.910, Vite 0.862 → 0.877, typescript-eslint 0.965 → 0.978, and
never lowers a set.

Clustering compares a problem to cluster centroids, so the correction is
applied in its additive form: score = cos − weight·(d(x) + d(cluster)) / 2,
with d(x) = r(x) − mean r over the run (so the threshold keeps its scale) and
d(cluster) the mean d of its members. The neighbour search is blocked, so no
n×n matrix is held in memory; above `EXACT_MAX` problems it is approximate
(`neighbours.py`: compared within nearby k-means buckets), so its cost grows
linearly with the run instead of quadratically. Every labelled set is far below
that size: their figures come from the exact search.

A problem far from every other has d(x) < 0, which *lifts* its similarities:
that joins a terse report to its group, and also a chit-chat message to
whatever is nearest. With `lift_isolated` off, the problem's own d(x) counts
only when it is positive (a hub is still held back, an outlier is not pulled
in); the cluster's side is unchanged. Chosen by `benchmarks/calibrate.py`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from docloop.stages.lexical import JointSpace
from docloop.stages.neighbours import top_k_mean

BLOCK = 1024
#: runs up to this many problems get the exact neighbour search (about 1 s at 5k)
EXACT_MAX = 5000
#: similarities held at once by the neighbour search (16M float32: 64 MB), whatever n is
BLOCK_CELLS = 16 * 1024 * 1024


def block_rows(n: int, block: int = BLOCK) -> int:
    """Rows per block of the neighbour search: at most `block`, and few enough that a
    block of similarities to all n rows stays within `BLOCK_CELLS` (a fixed 1,024 rows
    at 188k problems held 770 MB per block, plus its partitioned copy)."""
    return max(1, min(block, BLOCK_CELLS // max(n, 1)))


def neighbourhood_density(vectors: np.ndarray | JointSpace, k: int, block: int = BLOCK,
                          exact_max: int = EXACT_MAX) -> np.ndarray:
    """Each row's mean similarity to its k nearest other rows, minus the run's mean.

    Rows are unit vectors; with fewer than k + 1 rows every other row counts. Above
    `exact_max` rows the neighbours are searched approximately (`neighbours.py`).
    """
    n = len(vectors)
    if n < 2 or k < 1:
        return np.zeros(n, dtype=np.float32)
    if n > exact_max:
        source = vectors
        density = top_k_mean(lambda ids: np.asarray(source[ids], dtype=np.float32), n, k)
        return (density - density.mean()).astype(np.float32)
    if isinstance(vectors, JointSpace):
        vectors = vectors.dense()
    take = min(k, n - 1)
    density = np.empty(n, dtype=np.float32)
    step = block_rows(n, block)
    for start in range(0, n, step):
        similarities = vectors[start:start + step] @ vectors.T
        rows = np.arange(similarities.shape[0])
        similarities[rows, rows + start] = -np.inf  # not its own neighbour
        similarities.partition(n - take, axis=1)  # in place: no second block in memory
        density[start:start + step] = similarities[:, n - take:].mean(axis=1)
    return (density - density.mean()).astype(np.float32)


class LocalScaling:
    """Per-cluster penalty for one problem: weight x (its density + the cluster's) / 2."""

    def __init__(self, vectors: np.ndarray | JointSpace, weight: float, k: int,
                 lift_isolated: bool = True) -> None:
        self.weight = weight
        self.density = (neighbourhood_density(vectors, k) if weight
                        else np.zeros(len(vectors), dtype=np.float32))
        #: the problem's side of the penalty (its density, floored at 0 without lifts)
        self.own = self.density if lift_isolated else np.maximum(self.density, 0.0)
        #: per cluster (by position): sum of member densities, member count, their mean
        self._sums = np.zeros(0, dtype=np.float64)
        self._counts = np.zeros(0, dtype=np.int64)
        self._means = np.zeros(0, dtype=np.float32)

    def index(self, memberships: Iterable[tuple[int, Iterable[int]]]) -> None:
        """Rebuild every cluster's (by position) density from its members."""
        self._sums[:], self._counts[:], self._means[:] = 0.0, 0, 0.0
        for position, members in memberships:
            for member in members:
                self.add(position, member)

    def add(self, position: int, member: int) -> None:
        """Problem `member` joined the cluster at `position`."""
        if position >= len(self._sums):
            size = max(64, 2 * (position + 1))
            self._sums, self._counts, self._means = (
                np.concatenate([a, np.zeros(size - len(a), dtype=a.dtype)])
                for a in (self._sums, self._counts, self._means))
        self._sums[position] += float(self.density[member])
        self._counts[position] += 1
        self._means[position] = np.float32(self._sums[position]) / np.float32(
            self._counts[position])

    def penalty(self, problem: int, clusters: int) -> np.ndarray:
        """What to subtract from `problem`'s similarity to each of `clusters` clusters."""
        return self.penalty_at(problem, np.arange(clusters))

    def penalty_at(self, problem: int, positions: np.ndarray) -> np.ndarray:
        """`penalty` for the clusters at `positions` only (a few candidates of many)."""
        if not self.weight:
            return np.zeros(len(positions), dtype=np.float32)
        own = np.zeros(len(positions), dtype=np.float32)
        known = positions < len(self._means)
        own[known] = self._means[positions[known]]
        return np.float32(self.weight / 2) * (own + self.own[problem])

    def cluster_sides(self, clusters: int) -> np.ndarray:
        """Each of the first `clusters` clusters' side of a cluster-pair penalty:
        weight x its mean member density (stages/mutual_fragments.py)."""
        out = np.zeros(clusters, dtype=np.float32)
        known = min(clusters, len(self._means))
        out[:known] = self._means[:known]
        return np.float32(self.weight) * out
