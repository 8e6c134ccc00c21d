"""The Vite real set against the Vite docs laid out as other generators lay docs out.

Two checks of readers no labelled corpus exercises (session 23), on real docs and real
community messages:

- **Hugo:** the Vite corpus copied as a Hugo project's `content/` (a `hugo.toml` beside
  it, every `index.md` renamed `_index.md`, its VitePress syntax left as written), then
  `docloop eval` on it beside the corpus as it is. The reader should keep the figures; the
  one label that names an `index.md` (`config/index.md`) can no longer count, and eval says
  so.
- **GitBook's `SUMMARY.md`:** a table of contents listing every page by its title, added to
  the corpus. Counted: how many message and group queries rank it first or in the top 3
  (it is a page of links; the search should pass it over).

Usage: PYTHONPATH=src:benchmarks python benchmarks/docs_layouts.py
Writes benchmarks/results/docs_layouts.md.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import labelled_sets
from docloop.config import load_settings
from docloop.evaluation.labels import read_labels
from docloop.evaluation.runner import EvalRequest, evaluate_labels
from docloop.stages.index_docs import index_docs
from docloop.stages.search import run_search

RESULTS = labelled_sets.HERE / "results" / "docs_layouts.md"
VITE = next(s for s in labelled_sets.SETS if s.name == "vite")
_TITLE = re.compile(r"^# (.+)$", re.MULTILINE)


def as_hugo(corpus: Path, project: Path) -> Path:
    """The corpus as a Hugo project's content folder (returned)."""
    content = project / "content"
    shutil.copytree(corpus, content, ignore=shutil.ignore_patterns(".vitepress"))
    (project / "hugo.toml").write_text('baseURL = "https://vite.dev/"\n', encoding="utf-8")
    for index in content.rglob("index.md"):
        index.rename(index.with_name("_index.md"))
    return content


def with_summary(corpus: Path, folder: Path) -> Path:
    """The corpus with a GitBook `SUMMARY.md` listing every page by its title."""
    shutil.copytree(corpus, folder, ignore=shutil.ignore_patterns(".vitepress"))
    lines = ["# Table of contents", ""]
    for page in sorted(folder.rglob("*.md")):
        rel = page.relative_to(folder).as_posix()
        found = _TITLE.search(page.read_text(encoding="utf-8"))
        lines.append(f"* [{found.group(1).strip() if found else page.stem}]({rel})")
    (folder / "SUMMARY.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def eval_row(name: str, docs: Path) -> str:
    scores: dict[str, Any] = evaluate_labels(load_settings(environ={}), EvalRequest(
        VITE.labels, docs, (VITE.doc_prefix,)))
    search = scores["search"]
    return (f"| {name} | {scores['groups_recovered']}/{scores['groups']} | "
            f"{scores['right_page']} | {scores['bcubed_f1']:.3f} | {search['group_hit1']:.2f} "
            f"| {search['message_hit1']:.2f} | {len(scores['warnings'])} |")


def summary_ranks(folder: Path, home: Path) -> str:
    """How often SUMMARY.md is first / in the top 3 for the set's message and group
    queries."""
    settings = load_settings(overrides={"home": home}, environ={})
    index_docs(settings, folder, [])
    messages = [m for m in read_labels(VITE.labels, VITE.doc_prefix) if m.page]
    groups: dict[str, list[str]] = {}
    for message in messages:
        groups.setdefault(message.group, []).append(message.text)
    queries = [m.text for m in messages] + ["\n".join(t) for t in groups.values()]
    asked = home / "queries.jsonl"
    asked.write_text("".join(json.dumps({"id": n, "text": q}) + "\n"
                             for n, q in enumerate(queries)), encoding="utf-8")
    ranked = [[hit.path for hit in result.hits] for result in run_search(settings, None, asked, 3)]
    first = sum(pages[:1] == ["SUMMARY.md"] for pages in ranked)
    top3 = sum("SUMMARY.md" in pages for pages in ranked)
    return (f"{len(messages)} message and {len(groups)} group queries: SUMMARY.md first for "
            f"{first}, in the top 3 for {top3}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="docloop-layouts-") as scratch:
        work = Path(scratch)
        lines = ["| Vite docs as | recovered | right page | B³ F1 | group hit@1 | message hit@1 "
                 "| eval warnings |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
                 eval_row("VitePress (the corpus)", VITE.docs),
                 eval_row("Hugo content", as_hugo(VITE.docs, work / "hugo"))]
        lines += ["", "GitBook `SUMMARY.md` added: " + summary_ranks(
            with_summary(VITE.docs, work / "gitbook"), work / "home")]
    labelled_sets.publish(RESULTS, lines)


if __name__ == "__main__":
    main()
