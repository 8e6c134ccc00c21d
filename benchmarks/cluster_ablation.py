"""Each clustering ingredient's gain: the shipped settings with one knob moved.

Every row moves one knob of the shipped `QualitySettings` (off, or to its neighbour in
the calibration grid), so a row says what that ingredient is worth with the others as
shipped; benchmarks/calibrate.py reports the same ingredients leave-one-community-out.
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


def _moved(knob: str, value: object) -> tuple[str, QualitySettings, bool]:
    """The shipped settings with one knob moved, named "knob shipped → value"."""
    return f"{knob} {getattr(SHIPPED, knob)} → {value}", replace(SHIPPED, **{knob: value}), True


def _joined(quantile: float, size: int) -> tuple[str, QualitySettings, bool]:
    """The shipped settings with the mutual-fragment join at `quantile`, fragments of up
    to `size` problems (stages/mutual_fragments.py)."""
    return (f"fragment join {SHIPPED.fragment_quantile} → {quantile} quantile, fragments ≤ {size}",
            replace(SHIPPED, fragment_quantile=quantile, fragment_size=size), True)


ROWS: list[tuple[str, QualitySettings, bool]] = [
    ("shipped (every ingredient)", SHIPPED, True),
    ("verbatim messages off (problem text embedded)", SHIPPED, False),
    _moved("attach_threshold", None if SHIPPED.attach_threshold is not None else 0.35),
    _moved("attach_threshold", 0.30),
    _moved("cluster_threshold", 0.275),
    _moved("cluster_threshold", 0.35),
    _moved("lexical_weight", 0.0),
    _moved("lexical_weight", 0.4),
    _moved("shared_weight", 0.2),
    _moved("hub_weight", 0.5),
    _moved("hub_weight", 0.75),
    _joined(0.95, 2),
    _joined(0.9, 3),
    _joined(0.8, 2),
    _moved("center_shrink", 5.0),
    _moved("lift_isolated", not SHIPPED.lift_isolated),
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
             "| one ingredient moved | " + " | ".join(r.set.name for r in runs) + " |",
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
