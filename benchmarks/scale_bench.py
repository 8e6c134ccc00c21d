"""Scale: `docloop run` over synthetic histories of 10k to 1M messages, with distinct texts.

Data: `synth.generate(..., distinct=True, week_messages=10_000)`: weeks of 10k messages,
every human message's text its own, so embeddings are really computed. Each row gets
a fresh DOCLOOP_HOME holding the example docs index, then two runs in separate
processes (peak memory is per run): the first ingests and analyses everything, the
second finds nothing new. Rows above `MINILM_MAX` messages embed with the hashing
embedder (`hash_embedder.py`), since MiniLM on a million distinct texts takes hours on
two cores: their time is docloop's own work, and the MiniLM rate measured on a sample
gives the embedding time to add. The window rows time a weekly run (`--since` the new
week) after a history of 10k or 250k messages.

Each row is saved as JSON under .work/scale/rows/, so rows can run in separate
(background) processes; the table is rendered from all saved rows.
Usage: PYTHONPATH=src python benchmarks/scale_bench.py [SIZE ...] [--window HISTORY ...]
       [--hash SIZE ...] [--rate] [--render] [--adopt SIZE RUN1_JSON [RUN2_JSON]]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work" / "scale"
ROWS = WORK / "rows"
RESULTS = HERE / "results" / "scale.md"
EXAMPLE_DOCS = REPO / "examples" / "tidepool" / "docs"
SIZES = (10_000, 50_000, 250_000, 1_000_000)
WINDOW_HISTORIES = (10_000, 250_000)
WEEK = 10_000
MINILM_MAX = 10_000
SEEDS = {10_000: 1, 50_000: 3, 250_000: 5, 1_000_000: 7}
sys.path.insert(0, str(HERE))

BASELINE = """\
Before (main at b7375cd: whole-file JSON, all messages in memory, re-mixed texts mostly
embedded once; run 1 / run 2 wall seconds):

""" + ("| messages | run 1 s | run 1 peak MB | s per 1k msgs | problems | embeddings computed "
       "| run 2 s (nothing new) | + s if every problem text were distinct |\n") + """\
|---:|---:|---:|---:|---:|---:|---:|---:|
| 1,000 | 2.8 | 240 | 2.75 | 185 | 70 | 0.7 | 3.0 |
| 10,000 | 7.3 | 279 | 0.73 | 1892 | 156 | 2.9 | 22.8 |
| 50,000 | 31.4 | 448 | 0.63 | 9485 | 379 | 19.9 | 117.2 |

Issue #11 also reports: 198 MB export (270k messages) 1.41 GB and 128 s; one 200 MB
export file 2.7 GB, still clustering after 9 minutes.
"""


def dataset(size: int) -> Path:
    """The distinct-text history of `size` messages (generated once), ending a week ago.

    The weekly-run rows add the current week (see `measure_window`) after it.
    """
    from synth import current_week_start, generate

    data = WORK / f"distinct-{size}"
    if not (WORK / f"distinct-{size}.labels.json").is_file():
        shutil.rmtree(data, ignore_errors=True)
        generate(size, data, seed=SEEDS.get(size, size), distinct=True, week_messages=WEEK,
                 last_week=current_week_start() - timedelta(days=7))
    return data


def docs_template(fast: bool) -> Path:
    """A database with the example docs indexed once (per embedder), copied into each home."""
    from docloop import registry
    from docloop.config import load_settings
    from docloop.stages.index_docs import index_docs

    home = WORK / ("docs-template-fast" if fast else "docs-template")
    if not (home / "docloop.db").is_file():
        saved = dict(registry.BACKENDS["embedder"])
        if fast:
            import hash_embedder

            hash_embedder.use()
        try:
            index_docs(load_settings(overrides={"home": home}, environ={}), EXAMPLE_DOCS, [])
        finally:
            registry.BACKENDS["embedder"].update(saved)
    return home / "docloop.db"


def fresh_home(name: str, fast: bool) -> Path:
    home = WORK / f"home-{name}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(docs_template(fast), home / "docloop.db")
    return home


def run(home: Path, source: Path, fast: bool, since: str | None = None) -> dict:
    """One `docloop run` in its own process (its own peak memory)."""
    command = [sys.executable, str(HERE / "run_once.py"), str(home), f"discord-export:{source}"]
    command += ["--fast"] if fast else []
    command += ["--since", since] if since else []
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(size: int, fast: bool) -> dict:
    data = dataset(size)
    home = fresh_home(f"{size}{'-hash' if fast else ''}", fast)
    first = run(home, data, fast)
    second = run(home, data, fast)
    return {"kind": "size", "size": size, "fast": fast, "first": first, "second": second}


def measure_window(history: int) -> dict:
    """A weekly run (`--since` the new week) after importing `history` messages."""
    from synth import current_week_start, generate

    fast = True
    past = dataset(history)
    this_week = current_week_start()
    new_week = WORK / f"new-week-{this_week:%Y%m%d}"
    if not (WORK / f"{new_week.name}.labels.json").is_file():
        shutil.rmtree(new_week, ignore_errors=True)
        generate(WEEK, new_week, seed=99, distinct=True, last_week=this_week)
    both = WORK / f"history-{history}-plus-week"
    shutil.rmtree(both, ignore_errors=True)
    link_files(past, both / "past")
    home = fresh_home(f"window-{history}", fast)
    since = this_week.isoformat()
    imported = run(home, both, fast, since)
    link_files(new_week, both / "new")
    weekly = run(home, both, fast, since)
    return {"kind": "window", "size": history, "fast": fast, "first": imported,
            "second": weekly}


def link_files(source: Path, target: Path) -> None:
    """Hard links to every export of `source` in `target` (one source folder, no copies)."""
    target.mkdir(parents=True)
    for path in source.glob("*.json"):
        os.link(path, target / path.name)


def embedding_rate(sample: int = 256) -> dict:
    """MiniLM texts per second (wall and CPU) on distinct problem texts of the 10k history."""
    from docloop import db
    from docloop.backends.analyzers.offline import OfflineAnalyzer
    from docloop.backends.embedders.minilm import MiniLMEmbedder
    from docloop.config import load_settings
    from docloop.registry import sqlite_stores
    from docloop.stages.conversations import build_conversations
    from docloop.storage.messages import MessageStore

    home = fresh_home("rate", fast=False)
    conn = db.connect(home / "docloop.db")
    from docloop.stages.ingest import ingest

    settings = load_settings(overrides={"home": home,
                                        "sources": [f"discord-export:{dataset(WEEK)}"]},
                             environ={})
    ingest(settings, sqlite_stores(conn), None)
    messages = MessageStore(conn).window(None)
    problems = OfflineAnalyzer().extract(build_conversations(messages))
    texts = [p.with_answer for p in problems[:sample]]
    embedder = MiniLMEmbedder.from_settings(settings)
    embedder.embed(texts[:8])  # load the model first
    started, cpu = time.perf_counter(), time.process_time()
    embedder.embed(texts)
    return {"kind": "rate", "texts": len(texts),
            "per_second": len(texts) / (time.perf_counter() - started),
            "per_cpu_second": len(texts) / (time.process_time() - cpu)}


def save(row: dict, name: str) -> None:
    ROWS.mkdir(parents=True, exist_ok=True)
    (ROWS / f"{name}.json").write_text(json.dumps(row), encoding="utf-8")


def load_rows() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(ROWS.glob("*.json"))]


def render(rows: list[dict]) -> str:
    rate = next((r.get("per_cpu_second") for r in rows if r["kind"] == "rate"), None)
    lines = [
        "## Scale: `docloop run` over synthetic histories", "",
        "Command: `PYTHONPATH=src python benchmarks/scale_bench.py` (rows can run separately: "
        "`scale_bench.py 1000000`, `--window 250000`, `--rate`, then `--render`). Offline "
        "analyzer, local tracker, example docs index, 2-core machine shared with other jobs: "
        "wall seconds include waiting for a core, CPU seconds do not. Data: weeks of 10k "
        "messages, every human message's text distinct (`synth.py --distinct`).", "",
        BASELINE,
        "After (embedder: MiniLM, or `hash` = the hashing stand-in of `hash_embedder.py`, "
        "whose time is not MiniLM's; 'CPU ms / msg' is docloop's own work per message):", "",
        "| messages | embedder | run 1 s (CPU s) | run 1 peak MB | CPU ms / msg | problems "
        "| embeddings computed | + MiniLM CPU s for them | insights | run 2 s (CPU s), nothing new "
        "| run 2 peak MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sorted((r for r in rows if r["kind"] == "size"),
                      key=lambda r: (r["size"], r["fast"], r.get("label") or "")):
        first, second = row["first"], row["second"]
        embedded = first["stats"]["embedded"]
        extra = f"{embedded / rate:,.0f}" if rate and row["fast"] else "(included)"
        again = (f"{second['seconds']:.1f} ({second['cpu_seconds']:.1f}) | "
                 f"{second['peak_mb']:.0f}") if second else "not measured (time) | -"
        embedder = ("hash" if row["fast"] else "MiniLM") + (f", {row['label']}"
                                                            if row.get("label") else "")
        lines.append(
            f"| {row['size']:,} | {embedder} | "
            f"{first['seconds']:.1f} ({first['cpu_seconds']:.1f}) | {first['peak_mb']:.0f} | "
            f"{1000 * first['cpu_seconds'] / row['size']:.2f} | {first['stats']['problems']:,} | "
            f"{embedded:,} | {extra} | {first['stats']['insights']} | {again} |")
    lines += [f"\n{r['text']}" for r in rows if r["kind"] == "note"]
    lines += ["", "Weekly run (`--since` the new week: 10k new messages) after a history:", "",
              "| history messages | weekly run s (CPU s) | peak MB | new msgs stored "
              "| window msgs | problems |",
              "|---:|---:|---:|---:|---:|---:|"]
    for row in sorted((r for r in rows if r["kind"] == "window"), key=lambda r: r["size"]):
        weekly = row["second"]
        lines.append(f"| {row['size']:,} | {weekly['seconds']:.1f} ({weekly['cpu_seconds']:.1f})"
                     f" | {weekly['peak_mb']:.0f} | {weekly['stats']['messages']:,} | "
                     f"{weekly['stats']['window_messages']:,} | {weekly['stats']['problems']:,} |")
    if rate:
        lines += ["", f"MiniLM embedding rate on distinct problem texts (sample of "
                      f"{next(r['texts'] for r in rows if r['kind'] == 'rate')}): "
                      f"{rate:.1f} texts per CPU second on this machine."]
    lines += ["", "Targets: 250k messages ≤ 1 GB peak, 1M ≤ 2 GB; CPU per message flat from 10k "
              "to 1M apart from embeddings; a weekly run's cost independent of the history; "
              "a run with nothing new fast.", "",
              "What changed: exports are streamed (ijson) and stored in one transaction, and "
              "files imported before are skipped by their sha256; the window is grouped into "
              "conversations from light outline rows and read back a block of conversations "
              "at a time for extraction; only the messages that reportable insights quote or "
              "link are loaded; clustering keeps growable centroid rows, running member sums "
              "and blocked scoring (its decisions are unchanged: `quality_bench.py "
              "--docloop-only` gives the same figures before and after). A run with nothing "
              "new still re-analyses its window (extraction, embedding-cache lookups, "
              "clustering); only its ingest became free.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int)
    parser.add_argument("--window", nargs="*", type=int, default=None)
    parser.add_argument("--hash", nargs="*", type=int, default=None,
                        help="sizes to run with the hashing embedder whatever their size")
    parser.add_argument("--rate", action="store_true")
    parser.add_argument("--render", action="store_true")
    parser.add_argument("--adopt", nargs="+", metavar=("SIZE", "RUN1_JSON"),
                        help="save a size row from run_once.py outputs run by hand "
                             "(SIZE RUN1_JSON [RUN2_JSON])")
    parser.add_argument("--label", default=None, help="with --adopt: what differs in this row")
    parser.add_argument("--note", nargs=2, metavar=("NAME", "TEXT"),
                        help="a remark printed under the table (e.g. a run measured by hand)")
    args = parser.parse_args()
    if args.note:
        save({"kind": "note", "text": args.note[1]}, f"note-{args.note[0]}")
    if args.adopt:
        size, *outputs = args.adopt
        runs = [json.loads(Path(p).read_text(encoding="utf-8")) for p in outputs] + [None]
        name = f"size-{int(size):08d}" + (f"-{args.label}" if args.label else "")
        save({"kind": "size", "size": int(size), "fast": True, "label": args.label,
              "first": runs[0], "second": runs[1]}, name)
    everything = not (args.sizes or args.window is not None or args.rate or args.render
                      or args.adopt or args.note or args.hash is not None)
    WORK.mkdir(parents=True, exist_ok=True)
    for size in args.sizes or (SIZES if everything else ()):
        save(measure(size, size > MINILM_MAX), f"size-{size:08d}")
    for size in args.hash or ((MINILM_MAX,) if everything else ()):
        save(measure(size, True), f"size-{size:08d}-hash")
    for history in (args.window or ()) if not everything else WINDOW_HISTORIES:
        save(measure_window(history), f"window-{history:08d}")
    if args.rate or everything:
        save(embedding_rate(), "rate")
    text = render(load_rows())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
