"""Approximate k nearest neighbours for large runs: an inverted file over k-means buckets.

Local scaling (`hubness.py`) needs each problem's k most similar other problems.
Exactly, that is every problem against every other: at 188k problems (a million
messages) 35 billion dot products of 1,408 dims, thousands of CPU seconds. Above a
size threshold the rows are split into buckets of about `BUCKET` rows by k-means
(recursively, so no bucket stays much larger, however the rows crowd), and each
bucket's rows are compared only with the rows of the `PROBES` buckets whose centres
are nearest to its own. Work per row is then about PROBES x BUCKET dot products,
whatever the run's size. The true neighbours of a row lie in nearby buckets
almost always; a missed one is replaced by the next best, so the mean similarity
of the k found is a slight underestimate, never an invention.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from docloop.stages.centroids import unit

#: rows per bucket the k-means split aims at
BUCKET = 1024
#: buckets searched for each bucket's rows (its own included)
PROBES = 8
#: Lloyd iterations of each k-means split
ROUNDS = 6
#: similarities held at once (4M float32: 16 MB)
BLOCK_CELLS = 4 * 1024 * 1024
#: rows read (written densely) at a time: 2,048 joint rows are 11.5 MB
READ_ROWS = 2048
#: k-means trains on this many rows per centre
SAMPLE_PER_CENTRE = 32

Rows = Callable[[np.ndarray], np.ndarray]


def top_k_mean(rows: Rows, n: int, k: int, seed: int = 0) -> np.ndarray:
    """Each row's mean similarity to the k most similar other rows found, by bucket.

    `rows(ids)` gives the unit vectors of rows `ids` (dense, float32).
    """
    buckets = split(rows, np.arange(n), np.random.default_rng(seed))
    centres = np.vstack([unit(rows(b).sum(axis=0)) for b in buckets])
    probes = min(PROBES, len(buckets))
    nearest = np.argsort(-(centres @ centres.T), axis=1, kind="stable")[:, :probes]
    out = np.empty(n, dtype=np.float32)
    for bucket, near in zip(buckets, nearest, strict=True):
        candidates = np.concatenate([buckets[b] for b in near])
        out[bucket] = _best_mean(rows(bucket), bucket, rows, candidates, k)
    return out


def split(rows: Rows, ids: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """`ids` in buckets of at most about 2 x BUCKET rows, similar rows together."""
    if len(ids) <= 2 * BUCKET:
        return [ids]
    parts = [p for p in _kmeans_parts(rows, ids, -(-len(ids) // BUCKET), rng) if len(p)]
    if len(parts) == 1:  # k-means could not separate them (identical rows): cut in order
        parts = np.array_split(ids, -(-len(ids) // BUCKET))
    return [bucket for part in parts for bucket in split(rows, part, rng)]


def _kmeans_parts(rows: Rows, ids: np.ndarray, count: int,
                  rng: np.random.Generator) -> list[np.ndarray]:
    """Spherical k-means: centres trained on a sample, then every row to its nearest."""
    centres = kmeans_centres(rows, ids, count, rng)
    step = min(READ_ROWS, BLOCK_CELLS // max(count, 1))
    owner = np.concatenate([np.argmax(rows(block) @ centres.T, axis=1)
                            for block in _blocks(ids, step)])
    return [ids[owner == c] for c in range(count)]


def kmeans_centres(rows: Rows, ids: np.ndarray, count: int, rng: np.random.Generator,
                   per_centre: int = SAMPLE_PER_CENTRE) -> np.ndarray:
    """`count` unit centres of spherical k-means, trained on a sample of `ids`' rows."""
    sample = np.sort(rng.choice(ids, size=min(len(ids), per_centre * count), replace=False))
    vectors = rows(sample)
    centres = vectors[rng.choice(len(sample), size=min(count, len(sample)), replace=False)]
    for _ in range(ROUNDS):
        owner = np.argmax(vectors @ centres.T, axis=1)
        for c in range(len(centres)):
            members = vectors[owner == c]
            if len(members):
                centres[c] = unit(members.sum(axis=0))
    return centres


def _best_mean(queries: np.ndarray, query_ids: np.ndarray, rows: Rows,
               candidates: np.ndarray, k: int) -> np.ndarray:
    """Mean of each query's k highest similarities to `candidates` other than itself."""
    step = max(1, min(READ_ROWS, BLOCK_CELLS // max(len(queries), 1)))
    best = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    for block in _blocks(candidates, step):
        similarities = queries @ rows(block).T
        similarities[query_ids[:, None] == block[None, :]] = -np.inf  # not its own neighbour
        merged = np.concatenate([best, similarities], axis=1)
        take = min(k, merged.shape[1])
        merged.partition(merged.shape[1] - take, axis=1)
        best = merged[:, merged.shape[1] - take:]
    finite = np.isfinite(best)
    counts = np.maximum(finite.sum(axis=1), 1)
    return (np.where(finite, best, 0.0).sum(axis=1) / counts).astype(np.float32)


def _blocks(ids: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(ids), max(1, size)):
        yield ids[start:start + max(1, size)]
