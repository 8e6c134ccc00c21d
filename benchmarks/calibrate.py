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

Usage: PYTHONPATH=src python benchmarks/calibrate.py [--quick] [--no-seed]
(--no-seed: skip the seed-style baseline, which embeds every message and reads no
docloop setting, so its rows cannot move with a clustering change)
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
#: and lift_isolated on, so they are fixed; the grid spends its runs on the knobs that
#: moved, on hub_weight 0.75 (the previous round's ablation: Pydantic 0.755 alone) and on
#: this round's mutual-fragment join (`fragment_quantile`, `fragment_size`: off, the
#: 0.95 quantile with fragments of up to 2, the 0.9 quantile with fragments of up to 3)
GRID: dict[str, tuple[Any, ...]] = {
    "cluster_threshold": (0.30, 0.275, 0.35),
    "shared_weight": (0.10, 0.20),
    "lexical_weight": (0.3, 0.4),
    "attach_threshold": (None, 0.35, 0.32),
    "hub_weight": (1.0, 0.75),
    "fragments": ((None, 2), (0.95, 2), (0.9, 3)),
}
QUICK_GRID: dict[str, tuple[Any, ...]] = {"cluster_threshold": (0.30, 0.35),
                                          "fragments": ((None, 2), (0.95, 2))}
#: one grid entry setting two knobs together (they mean nothing apart)
PAIRED = {"fragments": ("fragment_quantile", "fragment_size")}
#: the knob this round added: LOCO is also reported with it held off (the method before)
NEW_KNOB = "fragment_quantile"


def objective(metrics: dict[str, Any]) -> float:
    """B-cubed F1 + share of groups recovered − noise leak."""
    recovered = metrics["groups_recovered"] / metrics["groups"] if metrics["groups"] else 0.0
    return float(metrics["bcubed_f1"] + recovered - (metrics["noise_leak"] or 0.0))


def candidates(grid: dict[str, tuple[Any, ...]]) -> list[QualitySettings]:
    """Every combination of the grid, the shipped-before values first."""
    names = list(grid)
    return [replace(SHIPPED, **_knobs(dict(zip(names, values, strict=True))))
            for values in itertools.product(*(grid[n] for n in names))]


def _knobs(entry: dict[str, Any]) -> dict[str, Any]:
    """A grid entry as `QualitySettings` fields (a paired entry sets its two knobs)."""
    out: dict[str, Any] = {}
    for name, value in entry.items():
        out.update(zip(PAIRED[name], value, strict=True) if name in PAIRED else [(name, value)])
    return out


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
    if "--no-seed" not in args:
        seed = [(s, score_insights(runs[s.name].gold, run_seed(runs[s.name], False)))
                for s in sets]
        text += render_seed(seed)
    text += FINDINGS
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
Fourth round (issue #12, this table: a merge rule for split groups, chosen
leave-one-community-out). Diagnosis first
(`PYTHONPATH=src:benchmarks python benchmarks/fragment_diag.py [SET]`:
the shipped clustering of each set, each cluster named by its majority group, every
cluster's nearest other cluster by the clustering score, centroid cosine minus both sides'
local-scaling density). Pydantic's 121 problems end in 37 clusters and 10 of its 28
groups are split: custom-error-messages 5+2, datetime 2+3, extra-fields 5+1,
generic-model 2+2, int-not-coerced 3+2, optional-field 2+1, pydantic-core 4+2,
subclass-fields 6+2, underscore-private 4+1, url-types 2+3; Vite's 129 end in 33 with 5
split (chunk-size 2+2, dynamic-asset-url 3+3, import-meta-glob 3+3, public-dir 2+1,
spa-refresh-404 4+1+1); FastAPI held-out 50 → 31 clusters, 6 split, all pieces of one to
two problems; typescript-eslint 48 → 25, 2 split. Why they were not joined: 7 of
Pydantic's 10 split pairs score 0.15–0.29 between their fragments, under the 0.30 join
threshold, and the small "fragments" are often not pure: url-types' two-message piece is
a me-too (*"I see the same issue as well. For now my workaround is an ugly hack to do
`.rstrip("/")`"*) sitting with a forward-refs message, subclass-fields' is with a
schema-examples message, custom-error-messages' with an int-not-coerced one. The real
sets' messages are standalone (no thread or reply joins a me-too to the report it
follows, `evaluation/chat.py`), so a short follow-up carries none of its problem's
vocabulary. The candidates for a merge (mutually nearest pairs whose smaller side has at
most 3 problems and larger side at least 2) are same-group / different-group: Pydantic
5 / 8, Vite 1 / 7, typescript-eslint 0 / 8, FastAPI held-out 2 / 3; the best
different-group pair scores above every same-group pair but one on Pydantic (0.370 vs
generic-model's 0.430), above all of Vite's (env-vars-undefined / env-vars-in-config
0.458 vs dynamic-asset-url 0.397) and tops typescript-eslint (define-config /
editor-setup 0.400). Measured on the same candidate pairs and no better: single and
average linkage between the two sides' problems, the share of the small side whose
nearest problem lies in the other cluster, and the agreement of the members' own docs
searches (each member's top 3 pages, weighted by rank and by how rarely the page is a
top hit in the run; cosine of the two sides' votes: same-group 0.85 / 0.81 / 0.54 / 0.28
/ 0.11 on Pydantic, 0.69 on Vite; different-group up to 0.80 on Vite (env vars), 0.70,
0.68, 0.66). Raw page agreement is worse: catch-all pages are the top hit of a quarter of
the problems (Pydantic `migration.md` 31 of 121, Vite `guide/troubleshooting.md` 28 of
129). These were one-off scripts over `fragment_diag.py`'s capture, not committed; the
docs votes would also have needed the docs index inside the cluster stage.

Built anyway, as a knob the calibration may take or leave (stages/mutual_fragments.py,
`QualitySettings.fragment_quantile` / `fragment_size`, off by default): after the
singleton pass, a cluster of at most `fragment_size` problems joins its *mutually* nearest
cluster when that one already holds two or more and the pair's score reaches the given
quantile of the run's own nearest-cluster scores (not a fixed cosine). The grid adds it
(off / 0.95 quantile with fragments ≤ 2 / 0.9 with ≤ 3) and hub_weight 0.75 (the previous
ablation's hint): 216 settings. Result: no fold but typescript-eslint's takes the join,
and that fold pays for it (B³ F1 0.85 → 0.82, recovered 17 → 16 of 23); the shipped
settings (chosen on all six sets) do not change. Pydantic is 0.73 unseen either way,
Vite 0.74 (its fold picks the 0.35 threshold and shared weight 0.2, as last round);
shipped they are 0.73 / 0.75. The join helps where a set's pairs happen to be same-group
(shipped plus the 0.95 / ≤ 2 join: FastAPI 0.96 → 0.98, Pydantic 0.73 → 0.74, Vite 0.75
→ 0.76; FastAPI held-out unchanged at 0.78) and costs typescript-eslint 0.86 → 0.84 and
Tidepool a noise leak of 0.08 → 0.21 (a chit-chat singleton's mutually nearest cluster);
the ablation rows below. Some settings of the grid put both real sets at or above 0.75
at once (0.275 threshold, words 0.4, join 0.95 / ≤ 2: Pydantic 0.747, Vite 0.776,
typescript-eslint 0.825), but no fold chooses them, and picking them by looking at the
real sets would be the tuning-on-the-test-set the calibration exists to avoid.

Against issue #12 after this round: unchanged (Pydantic 0.73, Vite 0.74 unseen; recovered
22/28 and 21/26 ≥ 75 %; noise ≤ 0.10 everywhere; FastAPI held-out 0.76 unseen, below
0.77; typescript-eslint 0.85 unseen with the join held off). The B³ F1 target on the real
sets is not met by any cluster-pair evidence measured here.

Cost of the join (off in the shipped settings, so `docloop run` and the scale benchmark's
10k row do no extra work: the pass is skipped, not run with no effect). On, it finds every
live cluster's nearest other cluster once: in a run of at most `EXACT_MAX` problems one
clusters × clusters product a block of 2,048 rows at a time, above it the clusters of each
cluster's 8 nearest buckets (the same candidates as the singleton pass). `python
benchmarks/cluster_scale_bench.py --row N MODE 0` (random singletons, the worst case; CPU
s / peak growth MB; one session, load average 7–11): 8,000 problems bucketed + attach
32.6 / 132, + join 33.9 / 132; 32,000: 135.5 / 474, + join 153.3 / 476 (+13 %, about what
the singleton pass itself adds). Like the other bucketed passes it scores each cluster
against every bucket centre to find its nearest buckets (n / 128 centres), so at a
million-message run with many clusters it would add about one more singleton pass,
not a new term in the complexity.

Third round (issue #12, the previous calibration run). Re-run on main with last session's
noise rules (acknowledgements, roadmap notes, design questions, chatter),
leave-one-community-out for the first time: with the new knob held off (the table above
it), noise leak is 0.03 on
typescript-eslint (was 0.18) and 0.00 on Pydantic (was 0.12); no set leaks more than 0.08
(Tidepool, unchanged). What still leaks on typescript-eslint is one message: the asker's
image-only follow-up (`ci-duration.png`, no text) in the `typed-perf` thread, labelled
noise, which travels with the problem's message ids. The label is arguable (it is the
asker's evidence, in the report's thread); it is kept.

Why recall is low, measured before building anything (the clusters of the shipped run,
each named by its majority group): Pydantic's 121 problems end in 45 clusters,
and split groups are pairs of fragments (generic-model 2+2, datetime 2+3, int-not-coerced
2+2+1). A merge pass over fragments needs some cluster-pair evidence that puts same-group
pairs above different-group ones, and none does: centroid cosine in the clustering space
AUC 0.865 / 0.854 (Pydantic / Vite), with local scaling 0.891 / 0.920, yet the highest
different-group pair scores above all but 2 of 20 (Pydantic) and 0 of 12 (Vite)
same-group pairs; mutual nearest clusters fare no better (Vite's closest mutual pairs are
env-vars-undefined / env-vars-in-config 0.54, css-modules-naming / library-mode-css 0.44,
import-meta-glob / path-alias-tsconfig 0.44, all different groups); the rarest shared code
term AUC 0.51 / 0.53; mutual 3-nearest-neighbour links between fragments are as mixed. No
fragment merge is shipped. The problem-pair similarity has no headroom from word features
either (same-group pair AUC with local scaling: shipped 0.957 / 0.954; stemmed words
0.958 / 0.955; log tf 0.957 / 0.955; word bigrams 0.954 / 0.950), and lowering the join
threshold or raising the words' share trades precision for recall one for one (0.275 /
0.4: Pydantic F1 0.72, Vite 0.775; 0.25 / 0.3: 0.66, 0.73).

What was found and is shipped: the refinement can never move a problem that is alone in
its cluster (it *is* the centroid, similarity 1), so a problem that came before its group
formed stays a singleton even when that group's centroid scores above the join threshold
(best-other-cluster scores of singletons reach 0.43 against 0.30; FastAPI held-out's
`middleware` and `schema-examples` ended as clusters of one each). `stages/fragments.py`
gives each new singleton, after the refinement, its best other cluster when the clustering
score reaches `attach_threshold`. Above 0.30 on the six sets, 9 singletons' best cluster is
their own group's and 10 another group's: a trade, which the calibration takes at 0.32.
Leave-one-community-out it is a wash (B³ F1 with / without: FastAPI held-out 0.76 / 0.74,
Pydantic 0.73 / 0.72, typescript-eslint 0.85 / 0.87, Vite 0.74 / 0.76, where Vite's fold
also moved to a 0.35 threshold and shared weight 0.2 and leaked 0.04 noise); with the
settings chosen on all sets it lifts FastAPI held-out over its 0.77 floor (0.78) and
Pydantic to 0.73, and costs typescript-eslint 0.01 and Vite 0.01.

Against issue #12 (each real set with settings not chosen on it): groups recovered 22/28
(79 %) and 21/26 (81 %) meet 75 %; noise leak ≤ 0.10 is met on every set; B³ F1 ≥ 0.75 is
not met (Pydantic 0.73, Vite 0.74 with the pass, 0.72 / 0.76 without); FastAPI held-out is
0.76 unseen (floor 0.77; 0.78 shipped); typescript-eslint 0.85 stays over its 0.73 floor.
Labels that look arguable rather than wrong (kept): the different-group pairs above are
topics a reader could file together (env vars read in the config vs env vars undefined in
the client; type-checker alias errors vs populate-by-field-name; json_encoders replacement
vs model_dump not JSON-serialisable, which share a cluster).

The grid fixes center_shrink 10, hub_k 5, hub_weight 1.0 and lift_isolated on (every fold
of the previous 192-setting calibration chose them, but typescript-eslint's for
lift_isolated) and sweeps the join threshold (0.275 / 0.30 / 0.35), shared weight, words'
share (0.3 / 0.4) and `attach_threshold` (off / 0.35 / 0.32): 36 settings. The ablation
below (shipped settings, one knob moved) shows hub_weight 0.5 at Pydantic 0.75 / 20 of 28
and Vite 0.74 / 23 of 26: worth putting back in the next round's grid, not shipped here
(no leave-one-community-out evidence for it in this run). The diagnostics above (cluster-pair
and problem-pair AUCs, singleton scores) were measured once by hand on the shipped run's
clusters, not by a committed benchmark. Cost: the pass is one product of the singletons
with the centroids (what the online pass already does per problem), no problem pairs; its
run time on the scale benchmark was not measured in this session.
"""


if __name__ == "__main__":
    main(sys.argv[1:])
