"""Why real groups end split: every cluster pair of a set, by what would join it.

Runs a set's clustering with the shipped settings (`SetRun.clusters_only`, the
cluster stage called as `docloop run` calls it), names each cluster by the
majority labelled group of its messages, and for every pair of clusters that
is the nearest of either (in the clustering space, the score's local scaling
included) prints whether it is one group split or two groups, with the sizes,
the centroid similarity, where that similarity falls among the run's own
nearest-cluster similarities (percentile) and whether the pair is mutually
nearest. Split groups are listed with their fragments.

Usage: PYTHONPATH=src:benchmarks python benchmarks/fragment_diag.py [SET ...]
(diagnosis only: prints, writes nothing).
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import docloop.stages.analyse as analyse_stage  # noqa: E402
from docloop.quality import SHIPPED  # noqa: E402
from docloop.stages import cluster as cluster_stage  # noqa: E402
from docloop.stages.hubness import neighbourhood_density  # noqa: E402
from labelled_sets import SETS, SetRun  # noqa: E402


def captured_clustering(run: SetRun) -> tuple[list[Any], list[Any], np.ndarray, np.ndarray]:
    """(problems, clusters, centred space rows, density) of the shipped clustering."""
    seen: dict[str, Any] = {}
    original = analyse_stage.cluster_problems

    def spy(problems: Sequence[Any], vectors: np.ndarray, *args: Any, **kw: Any) -> Any:
        clusters = original(problems, vectors, *args, **kw)
        bodies = kw.get("body_vectors") or {}
        offset = cluster_stage._domain_offset(vectors, kw["center_shrink"], bodies)
        space = cluster_stage._clustering_space(problems, vectors, offset,
                                                kw["lexical_weight"], bodies).dense()
        seen.update(problems=list(problems), clusters=clusters, space=space,
                    density=neighbourhood_density(space, kw["hub_k"]))
        return clusters

    analyse_stage.cluster_problems = spy
    try:
        run.clusters_only(SHIPPED)
    finally:
        analyse_stage.cluster_problems = original
    return seen["problems"], seen["clusters"], seen["space"], seen["density"]


def majority_groups(run: SetRun, problems: list[Any], clusters: list[Any]) -> list[str | None]:
    """Each cluster's majority labelled group (None: mostly noise)."""
    names: list[str | None] = []
    for cluster in clusters:
        votes: Counter[str | None] = Counter(
            run.gold.messages.get(m) for i in cluster.members
            for m in run.label_ids(problems[i].message_ids))
        names.append(votes.most_common(1)[0][0] if votes else None)
    return names


def pair_scores(space: np.ndarray, density: np.ndarray, clusters: list[Any]) -> np.ndarray:
    """Cluster x cluster clustering score: centroid cosine minus both sides' density / 2."""
    cents = np.stack([cluster_stage.unit(space[c.members].sum(axis=0)) for c in clusters])
    dens = np.array([density[c.members].mean() for c in clusters])
    sims = cents @ cents.T - (dens[:, None] + dens[None, :]) / 2
    np.fill_diagonal(sims, -np.inf)
    return sims


def report(run: SetRun) -> None:
    """Print the set's split groups and its nearest-cluster pairs, best first."""
    problems, clusters, space, density = captured_clustering(run)
    names = majority_groups(run, problems, clusters)
    sims = pair_scores(space, density, clusters)
    nearest, nearest_sims = sims.argmax(axis=1), sims.max(axis=1)
    print(f"\n## {run.set.name}: {len(problems)} problems, {len(clusters)} clusters")
    by_group: dict[str, list[int]] = {}
    for pos, name in enumerate(names):
        if name is not None:
            by_group.setdefault(name, []).append(pos)
    for name, positions in sorted(by_group.items()):
        if len(positions) > 1:
            inner = [f"{sims[a, b]:.2f}" for i, a in enumerate(positions)
                     for b in positions[i + 1:]]
            print(f"split {name}: sizes {[len(clusters[p].members) for p in positions]}, "
                  f"pair scores {inner}")
    pairs = sorted({(min(a, int(b)), max(a, int(b))) for a, b in enumerate(nearest)},
                   key=lambda pair: -sims[pair])
    for a, b in pairs:
        same = names[a] is not None and names[a] == names[b]
        mutual = nearest[a] == b and nearest[b] == a
        print(f"{sims[a, b]:.3f} p{float((nearest_sims < sims[a, b]).mean()):.2f} "
              f"{'SAME' if same else 'diff'} {'mutual' if mutual else '      '} "
              f"{len(clusters[a].members)}+{len(clusters[b].members)} {names[a]} / {names[b]}")


def main(names: list[str]) -> None:
    logging.disable(logging.INFO)
    for labelled in SETS:
        if labelled.available() and (not names or labelled.name in names):
            report(SetRun(labelled))


if __name__ == "__main__":
    main(sys.argv[1:])
