"""Late interaction: scoring a candidate page on each part of the query, not on its mean.

A chat message mixes an error line, a code snippet and a "how do I ..." sentence;
a group query joins several such messages. One embedding of the whole is the mean
of all of it, and the page whose one passage sits closest to that mean is often a
catch-all page that mentions everything once. Late interaction (ColBERT's max-sim,
here at sentence-to-passage granularity with the model the index already uses)
embeds each part of the query (docs/query.py `query_parts`), finds each part's
closest passage on every candidate page, and scores the page on how well it
answers every part:

- `parts`: the mean over the query's parts of the page's best passage cosine;
- `agree`: the share of the parts for which this page holds the closest passage
  among the candidates (the parts' agreement, as an insight's members agree).

Only the candidate pages' chunk rows are touched; the part vectors cost one small
embedding batch per query.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def part_features(parts: np.ndarray, pages: Sequence[np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """`parts` and `agree` per candidate page from the query parts' vectors (parts x dim)
    and each candidate's chunk vectors (chunks x dim; unit vectors, so products are
    cosines); zeros without parts, and for a page without vectors."""
    count = len(pages)
    if parts.ndim != 2 or len(parts) == 0 or count == 0:
        return np.zeros(count), np.zeros(count)
    best = np.zeros((count, len(parts)))
    for i, vectors in enumerate(pages):
        if len(vectors) and vectors.shape[1] == parts.shape[1]:
            best[i] = (vectors @ parts.T).max(axis=0)
    winners = np.argmax(best, axis=0)
    return best.mean(axis=1), np.bincount(winners, minlength=count) / len(parts)
