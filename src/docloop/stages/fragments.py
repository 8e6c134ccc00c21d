"""A second look at clusters of one problem, after the refinement.

The refinement (stages/cluster.py) moves each new problem to its best centroid,
its own cluster's included. A problem alone in its cluster *is* that centroid
(similarity 1 before the score's corrections), so it can never move, even when
a cluster formed after it sits above the join threshold: on the labelled sets a
singleton's best other cluster scores up to 0.43 against a join threshold of
0.30, and a group of three conversations can end as three clusters of one
(FastAPI held-out `middleware`, `schema-examples`).

This pass scores each new singleton with the clustering score (centroid
similarity + shared-term bonus − local-scaling penalty, the same `ClusterScore`)
against the clusters the other passes would score it against: every cluster in
a small run, in a large one (above `cluster_index.EXACT_MAX` problems) those of
its nearest buckets plus those sharing a rare term with it. Its own cluster and
emptied ones are left out, and it moves into the best when that reaches
`threshold` (`QualitySettings.attach_threshold`, chosen by leave-one-community-out
in benchmarks/calibrate.py). It costs one singletons × clusters product in a
small run and a bounded number of candidates per singleton in a large one (most
problems of a big community stay singletons), with no problem pairs.
Singletons are taken oldest cluster first and centroids are not updated while
moving, so the result does not depend on which singleton moved first except
that a cluster emptied by a move takes no one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from docloop.stages.centroids import Rows
from docloop.stages.cluster_index import Centroids


class Fragment(Protocol):
    """What the pass reads and moves of a cluster."""

    members: list[int]
    stored: bool


class ClusterScore(Protocol):
    """The clustering score, following cluster membership."""

    def add(self, position: int, member: int) -> None: ...

    def scored(self, problem: int, vector: np.ndarray,
               centroids: Centroids) -> tuple[np.ndarray, np.ndarray]:
        """The positions (ascending) `problem` is scored against, and its scores."""
        ...


def attach_singletons(clusters: list[Fragment], centroids: Centroids, vectors: Rows,
                      score: ClusterScore, threshold: float) -> int:
    """Move each new one-problem cluster into its best other cluster scoring `threshold`.

    `centroids` holds a row per cluster (same positions), `vectors` the clustering
    space's rows, and `score` is indexed on the clusters' current members. Returns how
    many problems moved; emptied clusters keep no members.
    """
    alive = np.array([bool(c.members) for c in clusters], dtype=bool)
    moved = 0
    for position in _singletons(clusters):
        if len(clusters[position].members) != 1:  # another singleton joined it
            continue
        problem = clusters[position].members[0]
        best = _best_other(score, problem, vectors[problem], centroids, alive, position,
                           threshold)
        if best is None:
            continue
        clusters[best].members.append(problem)
        clusters[position].members = []
        alive[position] = False
        score.add(best, problem)
        moved += 1
    return moved


def _best_other(score: ClusterScore, problem: int, vector: np.ndarray, centroids: Centroids,
                alive: np.ndarray, own: int, threshold: float) -> int | None:
    """The live cluster other than `own` scoring highest (the earliest on a tie), when
    its score reaches `threshold`."""
    positions, scores = score.scored(problem, vector, centroids)
    eligible = alive[positions] & (positions != own)
    if not eligible.any():
        return None
    positions, scores = positions[eligible], scores[eligible]
    best = int(np.argmax(scores))
    return int(positions[best]) if float(scores[best]) >= threshold else None


def _singletons(clusters: Sequence[Fragment]) -> list[int]:
    """Positions of the clusters that are new and hold exactly one problem."""
    return [pos for pos, c in enumerate(clusters) if not c.stored and len(c.members) == 1]
