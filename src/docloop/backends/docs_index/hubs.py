"""Which pages are near everything: the docs set's own hubs, learnt from its chunks.

On real communities the page a question lands on by mistake is usually a
catch-all: a migration guide, a features overview, troubleshooting, release
announcements. They touch every topic once, so some chunk of theirs sits close
to almost any question. No page list can name them for every docs set, but
the docs tell on themselves: ask each chunk of every page which *other* pages
come closest to it, and count how often each page is among the first few. A
page that is a near neighbour of many unrelated passages is a hub (the
k-occurrence of nearest-neighbour hubness, an IDF of winning), and winning a
query is weaker evidence for it than for a page that is close to little else.

Computed from the stored chunk vectors alone (no query, nothing stored), in
blocks so memory stays bounded, on at most MAX_PROBES chunks spread evenly
over the index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NEIGHBOURS = 3  # other pages counted as a chunk's near neighbours
MAX_PROBES = 2000  # chunks used as probes at most (evenly spaced)
BLOCK = 256  # probe chunks compared at once


def page_hubness(vectors: np.ndarray, paths: Sequence[str],
                 neighbours: int = NEIGHBOURS) -> dict[str, float]:
    """Page -> share of other pages' probe chunks that have it among their `neighbours`
    closest pages (by best chunk cosine), scaled so the strongest hub is 1.0."""
    pages = sorted(set(paths))
    if len(pages) <= neighbours or len(paths) == 0:
        return {p: 0.0 for p in pages}
    position = {p: i for i, p in enumerate(pages)}
    page_of = np.array([position[p] for p in paths])
    order = np.argsort(page_of, kind="stable")
    sorted_vectors = np.asarray(vectors, dtype=np.float32)[order]
    starts = np.flatnonzero(np.r_[True, np.diff(page_of[order]) != 0])
    probes = np.unique(np.linspace(0, len(paths) - 1, min(len(paths), MAX_PROBES)).astype(int))
    counts = np.zeros(len(pages))
    seen = np.zeros(len(pages))
    for begin in range(0, len(probes), BLOCK):
        rows = probes[begin:begin + BLOCK]
        sims = np.asarray(vectors, dtype=np.float32)[rows] @ sorted_vectors.T
        best = np.maximum.reduceat(sims, starts, axis=1)  # probe x page: best chunk cosine
        own = page_of[rows]
        best[np.arange(len(rows)), own] = -np.inf
        nearest = np.argpartition(-best, neighbours - 1, axis=1)[:, :neighbours]
        counts += np.bincount(nearest.ravel(), minlength=len(pages))
        seen += len(rows) - np.bincount(own, minlength=len(pages))
    rate = np.divide(counts, seen, out=np.zeros_like(counts), where=seen > 0)
    top = float(rate.max())
    return {p: float(r / top) if top > 0 else 0.0 for p, r in zip(pages, rate, strict=True)}

