"""Each clustering ingredient's gain: the shipped settings with one ingredient off.

Clustering and significance only (no page matching, `SetRun.clusters_only`), on every
labelled set; each cell is groups recovered · B-cubed F1 · noise leak (the `docloop
eval` definitions). "Verbatim messages off" embeds the problem text for every problem
(`Problem.body` left empty), as before issue #12's clustering work.

Usage: PYTHONPATH=src python benchmarks/cluster_ablation.py
Writes benchmarks/results/cluster_ablation.md (a part of RESULTS.md's calibration section).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import docloop.backends.analyzers.offline as offline  # noqa: E402
from docloop.quality import SHIPPED, QualitySettings  # noqa: E402
from labelled_sets import SETS, SetRun, publish  # noqa: E402

RESULTS = HERE / "results" / "cluster_ablation.md"
ROWS: list[tuple[str, QualitySettings, bool]] = [
    ("shipped (every ingredient)", SHIPPED, True),
    ("verbatim messages off (problem text embedded)", SHIPPED, False),
    ("hub_weight 1.0 → 0.5", replace(SHIPPED, hub_weight=0.5), True),
    ("lexical_weight 0.3 → 0", replace(SHIPPED, lexical_weight=0.0), True),
    ("cluster_threshold 0.30 → 0.35", replace(SHIPPED, cluster_threshold=0.35), True),
    ("shared_weight 0.10 → 0.20", replace(SHIPPED, shared_weight=0.2), True),
    ("center_shrink 10 → 5", replace(SHIPPED, center_shrink=5.0), True),
    ("lift_isolated on → off", replace(SHIPPED, lift_isolated=False), True),
]


@contextmanager
def verbatim(on: bool) -> Iterator[None]:
    """With `on` False, the offline analyzer keeps no verbatim body for any problem."""
    saved = offline._problem_body
    if not on:
        offline._problem_body = lambda carrying: ""  # type: ignore[assignment]
    try:
        yield
    finally:
        offline._problem_body = saved  # type: ignore[assignment]


def main() -> None:
    logging.disable(logging.INFO)
    runs = [SetRun(s) for s in SETS if s.available()]
    lines = ["Ablation (clustering only; each cell: recovered · B³ F1 · noise leak; "
             "`PYTHONPATH=src python benchmarks/cluster_ablation.py`):", "",
             "| one ingredient off | " + " | ".join(r.set.name for r in runs) + " |",
             "|---|" + "---:|" * len(runs)]
    for name, quality, body in ROWS:
        with verbatim(body):
            cells = [run.clusters_only(quality) for run in runs]
        lines.append(f"| {name} | " + " | ".join(
            f"{m['groups_recovered']}/{m['groups']} · {m['bcubed_f1']:.2f} · "
            f"{m['noise_leak']:.2f}" for m in cells) + " |")
    publish(RESULTS, lines)


if __name__ == "__main__":
    main()
