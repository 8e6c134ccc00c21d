"""How precise the heading-quote vote's evidence is (`match.quoted_votes`).

For every message of each labelled set: the pages with a heading that holds
`terms.QUOTE_WORDS` or more of its words in a row (`PageTerms.quoting_pages`, as the
match stage reads it), and whether the message is labelled with one of them. A heading
that quotes the user should be where their answer is; this counts how often it is.

Run: PYTHONPATH=src:benchmarks python benchmarks/heading_quotes.py [SET ...]
Each set's docs are indexed as `docloop index-docs` does (labelled_sets.SetRun, cached
beside the other benchmarks'); writes benchmarks/results/heading_quotes.md.
"""

from __future__ import annotations

import json
import sys

from docloop import db
from docloop.backends.docs_index.terms import QUOTE_WORDS, PageTerms
from docloop.evaluation.labels import read_labels
from docloop.registry import sqlite_stores
from docloop.stages.index_docs import open_index
from labelled_sets import HERE, SETS, LabelledSet, SetRun, publish

RESULTS = HERE / "results" / "heading_quotes.md"


def message_texts(labelled: LabelledSet) -> dict[str, str]:
    """Each labelled message's text by the id its labels use."""
    if labelled.discord is None:
        return {m.id: m.text for m in read_labels(labelled.labels, labelled.doc_prefix)}
    texts: dict[str, str] = {}
    for export in sorted(labelled.discord.glob("*.json")):
        for message in json.loads(export.read_text(encoding="utf-8"))["messages"]:
            texts[message["id"]] = message["content"]
    return texts


def page_terms(labelled: LabelledSet) -> PageTerms:
    """The set's docs as the match stage reads them."""
    run = SetRun(labelled)
    conn = db.connect(run.home / "docloop.db")
    try:
        return open_index(run.settings, sqlite_stores(conn)).page_terms()
    finally:
        conn.close()


def measure(labelled: LabelledSet) -> tuple[list[str], list[str]]:
    """The set's table row and a line per quoted message not labelled with a quoting page."""
    gold = labelled.gold()
    terms = page_terms(labelled)
    quoted = right = several = 0
    misses: list[str] = []
    for message_id, text in message_texts(labelled).items():
        if message_id not in gold.messages:
            continue
        pages = terms.quoting_pages(text)
        if not pages:
            continue
        group = gold.messages[message_id]
        page = gold.groups.get(group) if group else None
        quoted += 1
        several += len(pages) > 1
        if page in pages:
            right += 1
        else:
            misses.append(f"- {labelled.name} {message_id} (group {group}, page {page}): "
                          f"quoted by {', '.join(sorted(pages))}")
    labelled_count = len(gold.messages)
    return [f"| {labelled.name} | {labelled_count} | {quoted} | {right} | {several} |"], misses


def main(names: list[str]) -> None:
    rows: list[str] = []
    misses: list[str] = []
    for labelled in SETS:
        if (names and labelled.name not in names) or not labelled.available():
            continue
        row, missed = measure(labelled)
        rows += row
        misses += missed
    publish(RESULTS, [
        "## Headings that quote the users (the heading-quote vote's evidence)",
        "",
        "Command: `PYTHONPATH=src:benchmarks python benchmarks/heading_quotes.py`. A page "
        f"quotes a message when one of its headings holds {QUOTE_WORDS} or more of the "
        "message's words in a row (any case and punctuation; `PageTerms.quoting_pages`).",
        "",
        "| set | labelled messages | quoted by a heading | labelled with a quoting page "
        "| quoted by more than one page |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "Quoted, but labelled with another page (or none):",
        "",
        *(misses or ["- none"]),
    ])


if __name__ == "__main__":
    main(sys.argv[1:])
