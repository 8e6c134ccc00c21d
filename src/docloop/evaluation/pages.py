"""Labelled pages the docs index does not hold: groups whose right page can never count.

A labels file written against the repository (`docs/guide/build.md`) and a docs folder
indexed from inside (`guide/build.md`) disagree on every page unless `--doc-prefix docs/`
is given; `docloop eval` then reported 0 right pages as if docloop had missed them all.
A page can also be in the folder and still not be indexed (a generated API stub the
default excludes skip). Either way the figures are measured, not refused (labels are one
maintainer's judgement, and a page may be gone from the docs the labels were written
for), but the user is told which pages, and the `--doc-prefix` that would have matched
(found on the paths as the labels wrote them: docs with two roots, such as
typescript-eslint's `docs/` and `packages/eslint-plugin/docs/`, need one prefix each).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path

from docloop.evaluation.labels import LabelledMessage

EXAMPLES = 3  # pages named in the warning


def unindexed_pages(messages: Sequence[LabelledMessage], indexed: Collection[str]) -> list[str]:
    """The labelled pages (after `--doc-prefix`) that are not pages of the index, sorted."""
    return sorted({m.page for m in messages if m.page is not None and m.page not in indexed})


def suggested_prefix(pages: Sequence[str], indexed: Collection[str]) -> str | None:
    """The leading folders whose removal turns the most of `pages` into indexed pages
    (`docs/`, `docs/en/docs/`), or None when no prefix helps."""
    found: Counter[str] = Counter()
    for page in pages:
        parts = page.split("/")
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth]) + "/"
            if page[len(prefix):] in indexed:
                found[prefix] += 1
    if not found:
        return None
    return min(found, key=lambda prefix: (-found[prefix], len(prefix), prefix))


def written_pages(messages: Sequence[LabelledMessage], pages: Collection[str]) -> list[str]:
    """The labels' own spelling of `pages` (before `--doc-prefix`), sorted."""
    return sorted({m.written_page or m.page for m in messages
                   if m.page is not None and m.page in pages})


def page_warning(pages: Sequence[str], labelled: int, indexed: Collection[str], docs: Path,
                 doc_prefix: Sequence[str], written: Sequence[str] | None = None) -> str:
    """One line: how many labelled pages the index lacks, which, and what to do. `written`:
    the same pages as the labels spell them (the prefix to suggest is found on those)."""
    examples = ", ".join(pages[:EXAMPLES]) + (", …" if len(pages) > EXAMPLES else "")
    line = (f"{len(pages)} of the {labelled} labelled pages are not pages of the docs "
            f"index of {docs} ({examples}); the groups labelled with them can never count "
            "as right")
    prefix = suggested_prefix(written or pages, indexed)
    if prefix is not None:
        verb = "add" if doc_prefix else "give"
        return f"{line}: {verb} --doc-prefix {prefix} to match the labels' paths"
    on_disk = [p for p in pages if (docs / p).is_file()]
    if on_disk:
        return (f"{line}: {on_disk[0]} is in the folder but was not indexed (a default "
                "exclude, such as a generated API stub page)")
    return f"{line}: check the labels' doc_path against the docs folder"
