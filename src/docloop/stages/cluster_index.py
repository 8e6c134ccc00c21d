"""Which clusters a problem is scored against in a large run: those in its nearest buckets.

Clustering compares each new problem with cluster centroids, online, then in
refinement rounds and once more when merging new clusters. Scoring every
cluster costs O(problems x clusters), and in a real community most problems
stay their own cluster: at 188k problems that is 35 billion dot products of
1,408 dims. Above `EXACT_MAX` problems the centroids are kept in buckets, each
centroid in the bucket of its nearest k-means centre (centres trained on the
run's problem rows, `neighbours.kmeans_centres`), and a problem is scored only
against the clusters of the `PROBES` buckets whose centres are nearest to it.
A centroid that moves (a member joined) changes bucket when its nearest centre
changes. The caller adds the clusters that must never be missed (the one a
problem is in, those sharing a rare term with it), and scores every cluster while
a run has no more clusters than buckets (finding the nearest buckets costs a
product with every centre, more than scoring a few clusters: `cluster._bucketing`).
The singleton re-attachment pass (`fragments.py`) uses the same candidates. With
every bucket probed
the candidates are all clusters and the decisions are the exact ones; every
labelled set is far below `EXACT_MAX`, so its figures come from the exact path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from docloop.stages.centroids import CentroidRows, row_blocks
from docloop.stages.neighbours import Rows, kmeans_centres

#: runs up to this many problems score every cluster (the same decisions as before)
EXACT_MAX = 5000
#: clusters per bucket the centres aim at (if every problem stayed a singleton)
BUCKET = 128
#: buckets whose clusters a problem is scored against
PROBES = 8
#: a code term held by more clusters than this adds its bonus to a problem's candidates
#: only, never more candidates (stages/shared_terms.py: a common term would make it quadratic)
COMMON_HOLDERS = 128
#: k-means trains on this many rows per centre (a large run has thousands of centres)
SAMPLE_PER_CENTRE = 8


def bucket_centres(rows: Rows, n: int, seed: int = 0) -> np.ndarray | None:
    """Bucket centres for a run of `n` problems, or None when it is scored exactly.

    `rows(ids)` may give a leading part of each row (the embedding without the
    lexical half): buckets are then chosen by that part, scores still use all of it.
    """
    if n <= EXACT_MAX:
        return None
    count = -(-n // BUCKET)
    return kmeans_centres(rows, np.arange(n), count, np.random.default_rng(seed),
                          per_centre=SAMPLE_PER_CENTRE)


class BucketedCentroids:
    """Centroid rows grouped by nearest centre; clusters keep their positions.

    Each bucket's rows are one contiguous matrix (growing by doubling), so
    scoring a bucket is one matrix-vector product, with no gathered copy.
    """

    def __init__(self, centres: np.ndarray, probes: int | None = None) -> None:
        self.centres = centres
        self.probes = min(PROBES if probes is None else probes, len(centres))
        self._width = centres.shape[1]
        self._rows: list[np.ndarray] = [np.zeros((0, 0), dtype=np.float32) for _ in centres]
        #: per bucket: the cluster position held in each row, and how many rows are live
        self._held = [np.zeros(0, dtype=np.int64) for _ in centres]
        self._counts = [0] * len(centres)
        #: per cluster position: (bucket, row)
        self._where: list[tuple[int, int]] = []

    @classmethod
    def filled(cls, centres: np.ndarray, rows: Sequence[np.ndarray],
               probes: int | None = None) -> BucketedCentroids:
        """Buckets holding `rows` (cluster positions in order), each bucket's matrix sized
        to its rows: a pass that only reads (the singleton and merge passes) holds one
        copy of the centroids, not up to twice that as rows appended one by one would.
        Nearest centres are found a block of rows at a time (one matrix product)."""
        out = cls(centres, probes)
        nearest = np.concatenate(
            [np.argmax(np.stack([r[: out._width] for r in rows[block]]) @ centres.T, axis=1)
             for block in row_blocks(len(rows))] or [np.zeros(0, dtype=np.int64)])
        order = np.argsort(nearest, kind="stable")
        counts = np.bincount(nearest, minlength=len(centres))
        out._where = [(-1, -1)] * len(rows)
        for bucket, held in enumerate(np.split(order, np.cumsum(counts)[:-1])):
            if not len(held):
                continue
            out._held[bucket] = held.astype(np.int64)
            out._counts[bucket] = len(held)
            out._rows[bucket] = np.stack([rows[p] for p in held.tolist()]).astype(
                np.float32, copy=False)
            for slot, position in enumerate(held.tolist()):
                out._where[position] = (bucket, slot)
        return out

    def __len__(self) -> int:
        return len(self._where)

    def append(self, row: np.ndarray) -> None:
        """The next cluster position's centroid."""
        self._where.append((-1, -1))
        self._place(len(self._where) - 1, row)

    def __setitem__(self, position: int, row: np.ndarray) -> None:
        """A cluster's centroid moved: it changes bucket when its nearest centre changed."""
        bucket, slot = self._where[position]
        if self._nearest(row) == bucket:
            self._rows[bucket][slot] = row
            return
        self._remove(bucket, slot)
        self._place(position, row)

    def row(self, position: int) -> np.ndarray:
        bucket, slot = self._where[position]
        return self._rows[bucket][slot]

    def candidates(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (ascending) of the clusters in `vector`'s nearest buckets, and their
        similarities to it."""
        near = np.argsort(-(self.centres @ vector[: self._width]), kind="stable")[: self.probes]
        live = [(b, self._counts[b]) for b in near if self._counts[b]]
        if not live:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        flat = np.concatenate([self._held[b][:count] for b, count in live])
        scores = np.concatenate([self._rows[b][:count] @ vector for b, count in live])
        order = np.argsort(flat, kind="stable")
        return flat[order], scores[order]

    def _nearest(self, row: np.ndarray) -> int:
        return int(np.argmax(self.centres @ row[: self._width]))

    def _place(self, position: int, row: np.ndarray) -> None:
        bucket = self._nearest(row)
        slot = self._counts[bucket]
        if slot == len(self._held[bucket]):
            size = max(16, 2 * slot)
            rows = np.zeros((size, len(row)), dtype=np.float32)
            held = np.zeros(size, dtype=np.int64)
            if slot:
                rows[:slot] = self._rows[bucket][:slot]
                held[:slot] = self._held[bucket][:slot]
            self._rows[bucket], self._held[bucket] = rows, held
        self._rows[bucket][slot] = row
        self._held[bucket][slot] = position
        self._counts[bucket] += 1
        self._where[position] = (bucket, slot)

    def _remove(self, bucket: int, slot: int) -> None:
        """Free a row: the bucket's last row takes its place."""
        last = self._counts[bucket] - 1
        moved = int(self._held[bucket][last])
        self._rows[bucket][slot] = self._rows[bucket][last]
        self._held[bucket][slot] = moved
        self._where[moved] = (bucket, slot)
        self._counts[bucket] = last


#: a pass's centroid rows: every cluster's (exact), or bucketed in a large run
Centroids = CentroidRows | BucketedCentroids
