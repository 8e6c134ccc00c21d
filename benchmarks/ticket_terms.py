"""What a ticket asks the writer to mention, on the real sets, with and without the docs check.

A ticket lists "Terms and errors users use that the page never mentions". Session 24 read
the real sets' tickets and found one user's own names there (`RootConfig` and
`EventBusConfig` of a pasted error, `param_value`, `imod_coupler`, a shell prompt's
`MyProject`, `redArrow`). The suggestion now leaves out a name only one voice wrote that
no page of the docs uses (offline_suggest._one_users_name). This runs `docloop eval` on
each real set twice, with the docs check and with every name reported as used by the
docs (the check off), and lists what the tickets' term lines lost and kept. Every
figure `docloop eval` reports is the same in both runs (the lists are only shown). The
last column times the docs-wide check in a fresh index over every name the tickets listed
with the check off: the first name reads the pages' texts.

Usage: PYTHONPATH=src:benchmarks python benchmarks/ticket_terms.py
Writes benchmarks/results/ticket_terms.md.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import labelled_sets
from docloop import registry
from docloop.backends.docs_index.hybrid import HybridDocsIndex
from docloop.config import load_settings
from docloop.evaluation.runner import EvalRequest, evaluate_labels
from docloop.stages.index_docs import open_index

RESULTS = labelled_sets.HERE / "results" / "ticket_terms.md"
_TERM = re.compile(r"`([^`]+)`")
_LISTED = ("Terms and errors users use that the page never mentions: ",
           "Terms and errors users use, for the new page to answer in their words: ")


@contextmanager
def docs_check_off() -> Iterator[None]:
    """Every name counts as one the docs use, as before the check."""
    checked = HybridDocsIndex.mentions
    HybridDocsIndex.mentions = lambda self, name: True  # type: ignore[method-assign]
    try:
        yield
    finally:
        HybridDocsIndex.mentions = checked  # type: ignore[method-assign]


def listed_terms(home: Path) -> dict[str, list[str]]:
    """Each outbox ticket's listed terms, by ticket file name."""
    found: dict[str, list[str]] = {}
    for ticket in sorted((home / "outbox").glob("*.md")):
        line = next((line for line in ticket.read_text(encoding="utf-8").splitlines()
                     if line.startswith(_LISTED)), "")
        found[ticket.name] = _TERM.findall(line)
    return found


def measure(labelled: labelled_sets.LabelledSet, work: Path, checked: bool
            ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    home = work / f"{labelled.name}-{'on' if checked else 'off'}"
    request = EvalRequest(labelled.labels, labelled.docs, (labelled.doc_prefix,),
                          keep_home=home)
    if checked:
        scores = evaluate_labels(load_settings(environ={}), request)
    else:
        with docs_check_off():
            scores = evaluate_labels(load_settings(environ={}), request)
    return scores, listed_terms(home)


def check_cost(home: Path, names: list[str]) -> str:
    """What the docs-wide check costs in a fresh process's index: the first name (the
    pages' texts read) and the mean of the others, in ms."""
    settings = load_settings(overrides={"home": home}, environ={})
    with registry.open_stores(settings) as stores:
        index = open_index(settings, stores)
        spent = []
        for name in names:
            start = time.perf_counter()
            index.mentions(name)
            spent.append((time.perf_counter() - start) * 1000)
    rest = spent[1:] or [0.0]
    return f"{spent[0]:.0f} / {sum(rest) / len(rest):.1f}" if spent else "n/a"


def set_lines(labelled: labelled_sets.LabelledSet, work: Path) -> list[str]:
    scores_off, off = measure(labelled, work, checked=False)
    scores_on, on = measure(labelled, work, checked=True)
    same = {k: v for k, v in scores_on.items() if k != "warnings"} == {
        k: v for k, v in scores_off.items() if k != "warnings"}
    dropped = sorted({t for name, terms in off.items() for t in terms
                      if t not in on.get(name, [])})
    added = sorted({t for name, terms in on.items() for t in terms
                    if t not in off.get(name, [])})
    return [f"| {labelled.name} | {len(on)} | {sum(map(len, off.values()))} → "
            f"{sum(map(len, on.values()))} | {sum(1 for t in off.values() if t)} → "
            f"{sum(1 for t in on.values() if t)} | {'yes' if same else 'NO'} | "
            + ", ".join(f"`{t}`" for t in dropped) + " | "
            + (", ".join(f"`{t}`" for t in added) or "none") + " | "
            + check_cost(work / f"{labelled.name}-on",
                         sorted({t for terms in off.values() for t in terms})) + " |"]


def main() -> None:
    lines = ["| set | tickets | terms listed (check off → on) | tickets listing any | "
             "eval figures equal | left out | listed in their place (the cap of 8 "
             "freed) | check, ms: first name / each further |",
             "| --- | ---: | ---: | ---: | --- | --- | --- | ---: |"]
    with tempfile.TemporaryDirectory(prefix="docloop-terms-") as scratch:
        for labelled in labelled_sets.SETS:
            if labelled.role == "real" and labelled.available():
                lines += set_lines(labelled, Path(scratch))
    labelled_sets.publish(RESULTS, lines)


if __name__ == "__main__":
    main()
