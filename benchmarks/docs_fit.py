"""When the docs do not fit the community: the `missing` verdict's fit floor (verdict.py).

Every labelled set is run as `docloop run` runs it (shipped settings) with its own docs, and
five of them again against an unrelated product's docs, where no page covers any problem.
For each run: the run's median best-page similarity (the `missing` reference before the
floor), the insights, and how many say `missing`, without the floor (`fit_floor` 0) and as
shipped. Both are measured for every run, its own docs included.

Usage: PYTHONPATH=src:benchmarks python benchmarks/docs_fit.py
Writes benchmarks/results/docs_fit.md.
"""

from __future__ import annotations

from dataclasses import replace

import labelled_sets
from docloop import steps
from docloop.quality import SHIPPED
from docloop.stages.verdict import FIT_FLOORS, VerdictSettings

RESULTS = labelled_sets.HERE / "results" / "docs_fit.md"
#: (set, the set whose docs it meets): products that share no subject
CROSSED = (("vite", "pydantic"), ("pydantic", "vite"), ("pydantic", "tseslint"),
           ("tseslint", "fastapi"), ("fastapi", "vite"))


def measure(labelled: labelled_sets.LabelledSet, verdict: VerdictSettings
            ) -> tuple[float | None, int, int]:
    """(the run's median best-page similarity, insights, insights saying `missing`)."""
    medians: list[float | None] = []
    measured = steps.run_reference

    def spy(*args: object, **kwargs: object) -> float | None:
        value = measured(*args, **kwargs)  # type: ignore[arg-type]
        medians.append(value)
        return value

    steps.run_reference = spy  # type: ignore[assignment]
    run = labelled_sets.SetRun(labelled)
    try:
        scores = run.full(SHIPPED, verdict=verdict)
    finally:
        run.close()
        steps.run_reference = measured
    return medians[-1] if medians else None, scores["insights"], scores["said_missing"]


def _median(median: float | None) -> str:
    """A run of fewer insights than the verdict's `min_reference` has no median."""
    return "-" if median is None else f"{median:.3f}"


def _counts(without: int, shipped: int) -> str:
    """Insights without the floor and as shipped (the fold joins fewer when more say
    `missing`, stages/settle.py)."""
    return str(without) if without == shipped else f"{without} → {shipped}"


def main() -> None:
    sets = {s.name: s for s in labelled_sets.SETS if s.available()}
    lines = ["| chat | docs | median best-page similarity | insights | `missing` without the "
             "floor | `missing` as shipped |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for labelled in sets.values():
        median, insights, without = measure(labelled, VerdictSettings(fit_floor=0))
        _, shipped_insights, shipped = measure(labelled, VerdictSettings())
        lines.append(f"| {labelled.name} | its own | {_median(median)} | "
                     f"{_counts(insights, shipped_insights)} | {without} | {shipped} |")
    for chat, docs in CROSSED:
        if chat not in sets or docs not in sets:
            continue
        # the docs' own base URL: the corpus's shared index keeps the URLs it was built with
        crossed = replace(sets[chat], name=f"{chat}-on-{docs}", docs=sets[docs].docs,
                          base_url=sets[docs].base_url)
        median, insights, without = measure(crossed, VerdictSettings(fit_floor=0))
        _, shipped_insights, shipped = measure(crossed, VerdictSettings())
        lines.append(f"| {chat} | {docs} | {_median(median)} | "
                     f"{_counts(insights, shipped_insights)} | {without} | {shipped} |")
    lines.append(f"\nFit floor (MiniLM): {FIT_FLOORS['all-MiniLM-L6-v2']:.2f}.")
    labelled_sets.publish(RESULTS, lines)


if __name__ == "__main__":
    main()
