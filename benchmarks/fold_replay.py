"""Which insights to fold on a shared docs section: the rules replayed on every labelled set.

`stages/settle.py` folds an insight of at most two messages into the largest insight
matched to the same section. This replays the loop at shipped settings with the fold off
(`settle.SMALL_MESSAGES = 0`), then folds its insights by each candidate rule and scores
them with `docloop eval`'s metrics: no fold; two-message insights into a larger one;
every insight of at most two messages (the shipped rule); every insight sharing a
section. The rule was chosen from this table (benchmarks/RESULTS.md, session 20). The
last rows fold on a shared *page* instead of a section (session 22: two small insights
on one page, such as Pydantic's two datetime pairs on `errors/validation_errors.md`,
looked like one problem; the rows say otherwise).

Usage: PYTHONPATH=src:benchmarks python benchmarks/fold_replay.py [SET ...]
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import labelled_sets
from docloop.evaluation.metrics import Gold, Predicted, score_insights
from docloop.quality import QualitySettings
from docloop.stages import settle

SHIPPED_SMALL = settle.SMALL_MESSAGES  # read before main() turns the fold off
Rule = Callable[[int, int], bool]  # (absorbed's messages, kept's messages) -> fold?
RULES: dict[str, Rule | None] = {
    "none": None,
    "two-message into a larger": lambda size, keep: size == 2 and keep > 2,
    "at most two messages (shipped)": lambda size, _: size <= SHIPPED_SMALL,
    "every insight on a shared section": lambda _, __: True,
}
#: the same rules, insights meeting on one page whatever its section
PAGE_RULES: dict[str, Rule] = {
    "at most two messages, on a shared page": lambda size, _: size <= SHIPPED_SMALL,
    "at most three messages, on a shared page": lambda size, _: size <= SHIPPED_SMALL + 1,
}


def fold(predicted: Sequence[Predicted], rule: Rule | None,
         by_page: bool = False) -> list[Predicted]:
    """`predicted` with each insight the rule folds joined to the largest on its section
    (`by_page`: on its page)."""
    if rule is None:
        return list(predicted)
    by_section: dict[tuple[str, str | None], list[int]] = {}
    for i, insight in enumerate(predicted):
        if insight.page is not None:
            by_section.setdefault((insight.page, None if by_page else insight.section),
                                  []).append(i)
    into: dict[int, int] = {}
    for rows in by_section.values():
        keep = max(rows, key=lambda i: len(predicted[i].message_ids))
        into.update({i: keep for i in rows if i != keep and rule(
            len(predicted[i].message_ids), len(predicted[keep].message_ids))})
    joined = []
    for i, insight in enumerate(predicted):
        if i not in into:
            ids = [*insight.message_ids, *(m for j, k in into.items() if k == i
                                           for m in predicted[j].message_ids)]
            joined.append(Predicted(ids, insight.page, insight.verdict, insight.title,
                                    insight.section, insight.candidates))
    return joined


def unfolded(labelled: labelled_sets.LabelledSet) -> tuple[Gold, list[Predicted]]:
    """The set's insights at shipped settings with the fold off, as `SetRun.full` scores."""
    captured: dict[str, Any] = {}
    scorer = labelled_sets.score_insights

    def keep(gold: Gold, predicted: Sequence[Predicted]) -> dict[str, Any]:
        captured["predicted"] = list(predicted)
        return scorer(gold, predicted)

    run = labelled_sets.SetRun(labelled)
    labelled_sets.score_insights = keep
    try:
        run.full(QualitySettings())
    finally:
        labelled_sets.score_insights = scorer
        run.close()
    return run.gold, captured["predicted"]


def main(names: list[str]) -> None:
    settle.SMALL_MESSAGES = 0  # the loop without the fold
    lines = ["## Folding insights that share a docs section: the rules replayed", "",
             "Command: `PYTHONPATH=src:benchmarks python benchmarks/fold_replay.py`. Each "
             "set's loop at shipped settings with the fold off, its insights then folded by "
             "each rule (stages/settle.py ships the third) and scored as `docloop eval` "
             "scores them.", "",
             "| set | rule | insights | recovered | right page | B³ F1 |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for labelled in labelled_sets.SETS:
        if (names and labelled.name not in names) or not labelled.available():
            continue
        gold, predicted = unfolded(labelled)
        rows = [(label, rule, False) for label, rule in RULES.items()]
        rows += [(label, rule, True) for label, rule in PAGE_RULES.items()]
        for label, rule, by_page in rows:
            r = score_insights(gold, fold(predicted, rule, by_page))
            lines.append(f"| {labelled.name} | {label} | {r['insights']} | "
                         f"{r['groups_recovered']}/{r['groups']} | {r['right_page']} | "
                         f"{r['bcubed_f1']:.3f} |")
            print(lines[-1], flush=True)
    labelled_sets.publish(labelled_sets.HERE / "results" / "fold_replay.md", lines)


if __name__ == "__main__":
    main(sys.argv[1:])
