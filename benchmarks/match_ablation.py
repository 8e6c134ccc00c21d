"""The match stage end to end: right page and `missing` with each of its choices undone.

Run: PYTHONPATH=src python benchmarks/match_ablation.py [SET ...] [--group]
Runs the whole loop (as `docloop run`, on every labelled set of labelled_sets.py) with
the shipped match settings and with each choice undone: members voting by score
margins instead of by rank, members searching in the re-ranked order instead of the
hybrid one, the fixed 0.38 `missing` floor instead of the run-relative verdict, and
(with --group, slow: one more search per insight) the re-ranked group query weighed in.
The vote rule is chosen leave one community out (for each set, the rule with the most
right pages on the other sets), then the verdict's `below_reference` likewise. Over all
sets it writes benchmarks/results/match_ablation.md.
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
#: the vote rules chosen among leave one community out: (members' search order, vote_k)
VOTE_RULES = {
    "hybrid order, rank votes 1/(1+r)": (HYBRID_ORDER, 1.0),
    "hybrid order, rank votes 3/(3+r)": (HYBRID_ORDER, 3.0),
    "hybrid order, score-margin votes (before)": (HYBRID_ORDER, 0.0),
    "re-ranked order, rank votes 1/(1+r)": (RankSettings(), 1.0),
    "re-ranked order, score-margin votes": (RankSettings(), 0.0),
}
OTHER_VARIANTS = {
    "fixed `missing` floor (0.38, as before)": (HYBRID_ORDER,
                                                VerdictSettings(min_reference=sys.maxsize)),
}
GROUP_VARIANTS = {
    "+ group query (weight 1)": (HYBRID_ORDER, VerdictSettings(group_weight=1.0)),
}


def cell(m: dict[str, Any]) -> str:
    precision = m["missing_precision"]
    shown = "n/a" if precision is None else f"{precision:.2f}"
    return (f"{m['right_page']}/{m['groups']}, {m['missing_found']}/{m['missing_groups']}, "
            f"{shown}")


def choose(sweep: dict[str, list[dict[str, Any]]], names: list[str]) -> int:
    """The option with the most right pages over `names` (ties: the first listed)."""
    totals = [sum(int(sweep[n][i]["right_page"]) for n in names)
              for i in range(len(next(iter(sweep.values()))))]
    return totals.index(max(totals))


def leave_one_out(sweep: dict[str, list[dict[str, Any]]], labels: list[str],
                  what: str) -> list[str]:
    """Each set measured with the option chosen on the other sets."""
    lines = [f"{what} chosen end to end on the other sets (shipped: chosen on all sets, "
             f"{labels[choose(sweep, list(sweep))]}):", "",
             "| set | chosen on the others | right page, `missing` found, `missing` precision |",
             "| --- | --- | --- |"]
    for name in sweep:
        i = choose(sweep, [n for n in sweep if n != name])
        lines.append(f"| {name} | {labels[i]} | {cell(sweep[name][i])} |")
    return lines


def main(args: list[str]) -> None:
    logging.disable(logging.INFO)
    names = [a for a in args if not a.startswith("--")]
    variants = {**OTHER_VARIANTS, **(GROUP_VARIANTS if "--group" in args else {})}
    rows: dict[str, list[str]] = {label: [] for label in [*VOTE_RULES, *variants]}
    votes: dict[str, list[dict[str, Any]]] = {}
    below: dict[str, list[dict[str, Any]]] = {}
    measured = []
    for labelled in SETS:
        if (names and labelled.name not in names) or not labelled.available():
            continue
        run = SetRun(labelled)
        votes[labelled.name] = [run.full(SHIPPED, rank, VerdictSettings(vote_k=k))
                                for rank, k in VOTE_RULES.values()]
        for label, figures in zip(VOTE_RULES, votes[labelled.name], strict=True):
            rows[label].append(cell(figures))
        for label, (rank, verdict) in variants.items():
            rows[label].append(cell(run.full(SHIPPED, rank, verdict)))
        below[labelled.name] = [run.full(SHIPPED, HYBRID_ORDER,
                                         VerdictSettings(below_reference=b)) for b in BELOW]
        run.close()
        measured.append(labelled.name)
    lines = ["## Match stage end to end (right page, `missing` found, `missing` precision)", "",
             "Command: `PYTHONPATH=src python benchmarks/match_ablation.py`. The whole loop "
             "with the shipped clustering and re-ranker; right page counts `missing` for a "
             "group no page covers (`docloop eval` definitions). Shipped: the hybrid order "
             "with rank votes 1/(1+r).", "",
             "| variant | " + " | ".join(measured) + " |", "| --- |" + " --- |" * len(measured)]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows.items()]
    lines += ["", *leave_one_out(votes, list(VOTE_RULES), "The vote rule")]
    lines += ["", *leave_one_out(below, [str(b) for b in BELOW], "`below_reference`")]
    text = "\n".join(lines) + "\n"
    print(text)
    if not names and measured:
        RESULT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
