"""A fast stand-in embedder for the biggest scale rows (benchmarks only).

Embedding a million distinct problem texts with MiniLM takes hours on two cores;
the scale benchmark measures that rate on a sample instead, and runs the big rows
with this embedder so their time is docloop's own work. Signed feature hashing of
words and word pairs into 384 dimensions: deterministic, about 50,000 texts a
second, and texts sharing most words get close vectors, so clustering still
groups the synthetic problems. `use()` registers it under the name `local`.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from docloop import registry
from docloop.backends.embedders.base import Embedder

WORD = re.compile(r"[a-z0-9_]+")


class HashingEmbedder(Embedder):
    """Words and adjacent word pairs, hashed (crc32) to a signed slot; rows L2-normalised."""

    name = "hashing-384"
    dim = 384

    @classmethod
    def from_settings(cls, settings: Any, **deps: Any) -> HashingEmbedder:
        return cls()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = WORD.findall(text.lower())
            features = words + [f"{a} {b}" for a, b in pairwise(words)]
            hashes = np.array([zlib.crc32(f.encode()) for f in features] or [0], dtype=np.int64)
            signs = np.where(hashes & 1, 1.0, -1.0) if features else np.zeros(1)
            out[row] = np.bincount((hashes >> 1) % self.dim, weights=signs, minlength=self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


def use() -> None:
    """Make `embedder = "local"` build the hashing embedder in this process."""
    registry.BACKENDS["embedder"]["local"] = "hash_embedder:HashingEmbedder"
