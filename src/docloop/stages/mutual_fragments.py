"""Join a small cluster to its mutually nearest cluster when the pair stands out in the run.

Real groups end split into fragments (issue #12: Pydantic's generic-model 2+2,
datetime 2+3), and a fragment of two messages says too little for a page to
look close. A fixed cosine between centroids does not tell these pairs from
two problems a reader would file apart: the levels differ by community (the
highest different-group pair of one set scores above most same-group pairs of
another). This pass asks for three things instead, each relative to the run:

- the pair is *mutually* nearest: each cluster's best other cluster is the other;
- the smaller side is a fragment (at most `max_size` problems) and the larger one
  already a group (two or more): two lone problems never found a group here, as
  two chit-chat messages nearest each other would (measured: Tidepool's noise leak
  0.08 -> 0.21 when singletons could pair);
- the pair's score reaches the `quantile` of the run's own nearest-cluster
  scores (every live cluster's best score to another), not a fixed cosine.

The pair score is the clustering score between two clusters: centroid cosine
minus the local-scaling correction of both sides (hubness.py, each side's
mean member density), so a cluster of boilerplate reports is not everyone's
nearest. Mutual pairs are disjoint, so the joins do not depend on their order.
Only a new cluster moves (into the other side); two stored identities stay apart.

Cost: every live cluster's nearest other, once. In a small run that is the
clusters x clusters product a block of rows at a time (no k x k matrix held); in a
large one (bucketed centroids, cluster_index.py) each cluster is scored against the
clusters of its nearest buckets only, so the pass stays linear in the clusters.
Chosen by leave-one-community-out (`QualitySettings.fragment_quantile`,
benchmarks/calibrate.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from docloop.stages.centroids import CentroidRows, row_blocks
from docloop.stages.cluster_index import Centroids


class Fragment(Protocol):
    """What the pass reads and moves of a cluster."""

    members: list[int]
    stored: bool


def join_mutual_fragments(clusters: Sequence[Fragment], centroids: Centroids,
                          density: np.ndarray, quantile: float, max_size: int) -> int:
    """Join each mutually nearest pair whose smaller side has at most `max_size` problems
    and whose score reaches the run's `quantile` of nearest-cluster scores.

    `centroids` holds a unit row per cluster (same positions) and `density` each
    cluster's local-scaling penalty side (weight x mean member density). Returns how
    many pairs were joined; an emptied cluster keeps no members.
    """
    alive = np.array([bool(c.members) for c in clusters], dtype=bool)
    nearest, scores = nearest_clusters(centroids, density, alive)
    found = alive & (nearest >= 0)
    if found.sum() < 2:
        return 0
    bar = float(np.quantile(scores[found], quantile))
    joined = 0
    for a in np.flatnonzero(found).tolist():
        b = int(nearest[a])
        if b <= a or nearest[b] != a or scores[a] < bar:
            continue  # each mutual pair once, from its earlier side
        sizes = sorted((len(clusters[a].members), len(clusters[b].members)))
        if sizes[0] > max_size or sizes[1] < 2:
            continue  # a fragment joins a group; two lone problems never found one
        into, moving = (a, b) if not clusters[b].stored else (b, a)
        if clusters[moving].stored:
            continue
        clusters[into].members.extend(clusters[moving].members)
        clusters[moving].members = []
        joined += 1
    return joined


def nearest_clusters(centroids: Centroids, density: np.ndarray,
                     alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster position: its best-scoring other live cluster (-1 when none, or when
    itself dead) and that score, cos − (density[a] + density[b]) / 2."""
    nearest = np.full(len(alive), -1, dtype=np.int64)
    scores = np.full(len(alive), -np.inf, dtype=np.float32)
    if isinstance(centroids, CentroidRows):
        matrix = centroids.matrix
        half = (density / 2).astype(np.float32)
        for block in row_blocks(len(matrix)):
            sims = matrix[block] @ matrix.T - half[block, None] - half[None, :]
            rows = np.arange(sims.shape[0])
            sims[rows, rows + block.start] = -np.inf
            sims[:, ~alive] = -np.inf
            nearest[block], scores[block] = sims.argmax(axis=1), sims.max(axis=1)
    else:
        for position in np.flatnonzero(alive).tolist():
            positions, sims = centroids.candidates(centroids.row(position))
            keep = alive[positions] & (positions != position)
            if keep.any():
                positions = positions[keep]
                sims = sims[keep] - (density[position] + density[positions]) / 2
                best = int(np.argmax(sims))
                nearest[position], scores[position] = int(positions[best]), sims[best]
    dead = ~alive | ~np.isfinite(scores)
    nearest[dead], scores[dead] = -1, -np.inf
    return nearest, scores
