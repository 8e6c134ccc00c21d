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

A problem names a few dozen terms, so its TF-IDF vector is kept sparse
(`SparseRows`) and the joint space (`JointSpace`) writes dense rows only for
the rows a caller asks for: at 188k problems a dense 1,408-dim joint space is
1.06 GB, the sparse one about 60 MB beside the embedding.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from docloop.models import Problem
from docloop.text import code_terms, content_words

DIMENSIONS = 1024
#: problems whose TF-IDF rows are filled densely at a time before being made sparse
FILL_BLOCK = 4096


@dataclass(frozen=True)
class SparseRows:
    """Rows in compressed-row form: row i holds `values[indptr[i]:indptr[i + 1]]` at
    the columns `indices[indptr[i]:indptr[i + 1]]` (each column once per row)."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    width: int

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def scaled(self, factor: float) -> SparseRows:
        """The same rows times `factor` (float32, as a dense float32 array would be)."""
        values = np.multiply(self.values, factor, dtype=np.float32)
        return SparseRows(self.indptr, self.indices, values, self.width)

    def fill(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Write row `rows[j]` into `out[j]` (whose other cells are left as they are)."""
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            return
        first = np.cumsum(lengths) - lengths
        flat = np.arange(total) - np.repeat(first - starts, lengths)
        out[np.repeat(np.arange(len(rows)), lengths), self.indices[flat]] = self.values[flat]

    def dense(self) -> np.ndarray:
        out = np.zeros((len(self), self.width), dtype=np.float32)
        self.fill(np.arange(len(self)), out)
        return out

    @classmethod
    def stacked(cls, parts: Sequence[SparseRows], width: int) -> SparseRows:
        """One matrix of `parts`' rows, in order."""
        indptr = [np.zeros(1, dtype=np.int64)]
        for part in parts:
            indptr.append(part.indptr[1:] + indptr[-1][-1])
        return cls(np.concatenate(indptr),
                   np.concatenate([p.indices for p in parts] or [np.zeros(0, dtype=np.int32)]),
                   np.concatenate([p.values for p in parts] or [np.zeros(0, dtype=np.float32)]),
                   width)

    @classmethod
    def from_dense(cls, block: np.ndarray) -> SparseRows:
        """The non-zero cells of a dense block, row by row."""
        rows, columns = np.nonzero(block)
        counts = np.bincount(rows, minlength=len(block)).astype(np.int64)
        indptr = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(counts)])
        return cls(indptr, columns.astype(np.int32), block[rows, columns], block.shape[1])


def lexical_rows(problems: Sequence[Problem], dims: int = DIMENSIONS) -> SparseRows:
    """Unit TF-IDF vectors (binary tf, run idf) of each problem's `embedding_text`, sparse.

    Two passes over the problems rather than every problem's word set held at once;
    each block of rows is filled and normalised densely (the same float32 values as
    one dense matrix would hold) and only its non-zero cells are kept.
    """
    df: Counter[str] = Counter()
    for problem in problems:
        df.update(_terms(problem))
    n = len(problems)
    parts = []
    for start in range(0, n, FILL_BLOCK):
        chunk = problems[start:start + FILL_BLOCK]
        block = np.zeros((len(chunk), dims), dtype=np.float32)
        for row, problem in enumerate(chunk):
            for term in _terms(problem):
                weight = math.log((n + 1) / df[term])
                block[row, zlib.crc32(term.encode()) % dims] += weight
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        block /= np.where(norms > 0, norms, 1.0)
        parts.append(SparseRows.from_dense(block))
    return SparseRows.stacked(parts, dims)


def lexical_vectors(problems: Sequence[Problem], dims: int = DIMENSIONS) -> np.ndarray:
    """`lexical_rows` as one dense matrix (for small sets and the benchmarks)."""
    return lexical_rows(problems, dims).dense()


def _terms(problem: Problem) -> set[str]:
    """The problem's distinct words and code terms (the same set on every call)."""
    return set(content_words(problem.embedding_text)) | code_terms(problem.embedding_text)


class JointSpace:
    """[√(1−w)·embedding | √w·lexical] with the lexical half sparse.

    Indexing (`space[i]`, `space[start:stop]`, `space[list_of_rows]`) gives dense
    rows, the same float32 values `joint_space` would hold; `dense()` gives them all.
    """

    def __init__(self, embedded: np.ndarray, lexical: SparseRows | None, weight: float) -> None:
        """Scales `embedded` in place (the caller's centred copy, not kept elsewhere)."""
        self.lexical: SparseRows | None = None
        if lexical is not None and weight:
            np.multiply(embedded, math.sqrt(1 - weight), out=embedded, casting="same_kind")
            self.lexical = lexical.scaled(math.sqrt(weight))
        self.embedded = embedded
        width = self.lexical.width if self.lexical is not None else 0
        self.shape = (len(embedded), embedded.shape[1] + width)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: int | slice | Sequence[int] | np.ndarray) -> np.ndarray:
        if isinstance(index, (int, np.integer)):
            return self.rows(np.array([int(index)]))[0]
        if isinstance(index, slice):
            return self.rows(np.arange(len(self))[index])
        return self.rows(np.asarray(index, dtype=np.int64))

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """Dense joint rows `rows` (a new array)."""
        if self.lexical is None:
            return self.embedded[rows]
        width = self.embedded.shape[1]
        out = np.zeros((len(rows), self.shape[1]), dtype=np.float32)
        out[:, :width] = self.embedded[rows]
        self.lexical.fill(rows, out[:, width:])
        return out

    def dense(self) -> np.ndarray:
        """Every row (the embedding itself when there is no lexical half)."""
        return self.embedded if self.lexical is None else self.rows(np.arange(len(self)))


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
