"""Label, match and suggest for one insight.

Input: an `Insight` from analysis, the analyzer and the docs index.
Output: the same insight with its (possibly model-written) title and
summary, `doc` (page, section, verdict) and `suggestion`. Called once per
insight so a failure stays with that insight.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from docloop.backends.analyzers.base import Analyzer
from docloop.config import Settings
from docloop.models import DocChunk, Insight
from docloop.stages.match import MAX_VOTERS, match_insight

if TYPE_CHECKING:
    from docloop.backends.docs_index.sqlite import SQLiteDocsIndex
    from docloop.stages.analyse import AnalysisResult

log = logging.getLogger("docloop.enrich")


def open_docs(settings: Settings, conn: sqlite3.Connection) -> SQLiteDocsIndex | None:
    """The docs index, or None (with a warning) when nothing has been indexed."""
    from docloop.stages.index_docs import open_index

    index = open_index(settings, conn)
    if index.page_count() == 0:
        log.warning("no documentation is indexed: run `docloop index-docs PATH` first; "
                    "insights will have no page")
        return None
    index.check_embedder()
    return index


def enrich_insight(insight: Insight, analysis: AnalysisResult, analyzer: Analyzer,
                   docs: SQLiteDocsIndex | None) -> None:
    """Fill in title/summary, doc match and suggestion, in place."""
    members = [analysis.position[pid] for pid in insight.problem_ids]
    problems = [analysis.problems[i] for i in members]
    insight.title, insight.summary = analyzer.label(insight, problems)
    chunks: list[DocChunk] = []
    source = None
    if docs is not None:
        evidence = [(analysis.problems[i].with_answer, analysis.vectors[i])
                    for i in members[:MAX_VOTERS]]
        insight.doc, chunks = match_insight(insight, analysis.centroids[insight.id], docs,
                                            evidence)
        if insight.doc.path:
            source = docs.page_source(insight.doc.path)
    insight.suggestion = analyzer.suggest(insight, chunks, source)
