"""Where on a reviewer's page an insight belongs, when the match never ranked that page.

A reviewer may move an insight to any page of the local docs index
(review_doc.py). A candidate page comes with the section the match found on
it; a page the match did not rank came with none, so its ticket linked the top
of the page and left the writer to find the place on a long reference page
(Vite's `config/server-options.md` has 40 sections). The section chosen here is
the one the docs search would name for that page given the insight's own query
(its title, questions and users' terms, as the match stage searches with): the
page's best chunk by the search's fused vector and keyword score, so a name
users paste counts as it does in search.
"""

from __future__ import annotations

from docloop.backends.docs_index.hybrid import HybridDocsIndex
from docloop.models import Insight
from docloop.stages.match import insight_query


def nearest_section(index: HybridDocsIndex, path: str, insight: Insight) -> tuple[str, str]:
    """The heading and anchor of the section of `path` the search would name for the
    insight; ('', '') when the index does not hold the page (its top is linked)."""
    best = index.best_section(path, insight_query(insight))
    return (best.heading, best.anchor) if best is not None else ("", "")
