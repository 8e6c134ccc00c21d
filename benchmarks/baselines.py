"""Seed-style baselines, measured in the same run as docloop.

The seed system embedded each extracted issue, clustered with DBSCAN
(cosine, eps 0.25, min_samples 2, noise points dropped) and matched each
cluster to the top-1 chunk of a vector index of fixed 1,000-character chunks.
Without an LLM key, its extraction step is stood in for by every non-empty
message (the seed had no offline extractor); a second variant feeds it
docloop's own extracted problems, to separate extraction from clustering.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from docloop.backends.embedders.base import Embedder

SEED_CHUNK_CHARS = 1000


def dbscan(vectors: np.ndarray, eps: float = 0.25, min_samples: int = 2) -> list[int]:
    """DBSCAN with cosine distance on unit vectors; -1 marks noise (as scikit-learn)."""
    n = len(vectors)
    if n == 0:
        return []
    neighbours = (1.0 - vectors @ vectors.T) <= eps
    core = neighbours.sum(axis=1) >= min_samples
    labels = [-1] * n
    cluster = 0
    for start in range(n):
        if labels[start] != -1 or not core[start]:
            continue
        labels[start] = cluster
        queue = deque([start])
        while queue:
            point = queue.popleft()
            if not core[point]:
                continue
            for other in np.flatnonzero(neighbours[point]):
                if labels[other] == -1:
                    labels[other] = cluster
                    queue.append(int(other))
        cluster += 1
    return labels


class SeedDocs:
    """Fixed 1,000-character chunks of every page, top-1 chunk by cosine."""

    def __init__(self, pages: Sequence[tuple[str, str]], embedder: Embedder) -> None:
        """`pages` are (path, Markdown source) pairs: the same page set docloop indexes."""
        self.paths: list[str] = []
        texts: list[str] = []
        for rel, body in pages:
            for start in range(0, len(body), SEED_CHUNK_CHARS):
                self.paths.append(rel)
                texts.append(body[start:start + SEED_CHUNK_CHARS])
        self.matrix = embedder.embed(texts)
        self.embedder = embedder

    def top_pages(self, vector: np.ndarray, k: int = 3) -> list[str]:
        """Distinct pages of the best chunks, best first."""
        order = np.argsort(-(self.matrix @ vector))
        pages: list[str] = []
        for index in order:
            if self.paths[index] not in pages:
                pages.append(self.paths[index])
            if len(pages) == k:
                break
        return pages
