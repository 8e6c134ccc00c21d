"""Label, match and suggest for one insight.

Input: an `Insight` from analysis, the analyzer and the docs index.
Output: the same insight with its (possibly model-written) title and
summary, `doc` (page, section, verdict) and `suggestion`. Called once per
insight so a failure stays with that insight.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from docloop.backends.analyzers.base import Analyzer
from docloop.backends.docs_index.rerank import RankSettings
from docloop.config import Settings
from docloop.models import DocChunk, Insight, PageHit
from docloop.stages.match import MAX_VOTERS, VOTE_K, group_query, match_insight
from docloop.stages.verdict import VerdictSettings, reference_similarity

if TYPE_CHECKING:
    from docloop.backends.docs_index.sqlite import SQLiteDocsIndex
    from docloop.stages.analyse import AnalysisResult

log = logging.getLogger("docloop.enrich")


def open_docs(settings: Settings, conn: sqlite3.Connection,
              rank: RankSettings | None = None) -> SQLiteDocsIndex | None:
    """The docs index (ranking with `rank`), or None (with a warning) when nothing has
    been indexed."""
    from docloop.stages.index_docs import open_index

    index = open_index(settings, conn, rank)
    if index.page_count() == 0:
        log.warning("no documentation is indexed: run `docloop index-docs PATH` first; "
                    "insights will have no page")
        return None
    index.check_embedder()
    return index


def run_reference(analysis: AnalysisResult, docs: SQLiteDocsIndex | None,
                  verdict: VerdictSettings) -> float | None:
    """The run's reference similarity for the `missing` verdict: the median of how close
    the docs come to each of its insights (None without docs or with too few insights)."""
    if docs is None or not analysis.insights:
        return None
    centroids = np.stack([analysis.centroids[i.id] for i in analysis.insights])
    return reference_similarity(docs.best_similarities(centroids).tolist(), verdict)


def enrich_insight(insight: Insight, analysis: AnalysisResult, analyzer: Analyzer,
                   docs: SQLiteDocsIndex | None, reference: float | None = None,
                   verdict: VerdictSettings | None = None) -> None:
    """Fill in title/summary, doc match and suggestion, in place (`reference`: see
    run_reference)."""
    members = [analysis.position[pid] for pid in insight.problem_ids]
    problems = [analysis.problems[i] for i in members]
    insight.title, insight.summary = analyzer.label(insight, problems)
    chunks: list[DocChunk] = []
    source = None
    if docs is not None:
        evidence = [(analysis.problems[i].with_answer, analysis.vectors[i])
                    for i in members[:MAX_VOTERS]]
        group = group_hits([text for text, _ in evidence], docs, verdict)
        insight.doc, chunks = match_insight(insight, analysis.centroids[insight.id], docs,
                                            evidence, reference, verdict, group)
        if insight.doc.path:
            source = docs.page_source(insight.doc.path)
    insight.suggestion = analyzer.suggest(insight, chunks, source)


def group_hits(texts: list[str], docs: SQLiteDocsIndex,
               verdict: VerdictSettings | None) -> list[PageHit]:
    """The members' texts joined, searched as one query and re-ranked with the shipped
    `RankSettings` (as `docs search` ranks; `group_breadth`, when set, replaces its
    breadth weight); empty when the group query is weighted 0."""
    verdict = verdict or VerdictSettings()
    if not texts or verdict.group_weight <= 0:
        return []
    rank = RankSettings()
    if verdict.group_breadth is not None:
        rank = replace(rank, breadth=verdict.group_breadth)
    return docs.search_ranked(group_query(texts), VOTE_K, rank)
