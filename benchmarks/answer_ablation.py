"""What the answers other users gave are worth: the whole loop with and without them.

The offline analyzer keeps a conversation's first substantial reply by someone else
(`Problem.context`, usually the answer). Clustering reads it (a problem's vector and its
verbatim text carry it) and so does the match stage (each member searches with its
text plus its answer; a docs link in the answer counts towards the linked page). Issue
#12 asks for each ranking ingredient's gain; this is the gain of the answers, the one
ingredient the real sets cannot show (their messages have no replies).

Each set runs the whole loop at shipped settings twice: as shipped, and with no
conversation's answer read (the analyzer keeps none). A set with no answered problem is
run once and says so. Each cell is the `docloop eval` figures: groups recovered, right
page (a no-page group counts when it says `missing`), `missing` found, B-cubed F1.

Usage: PYTHONPATH=src:benchmarks python benchmarks/answer_ablation.py [SET ...]
Writes benchmarks/results/answer_ablation.md.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import docloop.backends.analyzers.offline as offline
import labelled_sets
from docloop.backends.docs_index.rerank import linked_paths
from docloop.quality import SHIPPED, QualitySettings

RESULTS = labelled_sets.HERE / "results" / "answer_ablation.md"


@contextmanager
def answers(read: bool) -> Iterator[None]:
    """With `read` False, the offline analyzer keeps no conversation's answer."""
    saved = offline._answer
    if not read:
        offline._answer = lambda messages, asker: ""  # type: ignore[assignment]
    try:
        yield
    finally:
        offline._answer = saved  # type: ignore[assignment]


def answered(run: labelled_sets.SetRun, quality: QualitySettings) -> tuple[int, int, int]:
    """(problems with an answer, of them those whose answer links a URL, problems) of the
    set at `quality`: a helper's link to the docs is the strongest part of an answer."""
    problems, _ = run.extracted(quality)
    answers = [p.context for p in problems if p.context]
    return len(answers), sum(1 for a in answers if linked_paths(a)), len(problems)


def cell(scores: dict[str, Any]) -> str:
    return (f"{scores['groups_recovered']}/{scores['groups']} · {scores['right_page']} · "
            f"{scores['missing_found']}/{scores['missing_groups']} · "
            f"{scores['bcubed_f1']:.3f}")


def main(names: list[str]) -> None:
    logging.disable(logging.INFO)
    lines = ["## The answers other users gave (issue #12 ingredient)", "",
             "Command: `PYTHONPATH=src:benchmarks python benchmarks/answer_ablation.py`. The "
             "whole loop at shipped settings, with each conversation's first substantial "
             "reply by someone else read (as shipped) and with none read. Cells: groups "
             "recovered · right page · `missing` found · B³ F1 (`docloop eval` definitions).",
             "", "| set | problems answered (answer links a URL) | answers read (shipped) | "
             "no answers read |", "| --- | ---: | --- | --- |"]
    for labelled in labelled_sets.SETS:
        if (names and labelled.name not in names) or not labelled.available():
            continue
        run = labelled_sets.SetRun(labelled)
        try:
            with_answers, linking, total = answered(run, SHIPPED)
            shipped = cell(run.full(SHIPPED))
            if with_answers:
                with answers(False):
                    without = cell(run.full(SHIPPED))
            else:
                without = "the same (no problem has an answer)"
        finally:
            run.close()
        lines.append(f"| {labelled.name} | {with_answers} of {total} ({linking}) | {shipped} | "
                     f"{without} |")
        print(lines[-1], flush=True)
    labelled_sets.publish(RESULTS, lines)


if __name__ == "__main__":
    main(sys.argv[1:])
