"""Insight quality on labelled conversation sets, docloop vs seed-style baselines.

Datasets: `benchmarks/data/fastapi_conv/` (the set the thresholds were tuned
on) and `benchmarks/data/fastapi_holdout/` (written afterwards, never tuned
on) against the real FastAPI docs in ../shared/corpora/fastapi-docs,
`benchmarks/data/tseslint_conv/` against ../shared/corpora/typescript-eslint-docs
(another product, never tuned on; both skipped when ../shared is absent), and
the bundled Tidepool example against its own docs. Systems, all in the same run
with the same embedder and the same indexed page set:

- docloop: `docloop run` (offline analyzer, tracker none, no cap);
- seed (messages + DBSCAN): every non-empty message embedded, DBSCAN cosine
  eps 0.25 / min_samples 2, top-1 1,000-character chunk (see baselines.py);
- seed clustering on docloop problems: docloop's extraction, the seed's
  DBSCAN and top-1 chunk — separates extraction from clustering/matching.

Usage: PYTHONPATH=src python benchmarks/quality_bench.py [DATASET ...] [--docloop-only]
(--docloop-only prints docloop's rows only and leaves results/quality.md alone)
Metrics: see metrics.py. Writes benchmarks/results/quality.md.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baselines import SeedDocs, dbscan  # noqa: E402
from docloop import db  # noqa: E402
from docloop.backends.analyzers.offline import OfflineAnalyzer  # noqa: E402
from docloop.backends.embedders import open_embedder  # noqa: E402
from docloop.config import Settings, load_settings  # noqa: E402
from docloop.pipeline import RunOptions, run_pipeline  # noqa: E402
from docloop.stages.index_docs import index_docs  # noqa: E402
from docloop.stages.ingest import ingest  # noqa: E402
from metrics import Predicted, evaluate  # noqa: E402

REPO = HERE.parent
SHARED = REPO.parent / "shared"
EXAMPLE = REPO / "examples" / "tidepool"
WORK = HERE / ".work" / "quality"
RESULTS = HERE / "results" / "quality.md"
DATASETS = {
    "fastapi": (HERE / "data" / "fastapi_conv" / "discord", SHARED / "corpora" / "fastapi-docs",
                "https://fastapi.tiangolo.com/"),
    "fastapi-holdout": (HERE / "data" / "fastapi_holdout" / "discord",
                        SHARED / "corpora" / "fastapi-docs", "https://fastapi.tiangolo.com/"),
    "tseslint": (HERE / "data" / "tseslint_conv" / "discord",
                 SHARED / "corpora" / "typescript-eslint-docs", "https://typescript-eslint.io/"),
    "tidepool": (EXAMPLE / "discord", EXAMPLE / "docs", "https://docs.tidepool.example/"),
}
HELD_OUT = {"fastapi-holdout"}
CROSS_CORPUS = {"tseslint"}
HOLDOUT_NOTE = (
    "The held-out set was written by a separate session after the clustering and verdict "
    "thresholds had been chosen, without running docloop on it; no threshold or weight has "
    "been tuned on it. History of its figures (B³ F1, groups recovered, page acc): first "
    "measurement 0.67, 9/20, 0.86 (the same with and without member voting in the match "
    "stage); then one change made after reading its misses, an extraction rule for "
    "declarative problem statements (\"set_cookie isn't doing anything\", \"I want 201 ... "
    "but\"): 0.72, 11/20, 0.89; then the shared-code-term bonus in clustering, whose weight "
    "(0.15) was picked on the fastapi and tidepool sets before it was run here: 0.79, "
    "14/20, 0.92; then clustering in the centred space (threshold and weights re-picked on "
    "the fastapi and tidepool sets after the typescript-eslint set showed a fixed cosine "
    "threshold failing on a narrow community): the figures above. Because of the "
    "extraction rule the set is no longer strictly unseen. What it "
    "still shows: clustering generalises worse than on the tuning set (precision below 1.00 "
    "from a few over-merged insights, and small groups whose conversations sit below the "
    "threshold).")
CROSS_NOTE = (
    "The tseslint set is chat about typescript-eslint (Docusaurus MDX docs, 217 files "
    "including rule pages), written by a separate session without running docloop on it. "
    "History of its figures (B³ F1, groups recovered, noise leak): first measurement 0.51, "
    "2/23, 0.06 (raw cosines of unrelated problems in one product's chat reach 0.6, so the "
    "0.45 threshold of the time merged everything into 4 insights); then clustering in the "
    "centred space, with its threshold and weights picked on the fastapi and tidepool sets "
    "only: 0.68, 8/23, 0.21; then two analyzer bugs this set exposed (its #rules channel, "
    "about lint rules, was skipped as a server-rules broadcast; shouted words such as EVERY "
    "were taken for errno codes): the figures above. Its noise leak (0.21) comes from a "
    "social thread in #general (\"what are you hacking on this weekend?\") that the "
    "offline analyzer takes for a question asked twice, plus off-topic replies inside "
    "problem threads. Its misses go both ways: typed-linting setup questions over-merge "
    "(performance, monorepos, lint-staged and Vue parsing end up in one insight; "
    "project-service errors, flat-config and stale-editor questions in another), while "
    "some rule questions (strict-boolean-expressions, floating promises) stay split.")
METRICS = ("bcubed_precision", "bcubed_recall", "bcubed_f1", "groups_recovered", "page_accuracy",
           "missing_accuracy", "noise_leak", "insights")


def settings_for(name: str, data: Path) -> Settings:
    return load_settings(overrides={"home": WORK / name, "sources": [f"discord-export:{data}"],
                                    "tracker": "none", "max_insights": 0}, environ={})


def prepare(name: str, data: Path, docs: Path, base_url: str) -> Settings:
    """A fresh home whose database holds only the docs index.

    One index per corpus is kept between runs and brought up to date incrementally
    (unchanged pages cost nothing), then copied.
    """
    template = WORK / f"index-{docs.parent.name}-{docs.name}"
    docs_settings = load_settings(overrides={"home": template, "docs_base_url": base_url},
                                  environ={})
    index_docs(docs_settings, docs, [])
    settings = settings_for(name, data)
    shutil.rmtree(settings.home, ignore_errors=True)
    settings.home.mkdir(parents=True)
    shutil.copy(template / "docloop.db", settings.db_path)
    return settings


def run_docloop(settings: Settings) -> list[Predicted]:
    report = run_pipeline(settings, RunOptions(since=None))
    return [Predicted(i.message_ids, i.doc.path if i.doc else None,
                      i.doc.verdict if i.doc else "missing") for i in report.insights]


def run_seed(settings: Settings, use_problems: bool) -> list[Predicted]:
    conn = db.connect(settings.db_path)
    ingested = ingest(settings, conn, None)
    embedder = open_embedder(settings, conn)
    if use_problems:
        problems = OfflineAnalyzer().extract(ingested.conversations)
        units = [(p.text, p.message_ids) for p in problems]
    else:
        units = [(m.content, [m.id]) for m in ingested.window if m.content.strip()]
    if not units:
        return []
    vectors = embedder.embed([text for text, _ in units])
    pages = [(r["path"], r["source"]) for r in conn.execute(
        "SELECT path, source FROM docs_pages ORDER BY path")]
    seed_docs = SeedDocs(pages, embedder)
    labels = dbscan(vectors)
    predicted = []
    for cluster in sorted(set(labels) - {-1}):
        members = [i for i, label in enumerate(labels) if label == cluster]
        centroid = vectors[members].mean(axis=0)
        centroid /= np.linalg.norm(centroid)
        ids = [mid for i in members for mid in units[i][1]]
        predicted.append(Predicted(ids, seed_docs.top_pages(centroid, 1)[0], "covered"))
    return predicted


def measure(name: str, docloop_only: bool) -> list[tuple[str, dict[str, float], float]]:
    data, docs, base_url = DATASETS[name]
    labels = json.loads((data.parent / "labels.json").read_text(encoding="utf-8"))
    systems: list[tuple[str, Callable[[Settings], list[Predicted]]]] = [
        ("docloop", run_docloop),
        ("seed: messages + DBSCAN 0.25", lambda s: run_seed(s, False)),
        ("seed DBSCAN on docloop problems", lambda s: run_seed(s, True))]
    rows = []
    for system, runner in systems[:1] if docloop_only else systems:
        settings = prepare(name, data, docs, base_url)
        started = time.perf_counter()
        predicted = runner(settings)
        rows.append((system, evaluate(labels, predicted), time.perf_counter() - started))
    return rows


def render(results: dict[str, list[tuple[str, dict[str, float], float]]]) -> str:
    lines = ["## Insight quality (labelled conversation sets)", "",
             "Command: `PYTHONPATH=src python benchmarks/quality_bench.py`. Metrics are defined "
             "in `benchmarks/metrics.py`; the seed-style baselines in `benchmarks/baselines.py`.",
             ""]
    for name, rows in results.items():
        groups = rows[0][1]
        note = (" — held out (see below)" if name in HELD_OUT else
                " — another product's docs (see below)" if name in CROSS_CORPUS
                else "")
        lines += [f"### {name} ({int(groups['groups'])} labelled problems, "
                  f"{int(groups['missing_groups'])} with no page){note}", "",
                  "| system | B³ P | B³ R | B³ F1 | groups recovered | page acc | missing acc "
                  "| verdict acc | noise leak | insights | s |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for system, m, seconds in rows:
            lines.append(
                f"| {system} | {m['bcubed_precision']:.2f} | {m['bcubed_recall']:.2f} | "
                f"{m['bcubed_f1']:.2f} | {int(m['groups_recovered'])}/{int(m['groups'])} | "
                f"{m['page_accuracy']:.2f} | {m['missing_accuracy']:.2f} | "
                f"{m['verdict_accuracy']:.2f} | {m['noise_leak']:.2f} | "
                f"{int(m['insights'])} | {seconds:.1f} |")
        lines.append("")
    lines += ["Targets (issue 3): B³ F1 ≥ 0.80, noise leak ≤ 0.10, page accuracy ≥ 0.80.", "",
              HOLDOUT_NOTE, "", CROSS_NOTE, ""]
    return "\n".join(lines)


def main(args: list[str]) -> None:
    docloop_only = "--docloop-only" in args
    names = [a for a in args if not a.startswith("--")] or list(DATASETS)
    results = {}
    for name in names:
        data, docs, _ = DATASETS[name]
        if not data.is_dir() or not docs.is_dir():
            print(f"skipping {name}: {data} or {docs} is missing", file=sys.stderr)
            continue
        results[name] = measure(name, docloop_only)
    text = render(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if docloop_only:  # a quick look must not replace the full table in RESULTS.md
        print(text)
        return
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
