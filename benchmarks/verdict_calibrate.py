"""Calibrate the `missing` verdict leave-one-community-out, on the labelled groups.

Run: PYTHONPATH=src:benchmarks python benchmarks/verdict_calibrate.py [SET ...]

Each labelled group stands for one insight: its centroid is the unit mean of its
messages' embeddings and its questions are its messages. The evidence the match
stage uses is computed as the match stage computes it (stages/verdict.py); the
reference similarity of a set is the median best-page similarity of all its
groups, as a run's is the median over its insights. For each set the thresholds
are chosen on the other sets (best pooled F1 of `missing` there) and its
precision and recall are reported with them; the shipped values are chosen on
all sets. Over all sets it writes benchmarks/results/verdict_calibrate.md.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from docloop import db
from docloop.docs.query import clean_query
from docloop.models import Insight
from docloop.registry import sqlite_stores
from docloop.stages.index_docs import open_index
from docloop.stages.match import TOP_K, choose_page, insight_query
from docloop.stages.verdict import (
    CoverageEvidence,
    VerdictSettings,
    is_missing,
    reference_similarity,
)
from rank_sets import REAL, LabelledSet, indexed_settings, load_sets

NOTE = (
    "Each labelled group stands for one insight (centroid: the unit mean of its messages' "
    "embeddings; members: its messages), so this measures the verdict rule on the labels' "
    "own grouping, not after clustering (`docloop eval` measures the whole loop). A row "
    "uses thresholds chosen on the other five sets; the pooled rows add those rows up.")
RESULT = Path(__file__).resolve().parent / "results" / "verdict_calibrate.md"
GRID = {
    "below_reference": tuple(np.round(np.arange(-0.02, 0.25, 0.01), 2)),
    "term_weight": (0.0, 0.05, 0.1, 0.2),
}


@dataclass
class Group:
    """One labelled group's evidence and whether no page covers it."""

    name: str
    missing: bool
    similarity: float
    coverage: float
    agreement: float | None = None


def set_groups(labelled: LabelledSet) -> list[Group]:
    """The evidence of every labelled group of one set."""
    settings = indexed_settings(labelled.docs)
    conn = db.connect(settings.db_path)
    try:
        index = open_index(settings, sqlite_stores(conn))
        found = []
        for name, messages in labelled.groups().items():
            texts = [m.text for m in messages]
            vectors = index.embedder.embed([clean_query(t) or t for t in texts])
            centroid = vectors.mean(axis=0)
            centroid /= np.linalg.norm(centroid)
            insight = Insight(id=name, title=texts[0][:120], summary="", questions=texts)
            hits = index.search_vector(insight_query(insight), centroid, TOP_K)
            members = list(zip(texts, vectors, strict=True))
            choice = choose_page(insight, hits, index, members)
            similarity = float(index.best_similarities(np.asarray([centroid]))[0])
            found.append(Group(name, messages[0].page is None, similarity, choice.coverage,
                               choice.agreement))
        return found
    finally:
        conn.close()


def predict(groups: list[Group], settings: VerdictSettings) -> list[bool]:
    reference = reference_similarity([g.similarity for g in groups], settings)
    return [is_missing(CoverageEvidence(g.similarity, g.coverage, agreement=g.agreement),
                       reference, settings) for g in groups]


def counts(groups: list[Group], settings: VerdictSettings) -> tuple[int, int, int]:
    """True positives, predicted `missing`, labelled missing."""
    said = predict(groups, settings)
    truth = [g.missing for g in groups]
    tp = sum(1 for s, t in zip(said, truth, strict=True) if s and t)
    return tp, sum(said), sum(truth)


def f1(tp: int, said: int, truth: int) -> float:
    return 2 * tp / (said + truth) if said + truth else 1.0


def options() -> list[VerdictSettings]:
    return [VerdictSettings(below_reference=float(b), term_weight=w)
            for b, w in itertools.product(*GRID.values())]


def choose(sets: dict[str, list[Group]], names: list[str]) -> VerdictSettings:
    """Best pooled F1 of `missing` over `names` (ties: the smaller threshold, fewer `missing`)."""
    def pooled(option: VerdictSettings) -> float:
        total = np.sum([counts(sets[n], option) for n in names], axis=0)
        return f1(*(int(x) for x in total))
    return max(options(), key=pooled)


def report(sets: dict[str, list[Group]]) -> str:
    lines = ["| set | thresholds chosen on the other sets | missing groups | said missing | "
             "precision | recall |", "| --- | --- | --- | --- | --- | --- |"]
    pooled = {"real": np.zeros(3, dtype=int), "all": np.zeros(3, dtype=int)}
    for name, groups in sets.items():
        chosen = choose(sets, [n for n in sets if n != name])
        tp, said, truth = counts(groups, chosen)
        pooled["all"] += (tp, said, truth)
        if name in REAL:
            pooled["real"] += (tp, said, truth)
        lines.append(f"| {name} | below {chosen.below_reference}, terms {chosen.term_weight} | "
                     f"{truth} | {said} | {_ratio(tp, said)} | {_ratio(tp, truth)} |")
    for label, (tp, said, truth) in pooled.items():
        lines.append(f"| pooled ({label}) | each set's own | {truth} | {said} | "
                     f"{_ratio(tp, said)} | {_ratio(tp, truth)} |")
    shipped = choose(sets, list(sets))
    lines += ["", f"Chosen on all sets' groups: below_reference {shipped.below_reference}, "
              f"term_weight {shipped.term_weight}. Shipped: this term_weight; below_reference "
              "is chosen end to end (match_ablation.py), where fragments of real clusters "
              "sit lower than whole labelled groups."]
    return "\n".join(lines) + "\n"


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f} ({part}/{whole})" if whole else "n/a (0/0)"


def main(args: list[str]) -> None:
    names = [a for a in args if not a.startswith("--")]
    sets = {s.name: set_groups(s) for s in load_sets(names or None)}
    if not sets:
        sys.exit("no labelled set found (needs ../shared)")
    if "--groups" in args:
        for name, groups in sets.items():
            reference = float(np.median([g.similarity for g in groups]))
            for g in sorted(groups, key=lambda g: g.similarity):
                print(f"{name:16s} {g.name[:36]:36s} {'MISSING' if g.missing else '':7s} "
                      f"sim-ref={g.similarity - reference:+.3f} coverage={g.coverage:.2f}")
    header = (f"## `missing` verdict calibration\n\nCommand: `PYTHONPATH=src:benchmarks python "
              f"benchmarks/verdict_calibrate.py`. Real sets: {', '.join(REAL)}.\n\n{NOTE}\n\n")
    text = header + report(sets)
    print(text)
    if not names:  # every set: the figures RESULTS.md quotes
        RESULT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
