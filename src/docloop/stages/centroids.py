"""The cluster stage's arithmetic at scale: growable centroid rows, running sums, blocks.

Clustering compares every new problem with every cluster's centroid. Done
naively that costs more than the comparisons themselves: stacking a new row
onto the centroid matrix copies it (quadratic in the number of clusters),
re-summing a cluster's members on every join is quadratic in its size, and
scoring all problems against all clusters at once materialises a
problems x clusters matrix. These helpers keep the same numbers (member
vectors are summed in the same order, in float32, as `ndarray.sum(axis=0)`
does) at linear cost and bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from docloop.stages.lexical import JointSpace

#: the clustering space (dense rows, or the joint space that writes them on demand)
Rows = np.ndarray | JointSpace

#: Rows of problems scored against all centroids at a time (bounds the score block).
BLOCK_ROWS = 2048


class CentroidRows:
    """Centroids as the first `len(self)` rows of a matrix that grows by doubling."""

    def __init__(self, rows: np.ndarray) -> None:
        count, dim = rows.shape
        self._data = np.zeros((max(64, 2 * count), dim), dtype=np.float32)
        self._data[:count] = rows
        self._count = count

    def __len__(self) -> int:
        return self._count

    @property
    def matrix(self) -> np.ndarray:
        """The live rows (a view: valid until the next `append`)."""
        return self._data[: self._count]

    def append(self, row: np.ndarray) -> None:
        if self._count == len(self._data):
            grown = np.zeros((2 * len(self._data), self._data.shape[1]), dtype=np.float32)
            grown[: self._count] = self._data[: self._count]
            self._data = grown
        self._data[self._count] = row
        self._count += 1

    def __setitem__(self, position: int, row: np.ndarray) -> None:
        self._data[position] = row


class MemberSums:
    """Per-cluster sums of member vectors, kept up to date as members join.

    A sum starts from the cluster's members when first needed and then grows by
    one addition per join, in member order: the same float32 result as summing
    `vectors[members]` again, without re-reading every member.
    """

    def __init__(self, vectors: Rows) -> None:
        self.vectors = vectors
        self._sums: dict[int, np.ndarray] = {}

    def joined(self, key: int, members: Sequence[int]) -> np.ndarray:
        """The sum after `members[-1]` joined cluster `key` (whose earlier members are the rest)."""
        total = self._sums.get(key)
        if total is None:
            total = member_sum(self.vectors, members)
        else:
            total = total + self.vectors[members[-1]]
        self._sums[key] = total
        return total


def member_sum(vectors: Rows, members: Sequence[int], block: int = BLOCK_ROWS) -> np.ndarray:
    """`vectors[members].sum(axis=0)`, read `block` rows at a time.

    numpy sums the rows of a C-ordered matrix one after another, so carrying the
    running sum into the next block as its first row gives the same float32 result
    without a copy of every member's row (a large cluster at a million messages
    holds tens of thousands).
    """
    if len(members) <= block:
        return vectors[list(members)].sum(axis=0)
    total = vectors[list(members[:block])].sum(axis=0)
    for start in range(block, len(members), block):
        rows = vectors[list(members[start:start + block])]
        total = np.vstack([total[None, :], rows]).sum(axis=0)
    return total


def unit(vector: np.ndarray) -> np.ndarray:
    """`vector` scaled to length 1 (float32); a zero vector stays zero."""
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm else vector.astype(np.float32)


def row_blocks(count: int, size: int = BLOCK_ROWS) -> Iterator[slice]:
    """Slices covering `range(count)` in blocks of at most `size`."""
    for start in range(0, count, size):
        yield slice(start, min(count, start + size))


def first_close_earlier(centroids: np.ndarray, alive: np.ndarray, position: int,
                        threshold: float) -> int | None:
    """The first live row before `position` whose similarity to it reaches `threshold`."""
    if position == 0:
        return None
    similarities = centroids[:position] @ centroids[position]
    hits = np.flatnonzero((similarities >= threshold) & alive[:position])
    return int(hits[0]) if hits.size else None
