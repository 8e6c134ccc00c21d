"""How often a search's first page is shown at a section that only points elsewhere.

A "Related To" or "Further Reading" list is little more than its page's title, so a
question that names the page finds it there (navigation.py). The search now shows each
page's first best section that says something of its own; the ranking is unchanged.
This replays every labelled set's messages as `docs search` queries at shipped settings
and counts, for the first page and for the top three, the hits whose best chunk (the
section shown before) and whose shown section (now) only point elsewhere, beside how
many chunks of each set's docs only point.

Usage: PYTHONPATH=src:benchmarks python benchmarks/navigation_sections.py [SET ...]
Writes benchmarks/results/navigation_sections.md and prints it. Needs ../shared.
"""

from __future__ import annotations

import sys

import labelled_sets
from docloop.backends.docs_index.rerank import rerank_order
from docloop.registry import sqlite_stores
from docloop.stages.index_docs import open_index

TOP = 3


def measure(labelled: labelled_sets.LabelledSet) -> str:
    """One table row: the set's queries, first-page and top-three counts before and now."""
    run = labelled_sets.SetRun(labelled)
    texts = [text for text, _ in run.messages()]
    assert run._conn is not None
    index = open_index(run.settings, sqlite_stores(run._conn))
    navigation = index.store.navigation()
    rank = index.rank
    vectors, parts = index.embed_queries(texts, rank.active())
    first = [0, 0]
    top = [0, 0]
    for text, vector, query_parts in zip(texts, vectors, parts, strict=True):
        pool = index.candidates(text, vector, rank.candidates, rank.active(), query_parts)
        for place, i in enumerate(rerank_order(pool.features, rank)[:TOP]):
            before, now = bool(navigation[pool.chunks[i]]), bool(navigation[pool.sections[i]])
            top[0] += before
            top[1] += now
            if place == 0:
                first[0] += before
                first[1] += now
    run.close()
    return (f"| {labelled.name} | {len(texts)} | {int(navigation.sum())} / {len(navigation)} "
            f"| {first[0]} → {first[1]} | {top[0]} → {top[1]} |")


def main(names: list[str]) -> None:
    lines = ["## Sections that only point elsewhere, as the search shows them", "",
             "Command: `PYTHONPATH=src:benchmarks python benchmarks/navigation_sections.py`. "
             "Every message of each labelled set as a `docs search` query (shipped ranking); "
             "a hit counts when its section only points elsewhere (navigation.py): before = "
             "the page's best chunk, as the search showed it; now = the section it shows.",
             "", "| set | queries | chunks that only point | first page: before → now | "
             f"top {TOP}: before → now |", "| --- | ---: | ---: | ---: | ---: |"]
    for labelled in labelled_sets.SETS:
        if labelled.available() and (not names or labelled.name in names):
            lines.append(measure(labelled))
            print(lines[-1], flush=True)
    labelled_sets.publish(labelled_sets.HERE / "results" / "navigation_sections.md", lines)


if __name__ == "__main__":
    main(sys.argv[1:])
