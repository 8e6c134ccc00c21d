"""The match stage end to end: right page and `missing` with each of its choices undone.

Run: PYTHONPATH=src python benchmarks/match_ablation.py [SET ...]
Runs the whole loop (as `docloop run`, on every labelled set of labelled_sets.py) with
the shipped match settings, with members voting on re-ranked scores instead of the
hybrid order, with the fixed 0.38 `missing` floor instead of the run-relative
verdict, and with the re-ranked group query (the members' texts joined) weighed in.
Then the verdict's `below_reference` is chosen end to end, leave one community out: for
each set the value with the most right pages (`missing` included) on the other sets,
ties to the smaller value. Over all sets it writes benchmarks/results/match_ablation.md.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from docloop.backends.docs_index.rerank import HYBRID_ORDER, RankSettings
from docloop.quality import SHIPPED
from docloop.stages.verdict import VerdictSettings
from labelled_sets import SETS, SetRun

BELOW = (0.09, 0.12, 0.15, 0.18, 0.21)
RESULT = Path(__file__).resolve().parent / "results" / "match_ablation.md"
VARIANTS = {
    "shipped": (HYBRID_ORDER, VerdictSettings()),
    "members vote on re-ranked scores": (RankSettings(), VerdictSettings()),
    "fixed `missing` floor (0.38, as before)": (HYBRID_ORDER,
                                                VerdictSettings(min_reference=sys.maxsize)),
    "+ group query (weight 1)": (HYBRID_ORDER, VerdictSettings(group_weight=1.0)),
    "+ group query (weight 1, breadth -0.8)": (HYBRID_ORDER, VerdictSettings(
        group_weight=1.0, group_breadth=-0.8)),
}


def cell(m: dict[str, Any]) -> str:
    precision = m["missing_precision"]
    shown = "n/a" if precision is None else f"{precision:.2f}"
    return (f"{m['right_page']}/{m['groups']}, {m['missing_found']}/{m['missing_groups']}, "
            f"{shown}")


def leave_one_out(sweep: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Each set measured with the `below_reference` chosen on the other sets."""
    def best(names: list[str]) -> int:
        totals = [sum(int(sweep[n][i]["right_page"]) for n in names) for i in range(len(BELOW))]
        return totals.index(max(totals))
    lines = ["`below_reference` chosen end to end on the other sets (grid "
             f"{', '.join(map(str, BELOW))}; shipped: chosen on all sets, "
             f"{BELOW[best(list(sweep))]}):", "",
             "| set | chosen | right page, `missing` found, `missing` precision |",
             "| --- | --- | --- |"]
    for name in sweep:
        i = best([n for n in sweep if n != name])
        lines.append(f"| {name} | {BELOW[i]} | {cell(sweep[name][i])} |")
    return lines


def main(args: list[str]) -> None:
    logging.disable(logging.INFO)
    names = [a for a in args if not a.startswith("--")]
    rows: dict[str, list[str]] = {label: [] for label in VARIANTS}
    sweep: dict[str, list[dict[str, Any]]] = {}
    measured = []
    for labelled in SETS:
        if (names and labelled.name not in names) or not labelled.available():
            continue
        run = SetRun(labelled)
        for label, (rank, verdict) in VARIANTS.items():
            rows[label].append(cell(run.full(SHIPPED, rank, verdict)))
        sweep[labelled.name] = [run.full(SHIPPED, HYBRID_ORDER,
                                         VerdictSettings(below_reference=b)) for b in BELOW]
        run.close()
        measured.append(labelled.name)
    lines = ["## Match stage end to end (right page, `missing` found, `missing` precision)", "",
             "Command: `PYTHONPATH=src python benchmarks/match_ablation.py`. The whole loop "
             "with the shipped clustering; right page counts `missing` for a group no page "
             "covers (`docloop eval` definitions).", "",
             "| variant | " + " | ".join(measured) + " |", "| --- |" + " --- |" * len(measured)]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows.items()]
    lines += ["", *leave_one_out(sweep)]
    text = "\n".join(lines) + "\n"
    print(text)
    if not names and measured:
        RESULT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
