"""How similar a community's problems are, raw and in clustering's centred space.

For each labelled set: every pair of extracted problems (offline analyzer, the
embedding of text plus answer), split into pairs of the same labelled group and
pairs of different groups. A fixed cosine threshold needs the "different"
distribution to sit in the same place in every community; this shows that it
does not for raw cosines (typescript-eslint chat is about one narrow product)
and how centring (cluster.centred) moves it. The figures quoted in
stages/cluster.py come from here.

Usage: PYTHONPATH=src python benchmarks/spread_bench.py  (writes results/spread.md)
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from docloop.quality import SHIPPED  # noqa: E402
from docloop.stages.cluster import centred  # noqa: E402
from labelled_sets import SETS, SetRun, publish  # noqa: E402

RESULTS = HERE / "results" / "spread.md"


def pair_stats(run: SetRun) -> list[str]:
    """Table rows (raw, centred) for one labelled set."""
    name = run.set.name
    problems, vectors = run.extracted(SHIPPED)
    gold = run.gold.messages
    group = [Counter(gold.get(m) for m in run.label_ids(p.message_ids)).most_common(1)[0][0]
             for p in problems]
    upper = np.triu_indices(len(problems), 1)
    pairs = zip(*upper, strict=True)
    same = np.array([group[i] is not None and group[i] == group[j] for i, j in pairs])
    rows = []
    for space, matrix in (("raw", vectors), ("centred", centred(vectors))):
        sims = (matrix @ matrix.T)[upper]
        rows.append(f"| {name} | {space} | {len(problems)} | {sims[same].mean():.2f} | "
                    f"{sims[same].min():.2f} | {sims[~same].mean():.2f} | "
                    f"{np.percentile(sims[~same], 95):.2f} | "
                    f"{np.percentile(sims[~same], 99):.2f} |")
    return rows


def main() -> None:
    lines = ["## Problem similarity: raw vs centred", "",
             "Command: `PYTHONPATH=src python benchmarks/spread_bench.py`. Cosine over every "
             "pair of extracted problems; clustering joins at "
             f"{SHIPPED.cluster_threshold:.2f} in the centred space.", "",
             "| set | space | problems | same-group mean | same-group min | "
             "different-group mean | different p95 | different p99 |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for labelled in SETS:
        if labelled.available():
            lines += pair_stats(SetRun(labelled))
    publish(RESULTS, lines)


if __name__ == "__main__":
    main()
