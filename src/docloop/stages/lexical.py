"""The words two problems share, as vectors clustering can add to the embedding.

MiniLM places two real reports of one problem only a little closer than two
different problems of the same product (centred cosine 0.26–0.33 within a
group against 0.21–0.24 at the 95th percentile between groups on the real
Pydantic and Vite sets: `benchmarks/spread_bench.py`), yet such reports name
the same rare things: `pyinstaller`, `allowedHosts`, "trailing slash". A
TF-IDF vector over the run's problems (content words and code-term parts,
idf from this run, so what every problem says weighs nothing) catches that.

The vectors are hashed into a fixed number of dimensions (deterministic
crc32, not Python's salted `hash`) so they can be concatenated with the
embedding: with weights √(1−w) and √w, a dot product in the joint space is
(1−w)·embedding cosine + w·TF-IDF cosine, and centroids stay plain means.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np

from docloop.models import Problem
from docloop.text import code_terms, content_words

DIMENSIONS = 1024


def lexical_vectors(problems: Sequence[Problem], dims: int = DIMENSIONS) -> np.ndarray:
    """Unit TF-IDF vectors (binary tf, run idf) of each problem's `embedding_text`.

    Two passes over the problems rather than every problem's word set held at once,
    and normalised in place: at 188k problems the word sets and a normalised copy
    of the matrix were gigabytes (the 1M first run's peak).
    """
    df: Counter[str] = Counter()
    for problem in problems:
        df.update(_terms(problem))
    n = len(problems)
    out = np.zeros((n, dims), dtype=np.float32)
    for row, problem in enumerate(problems):
        for term in _terms(problem):
            weight = math.log((n + 1) / df[term])
            out[row, zlib.crc32(term.encode()) % dims] += weight
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.where(norms > 0, norms, 1.0)
    return out


def _terms(problem: Problem) -> set[str]:
    """The problem's distinct words and code terms (the same set on every call)."""
    return set(content_words(problem.embedding_text)) | code_terms(problem.embedding_text)


def joint_space(embedded: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    """[√(1−w)·embedding | √w·lexical]: dot products blend the two cosines.

    Filled in place: no scaled copies of both halves beside the result."""
    if not weight:
        return embedded
    width = embedded.shape[-1]
    out = np.empty((*embedded.shape[:-1], width + lexical.shape[-1]), dtype=np.float32)
    np.multiply(embedded, math.sqrt(1 - weight), out=out[..., :width], casting="same_kind")
    np.multiply(lexical, math.sqrt(weight), out=out[..., width:], casting="same_kind")
    return out


def pad_lexical(vectors: np.ndarray, weight: float, dims: int = DIMENSIONS) -> np.ndarray:
    """Embedding-only vectors (stored centroids) placed in the joint space."""
    if not weight:
        return vectors
    shape = (*vectors.shape[:-1], dims)
    return joint_space(vectors, np.zeros(shape, dtype=np.float32), weight)
