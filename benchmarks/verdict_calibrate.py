"""Calibrate the match stage's `VerdictSettings`: one grid, one objective, one rule.

Run: PYTHONPATH=src:benchmarks python benchmarks/verdict_calibrate.py [SET ...] [--evidence]

Every `VerdictSettings` knob that changes what `docloop eval` scores is swept together
on the insights the loop actually forms (match_replay's capture of each labelled set,
shipped clustering): the page knobs (`group_weight`, `hub_discount`,
`section_weight`) and the verdict knobs (`below_reference`, `term_weight`,
`unknown_weight`, `chat_share`, `agree_weight`, `size_margin`). The grid is coarse
on purpose: a few steps per knob around the shipped values, so a choice is a plateau,
not a point the sets' noise made.

The objective is right pages minus wrong `missing` verdicts, pooled over the sets chosen
on. A right page counts a no-page group found (`missing` recall); a `missing` said for
an insight whose largest group has a page costs one more (`missing` precision: it sends
a writer to create a page that exists, worse than a wrong page that exists). Ties go to
the setting fewest grid steps from the shipped one (then the first listed).

For each set the setting is chosen on the other sets (leave one community out) and its
figures reported next to the verdict shipped before (`BEFORE`) and the all-sets choice,
all from one replay. The all-sets choice is what `VerdictSettings` ships. loco_eval.py
calls `sweep` and `choose` for its verdict stage, so the two never disagree.

Knobs not swept: `covered` and `term_coverage` only split `covered` from `partial`
(neither is scored); `min_reference` and `fallback_missing` only act on runs of fewer
than five insights (no labelled set has one); `unknown_cap`, `group_breadth` and
`vote_k` keep their shipped values (their sweeps: match_ablation.py, RESULTS.md).

`--evidence` prints every insight's verdict evidence under the shipped settings: the
similarity against the run's reference, the chosen page's term coverage, agreement,
unknown words and size, the largest group and whether it has a page.
"""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from docloop.evaluation.metrics import Predicted, recovered_groups
from docloop.stages.match import MAX_VOTERS, Found, closeness, find_page
from docloop.stages.verdict import VerdictSettings, is_missing, unknown_terms
from labelled_sets import publish
from match_replay import REAL_SETS, Captured, Replay, load, shipped_rule

RESULT = Path(__file__).resolve().parent / "results" / "verdict_calibrate.md"

#: knobs that change the chosen page (find_page runs once per combination)
PAGE_GRID: dict[str, tuple[float, ...]] = {
    "group_weight": (0.25, 0.5, 1.0),
    "hub_discount": (0.0, 0.5),
    "section_weight": (0.0, 0.25, 0.5, 1.0),
}
#: knobs that only change the verdict on a found page
VERDICT_GRID: dict[str, tuple[float, ...]] = {
    "below_reference": (0.09, 0.12, 0.15, 0.18, 0.21),
    "term_weight": (0.0, 0.1, 0.2),
    "unknown_weight": (0.0, 0.1, 0.15, 0.2),
    "chat_share": (1.0, 0.1, 0.02),
    "agree_weight": (0.0, 0.4, 0.8),
    "size_margin": (0.0, 0.1, 0.2),
}
GRID = {**PAGE_GRID, **VERDICT_GRID}
SHORT = {"group_weight": "group", "hub_discount": "hub", "section_weight": "section",
         "below_reference": "below", "term_weight": "terms", "unknown_weight": "unknown",
         "chat_share": "chat share",
         "agree_weight": "agree", "size_margin": "size"}
#: the settings main shipped before this calibration (the two-step choice's)
BEFORE = VerdictSettings(below_reference=0.15, term_weight=0.2, unknown_weight=0.15,
                         chat_share=0.1, agree_weight=0.8, size_margin=0.2,
                         group_weight=0.25, hub_discount=0.5)
#: the columns of a set's sweep: one row per grid option
COUNTS = ("right", "groups", "found", "missing_groups", "said", "said_right")


def options() -> list[VerdictSettings]:
    """Every grid option, page knobs outermost (the order of `sweep`'s rows)."""
    knobs: list[dict[str, Any]] = [dict(zip(GRID, values, strict=True))
                                   for values in itertools.product(*GRID.values())]
    return [VerdictSettings(**values) for values in knobs]


def steps_from(settings: VerdictSettings, anchor: VerdictSettings) -> int:
    """Grid steps between two settings, summed over the knobs (a knob the grid does not
    sweep, or a value off its grid, counts one step when the two differ)."""
    total = 0
    for knob in fields(VerdictSettings):
        a, b = getattr(settings, knob.name), getattr(anchor, knob.name)
        values = GRID.get(knob.name, ())
        if a in values and b in values:
            total += abs(values.index(a) - values.index(b))
        else:
            total += int(a != b)
    return total


# -- the objective and the rule -------------------------------------------------------------

def objective(counts: np.ndarray) -> np.ndarray:
    """Right pages minus wrong `missing` verdicts, per option (`counts`: COUNTS columns)."""
    right, said, said_right = (counts[..., COUNTS.index(c)] for c in ("right", "said",
                                                                        "said_right"))
    return right - (said - said_right)


def choose(sweeps: dict[str, np.ndarray], names: Sequence[str],
           grid: Sequence[VerdictSettings] | None = None,
           anchor: VerdictSettings | None = None) -> int:
    """The option with the best pooled `objective` over the sets `names`; ties go to the
    option fewest grid steps from `anchor` (default the shipped `VerdictSettings`), then
    to the first listed. `sweeps` maps each set to its (options × COUNTS) counts."""
    if not names:
        raise ValueError("choose needs at least one set to choose on")
    grid = list(grid) if grid is not None else options()
    anchor = anchor or VerdictSettings()
    pooled = objective(np.sum([np.asarray(sweeps[n]) for n in names], axis=0))
    best = pooled.max()
    tied = np.flatnonzero(pooled == best)
    return int(min(tied, key=lambda i: (steps_from(grid[i], anchor), i)))


# -- one set's sweep -------------------------------------------------------------------------

def outcomes(replay: Replay) -> tuple[list[int], list[str | None], dict[str, int]]:
    """Per insight: no-page groups it recovers and its largest group (None: noise only,
    as metrics.missing_precision reads it); and each recovered group's insight."""
    gold = replay.run.gold
    preds = [Predicted(item.message_ids, None, "partial") for item in replay.captured]
    recovered = recovered_groups(gold, preds)
    nopage = [0] * len(preds)
    for group, i in recovered.items():
        nopage[i] += gold.groups[group] is None
    largest: list[str | None] = []
    for item in replay.captured:
        counts = Counter(gold.messages.get(m) for m in item.message_ids)
        counts.pop(None, None)
        top = max(counts.values(), default=0)
        largest.append(min((g for g, n in counts.items() if n == top and g), default=None))
    return nopage, largest, recovered


def without_page(replay: Replay, group: str | None) -> bool:
    """Whether `group` is a labelled group no page covers (a right `missing`)."""
    return group is not None and replay.run.gold.groups[group] is None


def sweep(replay: Replay, grid: Sequence[VerdictSettings] | None = None) -> np.ndarray:
    """Every option's COUNTS on one set's captured insights, matched as `docloop run`
    matches them (find_page per page setting, then the verdict per option)."""
    grid = list(grid) if grid is not None else options()
    gold = replay.run.gold
    nopage, largest_group, recovered = outcomes(replay)
    largest = [without_page(replay, g) for g in largest_group]
    by_insight: dict[int, list[str]] = {}
    for group, i in recovered.items():
        by_insight.setdefault(i, []).append(group)
    missing_groups = sum(1 for page in gold.groups.values() if page is None)
    rows = np.zeros((len(grid), len(COUNTS)), dtype=np.int64)
    founds: dict[tuple[float, ...], list[Found]] = {}
    unknowns: dict[float, list[int]] = {}
    for row, option in enumerate(grid):
        key = tuple(getattr(option, k) for k in PAGE_GRID)
        if key not in founds:
            founds[key] = [find_item(item, replay, option) for item in replay.captured]
        if option.chat_share not in unknowns:
            unknowns[option.chat_share] = [unknown_count(item, replay, option)
                                           for item in replay.captured]
        right = found = said = said_right = 0
        for i, (item, hit) in enumerate(zip(replay.captured, founds[key], strict=True)):
            if says_missing(item, hit, unknowns[option.chat_share][i], option):
                said += 1
                said_right += largest[i]
                found += nopage[i]
                right += nopage[i]
            elif hit.choice is not None:
                page = hit.choice.ranked[0].path
                right += sum(1 for g in by_insight.get(i, []) if gold.groups[g] == page)
        rows[row] = (right, len(gold.groups), found, missing_groups, said, said_right)
    return rows


def find_item(item: Captured, replay: Replay, settings: VerdictSettings) -> Found:
    """find_page on a captured insight, as enrich.enrich_insight calls it."""
    evidence = member_evidence(item)
    group = replay.group_hits([text for text, _ in evidence], settings)
    return find_page(item.insight, item.centroid, replay.hybrid, evidence, item.reference,
                     settings, group, replay.hybrid.page_hubs())


def member_evidence(item: Captured) -> list[tuple[str, np.ndarray]]:
    return [(p.with_answer, v) for p, v in zip(item.problems[:MAX_VOTERS], item.vectors,
                                               strict=False)]


def member_words(item: Captured) -> list[str]:
    return [p.body or p.text for p in item.problems]


def unknown_count(item: Captured, replay: Replay, settings: VerdictSettings) -> int:
    """unknown_terms' count for the insight, as match_insight counts it."""
    words = member_words(item)
    if not words:
        return 0
    return len(unknown_terms(words, replay.hybrid.page_terms(), replay.chat.of_members(words),
                             settings.chat_share))


def says_missing(item: Captured, hit: Found, unknown: int, settings: VerdictSettings) -> bool:
    """match.judge's `missing` decision on a found page."""
    if hit.choice is None:
        return True
    evidence = closeness(hit.similarity, hit.choice, unknown, len(member_words(item)))
    return is_missing(evidence, item.reference, settings)


def check_against_loop(replay: Replay, counts: np.ndarray, settings: VerdictSettings) -> None:
    """Fail when the sweep's counts for `settings` differ from scoring the match stage's
    own output (match_insight through shipped_rule and score_insights)."""
    scores = replay.score(shipped_rule(settings))
    said = scores["said_missing"]
    expected = (scores["right_page"], scores["groups"], scores["missing_found"],
                scores["missing_groups"], said, round((scores["missing_precision"] or 0) * said))
    if tuple(int(x) for x in counts) != expected:
        raise AssertionError(f"{replay.name}: sweep {tuple(counts)} != loop {expected}")


# -- the report ------------------------------------------------------------------------------

def cell(counts: np.ndarray) -> str:
    right, groups, found, missing_groups, said, said_right = (int(x) for x in counts)
    precision = f"{said_right / said:.2f}" if said else "n/a"
    return f"{right}/{groups}, {found}/{missing_groups}, {precision} ({said_right}/{said})"


def describe(option: VerdictSettings) -> str:
    return ", ".join(f"{SHORT[name]} {getattr(option, name)}" for name in GRID)


def report(sweeps: dict[str, np.ndarray], before: dict[str, np.ndarray],
           grid: list[VerdictSettings]) -> list[str]:
    shipped = choose(sweeps, list(sweeps), grid)
    lines = ["| set | chosen on the other sets | right page, `missing` found, precision "
             "(right/said) with it | before (shipped until now), same run | chosen on all |",
             "| --- | --- | --- | --- | --- |"]
    pooled = {k: np.zeros(len(COUNTS), dtype=np.int64) for k in ("loco", "before", "all")}
    for name, rows in sweeps.items():
        i = choose(sweeps, [n for n in sweeps if n != name], grid)
        lines.append(f"| {name} | {describe(grid[i])} | {cell(rows[i])} | "
                     f"{cell(before[name])} | {cell(rows[shipped])} |")
        if name in REAL_SETS:
            pooled["loco"] += rows[i]
            pooled["before"] += before[name]
            pooled["all"] += rows[shipped]
    lines.append(f"| pooled (real sets) | each its own | {cell(pooled['loco'])} | "
                 f"{cell(pooled['before'])} | {cell(pooled['all'])} |")
    lines += ["", f"Chosen on all sets (shipped): {describe(grid[shipped])}."]
    return lines


def evidence_rows(replay: Replay, settings: VerdictSettings) -> list[str]:
    """One line per insight: the verdict's evidence and what the labels say."""
    _, largest, recovered = outcomes(replay)
    gold = replay.run.gold
    groups_of: dict[int, list[str]] = {}
    for group, i in recovered.items():
        groups_of.setdefault(i, []).append(group)
    rows = []
    for i, item in enumerate(replay.captured):
        hit = find_item(item, replay, settings)
        unknown = unknown_count(item, replay, settings)
        missing = says_missing(item, hit, unknown, settings)
        page = "-" if hit.choice is None else hit.choice.ranked[0].path
        label = ", ".join(groups_of.get(i, [])) or "-"
        expected = ", ".join(str(gold.groups[g] or "no page") for g in groups_of.get(i, []))
        agreed = hit.choice.agreement if hit.choice is not None else None
        coverage = hit.choice.coverage if hit.choice is not None else 0.0
        reference = item.reference or 0.0
        largest_group = (largest[i] or "(noise)") + (
            " (no page)" if without_page(replay, largest[i]) else "")
        rows.append(md_row(replay.name, label, expected or "-", largest_group,
                           len(member_words(item)), f"{hit.similarity - reference:+.3f}",
                           f"{coverage:.2f}", "-" if agreed is None else f"{agreed:.2f}",
                           unknown, "`missing`" if missing else page))
    return rows


def md_row(*cells: object) -> str:
    """One Markdown table row of `cells`."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def main(args: list[str]) -> None:
    names = [a for a in args if not a.startswith("--")]
    replays = load(names or None)
    if not replays:
        sys.exit("no labelled set found (needs ../shared)")
    if "--evidence" in args:
        print("| set | recovered group | its page | largest group | members | "
              "similarity − reference | coverage | agreement | unknown words | verdict |")
        print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for replay in replays:
            print("\n".join(evidence_rows(replay, VerdictSettings())))
        return
    grid = options()
    sweeps = {r.name: sweep(r, grid) for r in replays}
    before = {r.name: sweep(r, [BEFORE])[0] for r in replays}
    for replay in replays:
        check_against_loop(replay, before[replay.name], BEFORE)
    lines = ["## `missing` verdict calibration", "",
             "Command: `PYTHONPATH=src:benchmarks python benchmarks/verdict_calibrate.py`. "
             f"{len(grid)} options ({' × '.join(str(len(v)) for v in GRID.values())}); "
             "objective: right pages minus wrong `missing` verdicts, pooled; ties to the "
             "shipped setting. Cells: right page, `missing` found, `missing` precision.",
             "", *report(sweeps, before, grid)]
    if not names:
        publish(RESULT, lines)
    else:
        print("\n".join(lines))
    print(asdict(grid[choose(sweeps, list(sweeps), grid)]), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
