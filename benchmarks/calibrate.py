"""Choose every quality knob by leave-one-community-out, and report each set unseen.

For each labelled set (benchmarks/labelled_sets.py: the two tuning sets, the two
written held-out sets and the two real communities), the settings are picked on
the *other* sets only, then that set is measured with them; the settings shipped
(`docloop.quality.QualitySettings` defaults) are the ones picked on all sets.

Objective (higher is better), averaged over the sets a choice is made on:
    B-cubed F1 + share of groups recovered − noise leak
Page matching is not part of the sweep (it is the match stage's, and does not
change which messages cluster); the reported figures of each set are full runs,
right page included. Ties go to the grid's earlier settings, which are closer to
the values shipped before (no extra knob moved without a gain).

Each set is ingested once and its problem embeddings are cached in
benchmarks/.work/sets/NAME/docloop.db, so the sweep costs seconds per setting.

Usage: PYTHONPATH=src python benchmarks/calibrate.py [--quick]
Writes benchmarks/results/calibrate.md (a section of RESULTS.md).
"""

from __future__ import annotations

import itertools
import logging
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from docloop.evaluation.metrics import score_insights  # noqa: E402
from docloop.quality import SHIPPED, QualitySettings  # noqa: E402
from labelled_sets import SETS, LabelledSet, SetRun  # noqa: E402
from quality_bench import run_seed  # noqa: E402

RESULTS = HERE / "results" / "calibrate.md"
#: every fold of the previous calibration (192 settings) chose center_shrink 10, hub_k 5
#: and hub_weight 1.0, and all but one lift_isolated on, so they are fixed; the grid spends
#: its runs on the knobs that moved and on this round's (a lower join threshold, more
#: shared words, singletons re-attached)
GRID: dict[str, tuple[Any, ...]] = {
    "cluster_threshold": (0.30, 0.275, 0.35),
    "shared_weight": (0.10, 0.20),
    "lexical_weight": (0.3, 0.4),
    "attach_threshold": (None, 0.35, 0.32),
}
QUICK_GRID: dict[str, tuple[Any, ...]] = {"cluster_threshold": (0.30, 0.35),
                                          "attach_threshold": (None, 0.35)}
#: the knob this round added: LOCO is also reported with it held off (the method before)
NEW_KNOB = "attach_threshold"


def objective(metrics: dict[str, Any]) -> float:
    """B-cubed F1 + share of groups recovered − noise leak."""
    recovered = metrics["groups_recovered"] / metrics["groups"] if metrics["groups"] else 0.0
    return float(metrics["bcubed_f1"] + recovered - metrics["noise_leak"])


def candidates(grid: dict[str, tuple[Any, ...]]) -> list[QualitySettings]:
    """Every combination of the grid, the shipped-before values first."""
    names = list(grid)
    return [replace(SHIPPED, **dict(zip(names, values, strict=True)))
            for values in itertools.product(*(grid[n] for n in names))]


def sweep(runs: dict[str, SetRun], grid: list[QualitySettings]) -> dict[str, list[float]]:
    """set -> objective of every candidate, in grid order."""
    scores: dict[str, list[float]] = {}
    for name, run in runs.items():
        started = time.perf_counter()
        scores[name] = [objective(run.clusters_only(q)) for q in grid]
        print(f"swept {name}: {len(grid)} settings in {time.perf_counter() - started:.0f} s",
              file=sys.stderr, flush=True)
    return scores


def pick(scores: dict[str, list[float]], on: list[str], allowed: list[int]) -> int:
    """The `allowed` candidate with the best mean objective over the sets `on` (first on
    ties)."""
    means = {i: sum(scores[s][i] for s in on) / len(on) for i in allowed}
    return max(allowed, key=lambda i: (round(means[i], 6), -i))


def loco(runs: dict[str, SetRun], sets: list[LabelledSet], grid: list[QualitySettings],
         scores: dict[str, list[float]], allowed: list[int]
         ) -> list[tuple[LabelledSet, QualitySettings, dict[str, Any]]]:
    """Each set run with the `allowed` candidate chosen on the other sets."""
    rows = []
    for labelled in sets:
        others = [s.name for s in sets if s.name != labelled.name]
        chosen = grid[pick(scores, others, allowed)]
        rows.append((labelled, chosen, runs[labelled.name].full(chosen)))
        print(f"{labelled.name}: chosen on the others {changed(chosen)}", file=sys.stderr)
    return rows


def main(args: list[str]) -> None:
    logging.disable(logging.INFO)
    grid = candidates(QUICK_GRID if "--quick" in args else GRID)
    sets: list[LabelledSet] = [s for s in SETS if s.available()]
    runs = {s.name: SetRun(s) for s in sets}
    scores = sweep(runs, grid)
    everything = list(range(len(grid)))
    rows = loco(runs, sets, grid, scores, everything)
    held_off = [i for i, q in enumerate(grid) if getattr(q, NEW_KNOB) is None]
    before = loco(runs, sets, grid, scores, held_off)
    shipped_choice = grid[pick(scores, [s.name for s in sets], everything)]
    shipped = [(s, runs[s.name].full(shipped_choice)) for s in sets]
    text = render(rows, shipped, shipped_choice, len(grid)) + render_before(before)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")  # the seed's embeddings take longest
    seed = [(s, score_insights(runs[s.name].gold, run_seed(runs[s.name], False))) for s in sets]
    text += render_seed(seed) + FINDINGS
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


def changed(quality: QualitySettings) -> str:
    """The knobs that differ from the shipped values, or 'the shipped values'."""
    diff = {k: v for k, v in asdict(quality).items() if v != getattr(SHIPPED, k)}
    return ", ".join(f"{k}={v}" for k, v in diff.items()) or "the shipped values"


def row(name: str, role: str, m: dict[str, Any]) -> str:
    groups = m["groups"]
    return (f"| {name} | {role} | {m['groups_recovered']}/{groups} | {m['right_page']}/{groups} "
            f"| {m['missing_found']}/{m['missing_groups']} | {m['bcubed_precision']:.2f} | "
            f"{m['bcubed_recall']:.2f} | {m['bcubed_f1']:.2f} | {m['noise_leak']:.2f} | "
            f"{m['insights']} |")


HEADER = ("| set | role | recovered | right page | `missing` found | B³ P | B³ R | B³ F1 | "
          "noise leak | insights |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def render(rows: list[tuple[LabelledSet, QualitySettings, dict[str, Any]]],
           shipped: list[tuple[LabelledSet, dict[str, Any]]], choice: QualitySettings,
           size: int) -> str:
    lines = ["## Calibration: leave one community out", "",
             "Command: `PYTHONPATH=src python benchmarks/calibrate.py`. For each set, every "
             f"knob was chosen among {size} settings on the *other* sets (objective: mean of "
             "B³ F1 + share recovered − noise leak), then the set was run with them "
             "(metrics: `docloop.evaluation.metrics`, the `docloop eval` definitions).", "",
             "### Each set measured with settings chosen on the others", "", HEADER]
    lines += [row(s.name, s.role, m) for s, _, m in rows]
    lines += ["", "Settings chosen without the set:", ""]
    lines += [f"- {s.name}: {changed(q)}" for s, q, _ in rows]
    lines += ["", "### Shipped settings (chosen on all sets)", "",
              f"`QualitySettings` = {asdict(choice)}", "", HEADER]
    lines += [row(s.name, s.role, m) for s, m in shipped]
    lines.append("")
    return "\n".join(lines)


def render_before(rows: list[tuple[LabelledSet, QualitySettings, dict[str, Any]]]) -> str:
    lines = ["", f"### Each set with settings chosen on the others, `{NEW_KNOB}` held off "
             "(the method before this round), same run", "", HEADER]
    lines += [row(s.name, s.role, m) for s, _, m in rows]
    lines += ["", "Settings chosen without the set:", ""]
    lines += [f"- {s.name}: {changed(q)}" for s, q, _ in rows]
    return "\n".join(lines) + "\n"


def render_seed(seed: list[tuple[LabelledSet, dict[str, Any]]]) -> str:
    lines = ["", "### Seed-style baseline, same run", "",
             "Every message embedded, DBSCAN cosine eps 0.25, top-1 1,000-character chunk "
             "(`benchmarks/baselines.py`).", "", HEADER]
    lines += [row(s.name, s.role, m) for s, m in seed]
    return "\n".join(lines) + "\n"


FINDINGS = """
Before issue #12 (main, same metrics): Pydantic 14/28 recovered, 8/28 right page, B³ F1 0.57,
noise leak 0.35; Vite 8/26, 6/26, 0.47, 0.16 (`docloop eval`). The first round of #12 added
noise rules, shrinkage, local scaling (CSLS) and the shared-words blend: LOCO Pydantic 20/28
F1 0.67, Vite 17/26 F1 0.57, with within-group cosines of real reports barely above the
between-group p95.

Second round (this table): why groups split was measured first (per group: extracted or
not, within-group vs nearest-other-group similarity, which clusters its problems fall in).
Extraction loses few group messages (Pydantic 9 of 125, Vite 10 of 133); the split is in
the similarity. The problem text (prose only, code blocks dropped, cut at 400 characters)
was what was embedded; real reports are told apart by the code and error output they paste
and by the rest of the description. Same-group pair ROC AUC (centred cosine), measured once
by hand: messages verbatim 0.933 Pydantic / 0.914 Vite; the same with code blocks removed
0.890 / 0.851 (the code is the signal, not noise). `benchmarks/separation_bench.py`: problem
text 0.885 / 0.862, the shipped rule (verbatim only where the problem text dropped code or
length) 0.930 / 0.916, typescript-eslint 0.958 → 0.975, the other written sets within
0.001. So clustering embeds `Problem.embedding_text`, and its code terms and shared words
read the same text; the match stage keeps the problem text's vector.
The grid (192 settings) drops `follow_up_words` 8/16 and `hub_weight` 0 (every fold of the
first round chose 12 and local scaling) and adds `hub_weight` 1.0, `hub_k` 10 and
`lift_isolated`. With more separable vectors the calibration moves to stronger local
scaling (hub_weight 1.0) and a lower threshold with the shared-words blend (0.30, 0.3);
every fold agrees but typescript-eslint's (which also turns `lift_isolated` off).

Tried and not shipped: agreement of the problems' best docs sections as a similarity
(top-k section profile, AUC 0.73–0.89 alone, +0.003 blended with CSLS); average-linkage
over all problems (best threshold no better than the online clustering on any real set
and worse on the written ones); a second average-linkage merge of clusters with local
scaling (recovers no more groups at any threshold, raises noise); topicality gating
(a noise problem's best docs similarity overlaps the group problems' on the real sets:
Pydantic noise 0.39–0.68 against group p10 0.50).

Still short of the targets: Pydantic B³ F1 0.72 and noise leak 0.12 (three topical noise
posts — a design question about an `exclude_empty` option, a thank-you that mentions a
warning, a TODO wish — are extracted as problems and join clusters); FastAPI held-out
falls from 0.77 to 0.74 (14/20), below its floor (the knobs chosen on the other sets
trade it for the real sets and typescript-eslint; `shared_weight` 0.20 would keep it at
0.78 but loses typescript-eslint 19/23 → 14/23).
"""


if __name__ == "__main__":
    main(sys.argv[1:])
