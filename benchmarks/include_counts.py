"""What a real docs site's include lines add to docloop's index (issue #12 reading).

Loads a docs folder inside its repository checkout, as `index-docs` does, and
counts the pages that show included files, the include lines that show
something, the files read, the lines those show and the chunks the pages make.
No embedding, so it runs in seconds; `index-docs` time is not measured here.

Usage: PYTHONPATH=src python benchmarks/include_counts.py DOCS_DIR [DOCS_DIR ...]
(prints the table; e.g. the FastAPI repository's `docs/en/docs`, with `docs_src`
beside it and a `.git` marking the repository root).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from docloop.docs.chunker import chunk_page
from docloop.docs.includes import shown_includes
from docloop.docs.loader import DocPage, load_pages
from docloop.docs.machinery import prepare


def page_counts(page: DocPage) -> tuple[int, int]:
    """(include lines that show something, lines they show) on one page."""
    body = page.source.splitlines()[page.body_start:]
    shown = shown_includes(prepare(body, page.generator, page.mdx).includes,
                           page.included.get)
    return len(shown), sum(len(lines) for lines in shown.values())


def folder_row(docs: Path) -> str:
    started = time.perf_counter()
    pages = load_pages(docs)
    showing = [page for page in pages if page.included]
    counts = [page_counts(page) for page in showing]
    chunks = sum(len(chunk_page(page)) for page in pages)
    files = len({(page.path, path) for page in showing for path in page.included})
    seconds = time.perf_counter() - started
    return (f"| {docs} | {len(pages)} | {len(showing)} | {sum(c[0] for c in counts)} | "
            f"{files} | {sum(c[1] for c in counts):,} | {chunks:,} | {seconds:.1f} |")


def main(folders: list[str]) -> int:
    if not folders:
        print(__doc__, file=sys.stderr)
        return 2
    print("| docs folder | pages | pages showing files | include lines shown | "
          "files read (per page) | lines shown | chunks | load + chunk s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for folder in folders:
        print(folder_row(Path(folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
