"""Where on a reviewer's page an insight belongs, when the match never ranked that page.

A reviewer may move an insight to any page of the local docs index
(review_doc.py). A candidate page comes with the section the match found on
it; a page the match did not rank came with none, so its ticket linked the top
of the page and left the writer to find the place on a long reference page
(Vite's `config/server-options.md` has 40 sections). The section chosen here is
the page's chunk nearest the insight's own query (its title, questions and
users' terms, as the match stage searches with), by the vectors the index
already holds: one query embedding, no search over other pages.
"""

from __future__ import annotations

import numpy as np

from docloop.backends.docs_index.hybrid import HybridDocsIndex
from docloop.models import Insight
from docloop.stages.match import insight_query


def nearest_section(index: HybridDocsIndex, path: str, insight: Insight) -> tuple[str, str]:
    """The heading and anchor of `path`'s chunk nearest the insight; ('', '') when the page
    has no chunk vectors to compare (an index written without them), so the page's top is
    linked as before."""
    vectors = index.candidate_vectors(path)  # in the layout's (rowid) order
    layout = index.store.layout()
    by_id = {chunk.id: chunk for chunk in index.page_chunks(path)}
    ids = [layout.chunk_ids[int(row)] for row in layout.page_rows(path)]
    if not ids or len(vectors) != len(ids) or set(ids) - by_id.keys():
        return "", ""
    query, _ = index.embed_queries([insight_query(insight)], frozenset())
    best = by_id[ids[int(np.argmax(vectors @ np.asarray(query[0], dtype=np.float32)))]]
    return best.heading, best.anchor
