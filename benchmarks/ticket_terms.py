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

Session 25 read tickets on real typescript-eslint messages that listed `definition` and
`found`, the ordinary words of a "Definition for rule … was not found" three users pasted.
A plain word now counts only where two users wrote it themselves, and a title that is the
error users pasted is listed whole (offline_suggest._only_in_errors, _pasted_title). The
second table runs each set a third time with that rule off (the docs check on in both).

Usage: PYTHONPATH=src:benchmarks python benchmarks/ticket_terms.py
Writes benchmarks/results/ticket_terms.md.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import labelled_sets
from docloop import registry
from docloop.backends.analyzers import offline_suggest
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


@contextmanager
def pasted_rule_off() -> Iterator[None]:
    """Plain words count wherever users wrote them, and no pasted error is listed whole."""
    only, title = offline_suggest._only_in_errors, offline_suggest._pasted_title
    offline_suggest._only_in_errors = lambda term, prose: False
    offline_suggest._pasted_title = lambda insight, quotes: None
    try:
        yield
    finally:
        offline_suggest._only_in_errors, offline_suggest._pasted_title = only, title


def listed_terms(home: Path) -> dict[str, list[str]]:
    """Each outbox ticket's listed terms, by ticket file name."""
    found: dict[str, list[str]] = {}
    for ticket in sorted((home / "outbox").glob("*.md")):
        line = next((line for line in ticket.read_text(encoding="utf-8").splitlines()
                     if line.startswith(_LISTED)), "")
        found[ticket.name] = _TERM.findall(line)
    return found


def measure(labelled: labelled_sets.LabelledSet, work: Path, variant: str
            ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """One `docloop eval` run of the set: `on` as shipped, `off` without the docs check,
    `unpasted` without the pasted-error rule."""
    home = work / f"{labelled.name}-{variant}"
    request = EvalRequest(labelled.labels, labelled.docs, (labelled.doc_prefix,),
                          keep_home=home)
    switches: dict[str, Callable[[], AbstractContextManager[None]]] = {
        "on": contextlib.nullcontext, "off": docs_check_off, "unpasted": pasted_rule_off}
    switch = switches[variant]
    with switch():
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


def _same(first: dict[str, Any], second: dict[str, Any]) -> bool:
    return ({k: v for k, v in first.items() if k != "warnings"}
            == {k: v for k, v in second.items() if k != "warnings"})


def _changed(before: dict[str, list[str]], after: dict[str, list[str]]
             ) -> tuple[list[str], list[str]]:
    """The terms some ticket listed before and not after, and the other way round."""
    dropped = sorted({t for name, terms in before.items() for t in terms
                      if t not in after.get(name, [])})
    added = sorted({t for name, terms in after.items() for t in terms
                    if t not in before.get(name, [])})
    return dropped, added


def set_lines(labelled: labelled_sets.LabelledSet, work: Path
              ) -> tuple[list[str], list[str]]:
    """The set's row of each table: the docs check, and the pasted-error rule."""
    scores_off, off = measure(labelled, work, "off")
    scores_on, on = measure(labelled, work, "on")
    scores_unpasted, unpasted = measure(labelled, work, "unpasted")
    same = _same(scores_on, scores_off)
    dropped, added = _changed(off, on)
    left, whole = _changed(unpasted, on)
    pasted = [f"| {labelled.name} | {sum(map(len, unpasted.values()))} → "
              f"{sum(map(len, on.values()))} | "
              f"{'yes' if _same(scores_on, scores_unpasted) else 'NO'} | "
              + (", ".join(f"`{t}`" for t in left) or "none") + " | "
              + (", ".join(f"`{t}`" for t in whole) or "none") + " |"]
    return [f"| {labelled.name} | {len(on)} | {sum(map(len, off.values()))} → "
            f"{sum(map(len, on.values()))} | {sum(1 for t in off.values() if t)} → "
            f"{sum(1 for t in on.values() if t)} | {'yes' if same else 'NO'} | "
            + ", ".join(f"`{t}`" for t in dropped) + " | "
            + (", ".join(f"`{t}`" for t in added) or "none") + " | "
            + check_cost(work / f"{labelled.name}-on",
                         sorted({t for terms in off.values() for t in terms})) + " |"], pasted


def main() -> None:
    lines = ["| set | tickets | terms listed (check off → on) | tickets listing any | "
             "eval figures equal | left out | listed in their place (the cap of 8 "
             "freed) | check, ms: first name / each further |",
             "| --- | ---: | ---: | ---: | --- | --- | --- | ---: |"]
    pasted = ["", "The pasted-error rule (docs check on in both runs):", "",
              "| set | terms listed (rule off → on) | eval figures equal | left out (words "
              "fewer than two users wrote outside their pasted errors) | listed in their "
              "place (a pasted error whole, or a term the cap of 8 freed) |",
              "| --- | ---: | --- | --- | --- |"]
    with tempfile.TemporaryDirectory(prefix="docloop-terms-") as scratch:
        for labelled in labelled_sets.SETS:
            if labelled.role == "real" and labelled.available():
                check, rule = set_lines(labelled, Path(scratch))
                lines += check
                pasted += rule
    labelled_sets.publish(RESULTS, lines + pasted)


if __name__ == "__main__":
    main()
