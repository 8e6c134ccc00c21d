"""Cluster problems into insights with identities that persist between runs.

Input: `Problem`s and their embeddings; stored identities (`InsightStore`).
Output: `Cluster`s (fingerprint, centroid, member problems).

Algorithm (chosen by measurement in `benchmarks/quality_bench.py`, against the
seed's DBSCAN): problems seen in an earlier run keep their insight. The rest is
done in the run's centred space: every vector minus what this community's
problems share (their shrunk mean), so one threshold works for a broad
community (FastAPI) and a narrow one (typescript-eslint, where raw cosines of
unrelated problems reach 0.58 at p95; `benchmarks/spread_bench.py`). New
problems, oldest first, join the nearest centroid — stored or new — when the
similarity reaches `threshold`, else start a cluster; then every new problem is
re-assigned to its best centroid for a few rounds (a k-means refinement with a
variable k), and new clusters whose centroids are closer than `merge_threshold`
are merged. The similarity to a cluster gets a bonus of up to `shared_weight`
when the problem shares a rare code term with one of its members (see
`shared_terms.py`), and the space can blend in a TF-IDF cosine of shared words
(`lexical.py`). Every weight and threshold is a `QualitySettings` field chosen by
`benchmarks/calibrate.py`, leave-one-community-out over six labelled sets (two
of them real communities); the quality bench measures the shipped values. It is
O(problems x clusters), needs no n² matrix, keeps singletons (one summary
covering a problem is still a problem; significance decides what is reported)
and is deterministic for the same data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from docloop.models import Problem
from docloop.quality import SHIPPED
from docloop.stages.centroids import (
    CentroidRows,
    MemberSums,
    Rows,
    first_close_earlier,
    member_sum,
    row_blocks,
    unit,
)
from docloop.stages.cluster_index import (
    COMMON_HOLDERS,
    BucketedCentroids,
    Centroids,
    bucket_centres,
)
from docloop.stages.fragments import attach_singletons
from docloop.stages.hubness import LocalScaling
from docloop.stages.lexical import JointSpace, lexical_rows, pad_lexical
from docloop.stages.mutual_fragments import join_mutual_fragments
from docloop.stages.shared_terms import SharedTerms
from docloop.storage.insights import StoredCluster

DEFAULT_THRESHOLD = SHIPPED.cluster_threshold
DEFAULT_MERGE = SHIPPED.merge_threshold
DEFAULT_SHARED_WEIGHT = SHIPPED.shared_weight
CENTER_SHRINK: float | None = SHIPPED.center_shrink
DEFAULT_LEXICAL_WEIGHT = SHIPPED.lexical_weight
DEFAULT_HUB_WEIGHT = SHIPPED.hub_weight
DEFAULT_HUB_K = SHIPPED.hub_k
DEFAULT_LIFT_ISOLATED = SHIPPED.lift_isolated
REFINE_ROUNDS = 3


@dataclass
class Cluster:
    """One group of problems; `stored` is True when the identity existed before."""

    id: str
    centroid: np.ndarray
    members: list[int] = field(default_factory=list)
    stored_size: int = 0
    stored: bool = False
    base: np.ndarray | None = None


def fingerprint(problem: Problem) -> str:
    """A new insight's id: derived from the first problem that founded it."""
    return "ins_" + hashlib.sha256(problem.conversation_id.encode()).hexdigest()[:16]


def cluster_problems(
    problems: Sequence[Problem],
    vectors: np.ndarray,
    stored: Sequence[StoredCluster] = (),
    known: dict[str, str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    merge_threshold: float = DEFAULT_MERGE,
    shared_weight: float = DEFAULT_SHARED_WEIGHT,
    center_shrink: float | None = CENTER_SHRINK,
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    hub_weight: float = DEFAULT_HUB_WEIGHT,
    hub_k: int = DEFAULT_HUB_K,
    lift_isolated: bool = DEFAULT_LIFT_ISOLATED,
    body_vectors: Mapping[int, np.ndarray] | None = None,
    attach_threshold: float | None = SHIPPED.attach_threshold,
    fragment_quantile: float | None = SHIPPED.fragment_quantile,
    fragment_size: int = SHIPPED.fragment_size,
) -> list[Cluster]:
    """Assign every problem to a cluster; returns clusters that have members.

    Clustering happens in the run's centred space (see `_domain_offset`), where the
    rows of `body_vectors` (a problem's verbatim messages, `Problem.embedding_text`)
    stand in for `vectors`; the returned centroids are means of `vectors`, for doc
    matching and for storage.
    """
    known = known or {}
    bodies = body_vectors or {}
    offset = _domain_offset(vectors, center_shrink, bodies)
    space = _clustering_space(problems, vectors, offset, lexical_weight, bodies)
    clusters = [Cluster(s.id, pad_lexical(_centre(s.centroid, offset), lexical_weight),
                        stored_size=s.size, stored=True,
                        base=pad_lexical(_centre(s.centroid, offset), lexical_weight))
                for s in stored]
    by_id = {c.id: c for c in clusters}
    order = sorted(range(len(problems)), key=lambda i: (problems[i].timestamp, problems[i].id))
    fresh: list[int] = []
    for index in order:
        owner = by_id.get(known.get(problems[index].id, ""))
        if owner is not None:
            owner.members.append(index)
        else:
            fresh.append(index)
    score = _Scoring(SharedTerms(problems, shared_weight),
                     LocalScaling(space, hub_weight, hub_k, lift_isolated))
    centres = bucket_centres(lambda ids: space.embedded[ids], len(space))
    _assign_online(fresh, problems, space, clusters, by_id, threshold, score, centres)
    for _ in range(REFINE_ROUNDS):
        _refresh_centroids(clusters, space)
        _reassign(fresh, space, clusters, threshold, score, centres)
    if attach_threshold is not None:
        _attach_singletons(clusters, space, score, attach_threshold, centres)
    if fragment_quantile is not None:
        _join_fragments(clusters, space, score, fragment_quantile, fragment_size, centres)
    _merge_new(clusters, space, merge_threshold, centres)
    raw = {s.id: unit(s.centroid) for s in stored}
    for cluster in clusters:
        cluster.base = raw.get(cluster.id)
    _refresh_centroids(clusters, vectors)
    return [c for c in clusters if c.members]


def centred(vectors: np.ndarray, shrink: float | None = CENTER_SHRINK) -> np.ndarray:
    """The run's vectors in the space clustering compares them in."""
    return _centre(vectors, _domain_offset(vectors, shrink))


def _domain_offset(vectors: np.ndarray, shrink: float | None,
                   bodies: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
    """What every problem of this community shares: their mean, shrunk towards zero.

    In one product's chat every problem is "about" the product (typescript-eslint
    problems of different groups sit at cosine 0.32 on average, FastAPI ones at 0.11:
    `benchmarks/spread_bench.py`), so a fixed cosine
    threshold merges everything in one community and splits paraphrases in another.
    Subtracting the shared direction makes similarities comparable across
    communities. Few problems give a noisy mean, so it is shrunk: sum / (n + shrink).
    """
    if shrink is None or len(vectors) == 0:
        return np.zeros(vectors.shape[1], dtype=np.float32)
    total = vectors.sum(axis=0)
    for row, body in (bodies or {}).items():
        total += body - vectors[row]
    return (total / (len(vectors) + shrink)).astype(np.float32)


def _centre(vectors: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Vectors (or one vector) minus the offset, back on the unit sphere.

    Divided in place: one copy of the run's vectors, not three (at a million
    messages each copy is about 300 MB).
    """
    shifted = np.asarray(vectors, dtype=np.float32) - offset
    norms = np.linalg.norm(shifted, axis=-1, keepdims=True)
    shifted /= np.where(norms > 0, norms, 1.0)
    return shifted


@dataclass
class _Scoring:
    """What is added to a problem's centroid similarity: the shared-term bonus minus the
    local-scaling penalty (hubness.py); both follow cluster membership."""

    terms: SharedTerms
    scaling: LocalScaling

    def index(self, clusters: list[Cluster]) -> None:
        self.terms.index((pos, c.members) for pos, c in enumerate(clusters))
        self.scaling.index((pos, c.members) for pos, c in enumerate(clusters))

    def add(self, position: int, member: int) -> None:
        self.terms.add(position, member)
        self.scaling.add(position, member)

    def offset(self, problem: int, clusters: int) -> np.ndarray:
        return (self.terms.bonus(problem, clusters)
                - self.scaling.penalty(problem, clusters)).astype(np.float32)

    def best(self, problem: int, vector: np.ndarray, centroids: Centroids,
             keep: int | None = None) -> tuple[int, float]:
        """The cluster (position) scoring highest for `problem`, and its score (see
        `scored`). Ties go to the earliest position either way."""
        positions, scores = self.scored(problem, vector, centroids, keep)
        if not len(positions):
            return -1, float("-inf")
        best = int(np.argmax(scores))
        return int(positions[best]), float(scores[best])

    def scored(self, problem: int, vector: np.ndarray, centroids: Centroids,
               keep: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The clusters `problem` is scored against (positions, ascending) and its scores.

        Exact: every cluster. Bucketed: the clusters of the problem's nearest buckets,
        plus every cluster sharing a rare term with it (its bonus may lift a far one
        over the threshold; a term more than `COMMON_HOLDERS` clusters hold only adds
        its bonus to those candidates) and `keep` (its current cluster, so a move never makes a
        problem's cluster worse).
        """
        if isinstance(centroids, CentroidRows):
            scores = centroids.matrix @ vector + self.offset(problem, len(centroids))
            return np.arange(len(centroids)), scores
        positions, similarities = centroids.candidates(vector)
        shared = self.terms.rarest_shared(problem, positions, COMMON_HOLDERS)
        wanted = np.array(sorted(set(shared) | ({keep} if keep is not None else set())),
                          dtype=np.int64)
        extra = wanted[~np.isin(wanted, positions)].tolist()  # no set of every candidate
        if extra:
            positions = np.concatenate([positions, np.asarray(extra, dtype=np.int64)])
            similarities = np.concatenate(
                [similarities, np.array([centroids.row(p) @ vector for p in extra],
                                        dtype=np.float32)])
            order = np.argsort(positions, kind="stable")
            positions, similarities = positions[order], similarities[order]
        bonus = np.zeros(len(positions), dtype=np.float32)
        if shared:  # every sharer is among the positions (added above)
            bonus[np.searchsorted(positions, list(shared))] = list(shared.values())
        bonus *= np.float32(self.terms.weight)
        return positions, similarities + (bonus - self.scaling.penalty_at(problem, positions)
                                          ).astype(np.float32)


def _clustering_space(problems: Sequence[Problem], vectors: np.ndarray, offset: np.ndarray,
                      lexical_weight: float,
                      bodies: Mapping[int, np.ndarray] | None = None) -> JointSpace:
    """The centred embedding, blended with shared words (see lexical.py) when weighted.

    Rows with a body vector take it (centred the same way) in the one centred copy,
    so no second full matrix is held. The TF-IDF half stays sparse (a dense one is
    1,024 floats a problem, about 770 MB at a million messages) and is not built at
    all without a lexical weight.
    """
    centred_vectors = _centre(vectors, offset)
    for row, body in (bodies or {}).items():
        centred_vectors[row] = _centre(body, offset)
    lexical = lexical_rows(problems) if lexical_weight else None
    return JointSpace(centred_vectors, lexical, lexical_weight)


def _assign_online(
    fresh: list[int], problems: Sequence[Problem], vectors: JointSpace,
    clusters: list[Cluster], by_id: dict[str, Cluster], threshold: float, terms: _Scoring,
    centres: np.ndarray | None = None,
) -> None:
    centroids = _centroid_rows(clusters, vectors.shape[1], centres)
    sums = MemberSums(vectors)
    terms.index(clusters)
    for index in fresh:
        vector = vectors[index]
        if clusters:
            best, score = terms.best(index, vector, centroids)
            if score >= threshold:
                clusters[best].members.append(index)
                terms.add(best, index)
                centroids[best] = _with_base(sums.joined(best, clusters[best].members),
                                             clusters[best])
                continue
        new = Cluster(_unique_id(fingerprint(problems[index]), by_id), vector, [index])
        by_id[new.id] = new
        terms.add(len(clusters), index)
        clusters.append(new)
        centroids.append(vector)
        bucketing = _bucketing(len(clusters), centres)
        if bucketing is not None and isinstance(centroids, CentroidRows):
            centroids = BucketedCentroids.filled(bucketing, list(centroids.matrix))


def _reassign(fresh: list[int], vectors: JointSpace, clusters: list[Cluster],
              threshold: float, terms: _Scoring, centres: np.ndarray | None = None) -> None:
    """Move each new problem to its best cluster (staying put when none is close)."""
    if not fresh:
        return
    terms.index(clusters)
    bucketing = _bucketing(len(clusters), centres)
    if bucketing is not None:
        _reassign_bucketed(fresh, vectors, clusters, threshold, terms, bucketing)
        return
    centroids = _matrix(clusters, vectors.shape[1])
    owner = {i: c for c in clusters for i in c.members}
    for block in row_blocks(len(fresh)):
        similarities = vectors[fresh[block]] @ centroids.T
        for row, index in enumerate(fresh[block]):
            scores = similarities[row] + terms.offset(index, len(clusters))
            best = int(np.argmax(scores))
            current = owner[index]
            if clusters[best] is not current and scores[best] >= threshold:
                current.members.remove(index)
                clusters[best].members.append(index)
                owner[index] = clusters[best]


def _reassign_bucketed(fresh: list[int], vectors: JointSpace, clusters: list[Cluster],
                       threshold: float, terms: _Scoring, centres: np.ndarray) -> None:
    """`_reassign` scoring each problem against its candidate clusters only."""
    centroids = _centroid_rows(clusters, vectors.shape[1], centres)
    owner = {i: pos for pos, c in enumerate(clusters) for i in c.members}
    for block in row_blocks(len(fresh)):
        for vector, index in zip(vectors[fresh[block]], fresh[block], strict=True):
            current = owner[index]
            best, score = terms.best(index, vector, centroids, keep=current)
            if best != current and score >= threshold:
                clusters[current].members.remove(index)
                clusters[best].members.append(index)
                owner[index] = best


def _attach_singletons(clusters: list[Cluster], space: JointSpace, score: _Scoring,
                       threshold: float, centres: np.ndarray | None = None) -> None:
    """Let clusters of one problem join their best other cluster (stages/fragments.py):
    scored against every cluster, or in a large run against its candidates only."""
    _refresh_centroids(clusters, space)
    score.index(clusters)
    attach_singletons(list(clusters), _centroid_rows(clusters, space.shape[1], centres),
                      space, score, threshold)


def _join_fragments(clusters: list[Cluster], space: JointSpace, score: _Scoring,
                    quantile: float, max_size: int, centres: np.ndarray | None = None) -> None:
    """Join small clusters to their mutually nearest one (stages/mutual_fragments.py),
    every cluster's nearest searched exactly, or in a large run among its candidates."""
    _refresh_centroids(clusters, space)
    score.index(clusters)
    join_mutual_fragments(clusters, _centroid_rows(clusters, space.shape[1], centres),
                          score.scaling.cluster_sides(len(clusters)), quantile, max_size)


def _merge_new(clusters: list[Cluster], vectors: JointSpace, merge_threshold: float,
               centres: np.ndarray | None = None) -> None:
    """Fold clusters into an earlier, near-identical one (new clusters only move)."""
    _refresh_centroids(clusters, vectors)
    centroids = _centroid_rows(clusters, vectors.shape[1], centres)
    alive = np.array([bool(c.members) for c in clusters], dtype=bool)
    for later_pos in range(len(clusters) - 1, -1, -1):
        later = clusters[later_pos]
        if later.stored or not later.members:
            continue
        earlier_pos = _first_close(centroids, alive, later_pos, merge_threshold)
        if earlier_pos is not None:
            clusters[earlier_pos].members.extend(later.members)
            later.members = []
            alive[later_pos] = False


def _refresh_centroids(clusters: list[Cluster], vectors: Rows) -> None:
    for cluster in clusters:
        if cluster.members:
            cluster.centroid = running_centroid(cluster, vectors)


def running_centroid(cluster: Cluster, vectors: Rows) -> np.ndarray:
    """Mean of members, weighted with the stored identity's past size."""
    if not cluster.members:
        return cluster.centroid
    return _with_base(member_sum(vectors, cluster.members), cluster)


def _with_base(total: np.ndarray, cluster: Cluster) -> np.ndarray:
    """The centroid from a sum of member vectors, plus the stored identity's past weight."""
    if cluster.base is not None and cluster.stored_size:
        total = total + cluster.base * cluster.stored_size * 0.5
    return unit(total)


def _first_close(centroids: Centroids, alive: np.ndarray,
                 position: int, threshold: float) -> int | None:
    """The first live cluster before `position` at `threshold` or closer (in the bucketed
    case, among the clusters of its centroid's nearest buckets)."""
    if isinstance(centroids, CentroidRows):
        return first_close_earlier(centroids.matrix, alive, position, threshold)
    positions, similarities = centroids.candidates(centroids.row(position))
    hits = positions[(positions < position) & (similarities >= threshold)]
    hits = hits[alive[hits]]
    return int(hits[0]) if hits.size else None


def _centroid_rows(clusters: list[Cluster], dim: int,
                   centres: np.ndarray | None) -> Centroids:
    """The clusters' centroids: one matrix, or bucketed by `centres` in a large run with
    many clusters."""
    bucketing = _bucketing(len(clusters), centres)
    if bucketing is None:
        return CentroidRows(_matrix(clusters, dim))
    return BucketedCentroids.filled(bucketing, [c.centroid for c in clusters])


def _bucketing(clusters: int, centres: np.ndarray | None) -> np.ndarray | None:
    """`centres` when a pass over `clusters` clusters should score bucket candidates only.

    A large run (`centres` set) with no more clusters than buckets scores every cluster:
    finding a problem's nearest buckets costs a product with every centre, about as much
    as scoring that many clusters, and bucketed centroids pay it again on every join (a
    large community whose problems fall into few clusters would pay it for nothing).
    """
    return centres if centres is not None and clusters > len(centres) else None


def _matrix(clusters: list[Cluster], dim: int) -> np.ndarray:
    if not clusters:
        return np.zeros((0, dim), dtype=np.float32)
    return np.vstack([c.centroid for c in clusters]).astype(np.float32, copy=False)


def _unique_id(base: str, taken: dict[str, Cluster]) -> str:
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate
