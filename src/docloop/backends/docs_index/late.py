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


def part_features(part_cosines: np.ndarray, page_rows: Sequence[np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """`parts` and `agree` per candidate page from every chunk's cosine with every part
    (chunks x parts) and each candidate's chunk positions; zeros without parts."""
    pages = len(page_rows)
    if part_cosines.ndim != 2 or part_cosines.shape[1] == 0 or pages == 0:
        return np.zeros(pages), np.zeros(pages)
    best = np.zeros((pages, part_cosines.shape[1]))
    for i, rows in enumerate(page_rows):
        if len(rows):
            best[i] = part_cosines[rows].max(axis=0)
    parts = best.mean(axis=1)
    winners = np.argmax(best, axis=0)
    agree = np.bincount(winners, minlength=pages) / best.shape[1]
    return parts, agree
