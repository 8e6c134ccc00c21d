"""Extract problems, embed and cluster them, and keep the significant insights.

Input: the window's `Conversation`s and `Message`s. Output: an
`AnalysisResult` holding the problems, their embeddings, the clusters (with
stored identities) and the significant `Insight`s sorted by score. Nothing is
persisted until `AnalysisResult.save_identities`, which the analyse step calls
(a dry run saves into its throw-away copy).

Significance filter: an insight is reported when it spans at least
`min_conversations` conversations and at least min(2, min_conversations)
distinct users (`QualitySettings.min_users`, 2) — one person repeating a
question is not a recurring problem.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from docloop import registry
from docloop.backends.analyzers.base import Analyzer
from docloop.backends.embedders.cache import CachedEmbedder
from docloop.config import Settings
from docloop.models import Insight, Problem
from docloop.quality import SHIPPED, QualitySettings
from docloop.stages.cluster import Cluster, cluster_problems, running_centroid
from docloop.stages.insights import build_insight, community_words, document_frequencies
from docloop.stages.window import (
    BLOCK_CONVERSATIONS,
    MessageWindow,
    WindowConversations,
    chunks,
)
from docloop.storage.insights import StoredCluster
from docloop.stores import InsightIdentities, Stores

log = logging.getLogger("docloop.analyse")
#: Problems embedded (and looked up in the embedding cache) at a time.
EMBED_BLOCK = 10_000


@dataclass
class AnalysisResult:
    """Everything the later stages need about this run's problems and insights."""

    problems: list[Problem]
    vectors: np.ndarray
    clusters: list[Cluster]
    insights: list[Insight]
    embedded: int = 0
    embedding_cache_hits: int = 0

    @cached_property
    def centroids(self) -> dict[str, np.ndarray]:
        """Insight id -> centroid (the match stage's query vector)."""
        return {c.id: c.centroid for c in self.clusters}

    @cached_property
    def position(self) -> dict[str, int]:
        """Problem id -> its row in `problems` and `vectors`."""
        return {p.id: i for i, p in enumerate(self.problems)}

    def save_identities(self, store: InsightIdentities) -> None:
        """Persist insight identities (fingerprint, centroid, members) so next run keeps them.

        The insights' reported state follows once they are matched and filed
        (`InsightIdentities.save_snapshots`, the report step).
        """
        store.save(
            (c.id, c.centroid, [(self.problems[i].id, self.problems[i].conversation_id)
                                for i in c.members])
            for c in self.clusters
        )


def analyse(settings: Settings, stores: Stores, analyzer: Analyzer,
            conversations: WindowConversations, window: MessageWindow,
            quality: QualitySettings = SHIPPED, release_window: bool = False) -> AnalysisResult:
    """Run extract → embed → cluster → describe → filter, with `quality`'s knobs.

    Conversations are extracted a block at a time (`BLOCK_CONVERSATIONS`), so
    only one block's messages are in memory; a window smaller than a block (every
    labelled set) is one call, as before. `release_window` drops the window's
    conversation outline after extraction (a run analyses once; the benchmarks
    that re-analyse one window with other knobs keep it).
    """
    log.info("extract - %d conversation(s) with the %s analyzer", len(conversations),
             analyzer.name)
    problems = [p for block in chunks(conversations, BLOCK_CONVERSATIONS)
                for p in analyzer.extract(block)]
    if release_window:
        window.release_groups()
    log.info("cluster - %d problem(s)", len(problems))
    embedder = registry.build_embedder(settings, stores)
    vectors = _embed(embedder, problems)
    bodies = _body_vectors(embedder, problems)
    log.debug("embedded - %d vector(s), %d verbatim message(s)", len(vectors), len(bodies))
    store = stores.insights
    known = store.members()
    clusters = cluster_problems(problems, vectors,
                                in_space(store.clusters(), known, problems, vectors), known,
                                threshold=quality.cluster_threshold,
                                merge_threshold=quality.merge_threshold,
                                shared_weight=quality.shared_weight,
                                center_shrink=quality.center_shrink,
                                lexical_weight=quality.lexical_weight,
                                hub_weight=quality.hub_weight, hub_k=quality.hub_k,
                                lift_isolated=quality.lift_isolated,
                                body_vectors=bodies,
                                attach_threshold=quality.attach_threshold,
                                fragment_quantile=quality.fragment_quantile,
                                fragment_size=quality.fragment_size)
    log.debug("clustered - %d cluster(s)", len(clusters))
    reference = window.newest
    idf, common = document_frequencies(problems), community_words(problems)
    candidates = [c for c in clusters
                  if _may_be_significant(c, problems, settings.min_conversations,
                                         quality.min_users)]
    described = ([build_insight(c, problems, vectors, window.lookup(_evidence_ids(c, problems)),
                                reference, idf, common)
                  for c in candidates] if reference is not None else [])
    log.debug("described - %d candidate(s)", len(described))
    insights = sorted((i for i in described
                       if _significant(i, settings.min_conversations, quality.min_users)),
                      key=lambda i: (-i.score, i.id))
    return AnalysisResult(problems, vectors, clusters, insights,
                          embedded=embedder.computed, embedding_cache_hits=embedder.cached)


def fold_insights(analysis: AnalysisResult, targets: Mapping[str, str],
                  window: MessageWindow) -> AnalysisResult:
    """`analysis` with each insight in `targets` folded into the one it names
    (stages.settle): its problems join that cluster, whose centroid and description are
    made anew, and its own identity is not kept. The insights are sorted by score again."""
    if not targets or window.newest is None:
        return analysis
    clusters = {c.id: c for c in analysis.clusters}
    for absorbed, keep in targets.items():
        clusters[keep].members.extend(clusters[absorbed].members)
    changed = set(targets.values())
    kept = [c for c in analysis.clusters if c.id not in targets]
    idf, common = document_frequencies(analysis.problems), community_words(analysis.problems)
    for cluster in kept:
        if cluster.id in changed:
            cluster.centroid = running_centroid(cluster, analysis.vectors)
    rebuilt = {c.id: build_insight(c, analysis.problems, analysis.vectors,
                                   window.lookup(_evidence_ids(c, analysis.problems)),
                                   window.newest, idf, common)
               for c in kept if c.id in changed}
    insights = sorted((rebuilt.get(i.id, i) for i in analysis.insights if i.id not in targets),
                      key=lambda i: (-i.score, i.id))
    log.info("settle - %d small insight(s) folded into one on their docs section",
             len(targets))
    return AnalysisResult(analysis.problems, analysis.vectors, kept, insights,
                          embedded=analysis.embedded,
                          embedding_cache_hits=analysis.embedding_cache_hits)


def _embed(embedder: CachedEmbedder, problems: Sequence[Problem]) -> np.ndarray:
    """Problem vectors, filled `EMBED_BLOCK` problems at a time.

    The cache holds a block's texts, looked-up vectors and rows to store at
    once; a whole million-message window at once would hold each of them for
    every problem beside the result.
    """
    if not problems:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    first = embedder.embed([p.with_answer for p in problems[:EMBED_BLOCK]])
    vectors = np.zeros((len(problems), first.shape[1]), dtype=np.float32)  # dim as answered
    vectors[:len(first)] = first
    for start in range(EMBED_BLOCK, len(problems), EMBED_BLOCK):
        block = problems[start:start + EMBED_BLOCK]
        vectors[start:start + len(block)] = embedder.embed([p.with_answer for p in block])
    return vectors


def _body_vectors(embedder: CachedEmbedder, problems: Sequence[Problem]) -> dict[int, np.ndarray]:
    """Row -> embedding of the problem's verbatim messages, for problems that have them.

    Clustering reads these (real reports differ in the code they paste,
    `Problem.embedding_text`); the match stage keeps the problem text's vector, which
    is closer to documentation prose. Only problems whose text dropped code or length
    have a body, so a chat of short messages embeds nothing twice.
    """
    rows = [i for i, p in enumerate(problems) if p.body]
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(rows), EMBED_BLOCK):
        block = rows[start:start + EMBED_BLOCK]
        out.update(zip(block, embedder.embed([problems[i].embedding_text for i in block]),
                       strict=True))
    return out


def _may_be_significant(cluster: Cluster, problems: Sequence[Problem],
                        min_conversations: int, min_users: int) -> bool:
    """`_significant`, decided from the members alone (before an insight is described)."""
    members = [problems[i] for i in cluster.members]
    conversations = len({p.conversation_id for p in members})
    users = len({a for p in members for a in p.author_ids})
    return conversations >= min_conversations and users >= min(min_users, min_conversations)


def _evidence_ids(cluster: Cluster, problems: Sequence[Problem]) -> Iterator[str]:
    """Messages an insight description reads: quoted ones and each conversation's root.

    Read one insight at a time: when a few insights hold most problems (a million
    messages of one community), all their messages at once would be most of the window.
    """
    for index in cluster.members:
        yield problems[index].conversation_id
        yield from (q.message_id for q in problems[index].quotes)


def in_space(stored: list[StoredCluster], known: dict[str, str], problems: Sequence[Problem],
             vectors: np.ndarray) -> list[StoredCluster]:
    """Stored insights with centroids in this run's embedding space.

    After a change of embedding model the stored centroids have another
    dimension and cannot be compared. Such an insight is re-centred on its
    known members found in this run (their new vectors), so it keeps its
    identity and ticket; one with no member here sits this run out.
    """
    dim = vectors.shape[1] if len(vectors) else 0
    if all(len(s.centroid) == dim for s in stored):
        return stored
    rows: dict[str, list[int]] = {}
    for index, problem in enumerate(problems):
        if problem.id in known:
            rows.setdefault(known[problem.id], []).append(index)
    kept = [s for s in stored if len(s.centroid) == dim]
    for old in (s for s in stored if len(s.centroid) != dim and s.id in rows):
        mean = vectors[rows[old.id]].mean(axis=0)
        kept.append(StoredCluster(old.id, mean / max(float(np.linalg.norm(mean)), 1e-12),
                                  old.size))
    log.info("embedding model changed: %d stored insight(s) re-centred from their members",
             len(kept))
    return kept


def _significant(insight: Insight, min_conversations: int, min_users: int) -> bool:
    return (len(insight.conversation_ids) >= min_conversations
            and insight.users >= min(min_users, min_conversations))
