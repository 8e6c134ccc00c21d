"""Test doubles shared by the docs tests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from docloop.backends.embedders.base import Embedder


class HashingEmbedder(Embedder):
    """Bag-of-words hashed into 384 dims: deterministic, instant, similar texts stay close."""

    name = "hashing-test"
    dim = 384

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    @property
    def embedded(self) -> int:
        return sum(len(c) for c in self.calls)


def write_docs(root, files: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Create a docs folder from {relative path: text}."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
