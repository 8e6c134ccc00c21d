"""Label, match and suggest for one insight.

Input: an `Insight` from analysis, the analyzer and the docs index.
Output: the same insight with its (possibly model-written) title and
summary, `doc` (page, section, verdict) and `suggestion`. Called once per
insight so a failure stays with that insight.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from docloop.backends.analyzers.base import Analyzer
from docloop.backends.docs_index.rerank import RankSettings
from docloop.config import Settings
from docloop.models import DocChunk, DocMatch, Insight, PageHit, Problem
from docloop.stages.insights import shared_words
from docloop.stages.match import MAX_VOTERS, VOTE_K, group_query, match_insight
from docloop.stages.verdict import ChatWords, VerdictSettings, reference_similarity
from docloop.stores import Stores

if TYPE_CHECKING:
    from docloop.backends.docs_index.hybrid import HybridDocsIndex

log = logging.getLogger("docloop.enrich")


def open_docs(settings: Settings, stores: Stores,
              rank: RankSettings | None = None) -> HybridDocsIndex | None:
    """The docs index (ranking with `rank`), or None (with a warning) when nothing has
    been indexed."""
    from docloop.stages.index_docs import open_index

    index = open_index(settings, stores, rank)
    if index.page_count() == 0:
        log.warning("no documentation is indexed: run `docloop index-docs PATH` first; "
                    "insights will have no page")
        return None
    index.check_embedder()
    return index


def run_reference(centroids: list[np.ndarray], docs: HybridDocsIndex | None,
                  verdict: VerdictSettings) -> float | None:
    """The median of how close the docs come to each of the run's insights' `centroids`
    (None without docs or with too few insights): the `missing` verdict's reference once
    held to the model's fit floor (verdict.held_reference)."""
    if docs is None or not centroids:
        return None
    return reference_similarity(docs.best_similarities(np.stack(centroids)).tolist(), verdict)


def enrich_insight(insight: Insight, problems: Sequence[Problem], vectors: np.ndarray,
                   centroid: np.ndarray, analyzer: Analyzer, docs: HybridDocsIndex | None,
                   reference: float | None = None,
                   verdict: VerdictSettings | None = None,
                   chat: ChatWords | None = None,
                   group_rank: RankSettings | None = None,
                   matched: DocMatch | None = None) -> None:
    """Fill in title/summary, doc match and suggestion, in place (`reference`: the
    run's, verdict.held_reference; `chat`: the run's counts of the members' words,
    ChatWords.of_members;
    `group_rank`: the joined query's re-ranking, default the shipped `RankSettings`;
    `matched`: this insight's match made before labelling (stages.settle), kept when the
    label left the title and summary the match read as they were).

    `problems` are the insight's members in `problem_ids` order, `vectors` the
    embeddings of the first `MAX_VOTERS` of them, `centroid` the insight's: all an
    insight needs from the run's analysis, so it can be enriched in another process.
    """
    described = (insight.title, insight.summary)
    insight.title, insight.summary = analyzer.label(insight, problems)
    chunks: list[DocChunk] = []
    source = None
    if docs is not None and matched is not None and described == (insight.title,
                                                                   insight.summary):
        insight.doc = matched
        chunks = docs.page_chunks(matched.path) if matched.path else []
    elif docs is not None:
        insight.doc, chunks = match_members(insight, problems, vectors, centroid, docs,
                                            reference, verdict, chat, group_rank)
    page = insight.doc.path if docs is not None and insight.doc is not None else None
    if docs is not None and page:
        source = docs.page_source(page)
    insight.suggestion = analyzer.suggest(insight, chunks, source,
                                          docs.mention_share if docs is not None else None)


def match_members(insight: Insight, problems: Sequence[Problem], vectors: np.ndarray,
                  centroid: np.ndarray, docs: HybridDocsIndex, reference: float | None = None,
                  verdict: VerdictSettings | None = None, chat: ChatWords | None = None,
                  group_rank: RankSettings | None = None) -> tuple[DocMatch, list[DocChunk]]:
    """The insight's page, section and verdict from its members' evidence (enrich_insight's
    match, also run before the insights are final: stages.settle)."""
    evidence = [(problem.with_answer, vector)
                for problem, vector in zip(problems[:MAX_VOTERS], vectors, strict=True)]
    group = group_hits([text for text, _ in evidence], docs, verdict, group_rank)
    words = [problem.body or problem.text for problem in problems]
    return match_insight(insight, centroid, docs, evidence, reference, verdict, group, words,
                         docs.store.page_hubs(), chat, shared_words(problems))


def group_hits(texts: list[str], docs: HybridDocsIndex, verdict: VerdictSettings | None,
               rank: RankSettings | None = None) -> list[PageHit]:
    """The members' texts joined, searched as one query and re-ranked with `rank` (default
    the shipped `RankSettings`, as `docs search` ranks; `group_breadth`, when set, replaces
    its breadth weight); empty when the group query is weighted 0."""
    verdict = verdict or VerdictSettings()
    if not texts or verdict.group_weight <= 0:
        return []
    rank = rank or RankSettings()
    if verdict.group_breadth is not None:
        rank = replace(rank, breadth=verdict.group_breadth)
    return docs.search_ranked(group_query(texts), VOTE_K, rank)
