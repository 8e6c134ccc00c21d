"""Issue #12's runtime guard: this code against the code the issue was measured on.

Issue #12 lets quality work cost time, within bounds: runtime stays within 2x of the
code it was measured on (main at `BASE`, 2026-12-04) on the scale benchmark's 10k row
and on `index-docs` of the FastAPI docs, and a re-run over unchanged data still
computes 0 embeddings. This measures both codes in one run:

- `index-docs`: a cold index of ../shared/corpora/fastapi-docs into a fresh home
  (MiniLM, model load included), then the same command again (unchanged: embeddings
  computed must be 0);
- the 10k row: `docloop run` over 10,000 synthetic messages with distinct texts
  (`synth.generate(..., distinct=True)`, the scale benchmark's data) with the
  hashing embedder (`run_once.py --fast`), into a fresh home holding the example docs,
  then the same run again (nothing new: 0 embeddings computed).

Each measurement is its own process, with the code under test first on PYTHONPATH
(the baseline's src/ exported from `BASE` with `git archive`) and this checkout's virtualenv.
The two codes alternate (base, head, base, head, ...) so that load from other jobs
on this shared machine falls on both; the table gives the median CPU seconds (wall
seconds include waiting for a core) and the ratio head / base.

Usage: PYTHONPATH=src:benchmarks python benchmarks/runtime_guard.py [--base REF]
       [--repeat N] [--only index|run]. Writes benchmarks/results/runtime_guard.md (against
       `BASE`, both measures), else runtime_guard-REF-ONLY.md beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work" / "runtime_guard"
RESULTS = HERE / "results" / "runtime_guard.md"
FASTAPI_DOCS = REPO.parent / "shared" / "corpora" / "fastapi-docs"
EXAMPLE_DOCS = REPO / "examples" / "tidepool" / "docs"
BASE = "fef6610"  # main when issue #12 was measured (2026-12-04)
MESSAGES = 10_000
LIMIT = 2.0  # the bound: head within 2x of base


@dataclass(frozen=True)
class Code:
    """One version of docloop's source to measure."""

    label: str
    src: Path


def child_index(home: Path, docs: Path) -> dict[str, Any]:
    """In the measured process: index `docs` into `home` (the code on sys.path)."""
    from docloop.config import load_settings
    from docloop.stages.index_docs import index_docs

    stats = index_docs(load_settings(overrides={"home": home}, environ={}), docs, [])
    return {"pages": stats.pages, "embedded": stats.embedded}


def run_child(code: Code, args: list[str]) -> dict[str, Any]:
    """Run `args` (this script's --child form or run_once.py) with `code` on the path;
    its JSON output plus the process's wall and CPU seconds."""
    env = {**os.environ, "PYTHONPATH": f"{code.src}{os.pathsep}{HERE}"}
    before = os.times()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - started
    after = os.times()
    if done.returncode != 0:
        sys.exit(f"{code.label}: {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    result["cpu"] = (after.children_user - before.children_user
                     + after.children_system - before.children_system)
    return result


def measure_index(code: Code, trial: int) -> dict[str, Any]:
    home = WORK / f"index-{code.label}-{trial}"
    shutil.rmtree(home, ignore_errors=True)
    script = str(Path(__file__).resolve())
    cold = run_child(code, [script, "--child-index", str(home), str(FASTAPI_DOCS)])
    again = run_child(code, [script, "--child-index", str(home), str(FASTAPI_DOCS)])
    return {"cpu": cold["cpu"], "wall": cold["wall"], "pages": cold["pages"],
            "embedded": cold["embedded"], "again_embedded": again["embedded"],
            "again_cpu": again["cpu"]}


def template(code: Code) -> Path:
    """A home holding the example docs indexed by `code` with the hashing embedder."""
    home = WORK / f"docs-{code.label}"
    if not (home / "docloop.db").is_file():
        script = str(Path(__file__).resolve())
        run_child(code, [script, "--child-index", str(home), str(EXAMPLE_DOCS), "--fast"])
    return home


def measure_run(code: Code, trial: int, export: Path) -> dict[str, Any]:
    home = WORK / f"run-{code.label}-{trial}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(template(code), home)
    once = [str(HERE / "run_once.py"), str(home), f"discord-export:{export}", "--fast"]
    first = run_child(code, once)
    again = run_child(code, once)
    return {"cpu": first["cpu"], "wall": first["wall"], "peak": first["peak_mb"],
            "embedded": first["stats"]["embedded"],
            "again_embedded": again["stats"]["embedded"], "again_cpu": again["cpu"]}


def synthetic_export() -> Path:
    from synth import generate

    out = WORK / f"distinct-{MESSAGES}"
    if not out.is_dir():
        generate(MESSAGES, out, 1, distinct=True, week_messages=MESSAGES)
    return out


def base_checkout(ref: str) -> Code:
    """`ref`'s src/ exported once with `git archive` (no worktree left registered)."""
    folder = WORK / f"base-{ref}"
    if not (folder / "src").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return Code(f"base {ref}", folder / "src")


def median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def table(results: dict[str, dict[str, list[dict[str, Any]]]], base: Code, head: Code
          ) -> list[str]:
    lines = ["| measure | base CPU s (wall) | head CPU s (wall) | head / base | embeddings "
             "computed, first / re-run (base; head) | within 2x |",
             "| --- | ---: | ---: | ---: | --- | --- |"]
    for task, name in (("index", "`index-docs` FastAPI docs, cold"),
                       ("run", f"`docloop run` {MESSAGES:,} messages (hashing embedder)")):
        b, h = results[task][base.label], results[task][head.label]
        if not b:
            continue  # not measured this run (--only)
        ratio = median(h, "cpu") / median(b, "cpu")
        embeds = (f"{b[0]['embedded']:,} / {max(r['again_embedded'] for r in b)}; "
                  f"{h[0]['embedded']:,} / {max(r['again_embedded'] for r in h)}")
        lines.append(f"| {name} | {median(b, 'cpu'):.1f} ({median(b, 'wall'):.1f}) | "
                     f"{median(h, 'cpu'):.1f} ({median(h, 'wall'):.1f}) | {ratio:.2f}x | "
                     f"{embeds} | {'yes' if ratio <= LIMIT else 'NO'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASE)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", choices=("index", "run"),
                        help="measure one of the two (the table is then written beside the "
                        "guard's, as runtime_guard-BASE-ONLY.md)")
    parser.add_argument("--child-index", nargs=2, type=Path, metavar=("HOME", "DOCS"))
    parser.add_argument("--fast", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_index:
        if args.fast:
            import hash_embedder

            hash_embedder.use()
        print(json.dumps(child_index(*args.child_index)))
        return
    if not FASTAPI_DOCS.is_dir():
        sys.exit(f"{FASTAPI_DOCS} not found (needs ../shared)")
    WORK.mkdir(parents=True, exist_ok=True)
    base, head = base_checkout(args.base), Code("head", REPO / "src")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            check=True, capture_output=True, text=True).stdout.strip()
    edited = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "src"],
                            check=True, capture_output=True, text=True).stdout.strip()
    head_code = f"{commit} plus uncommitted changes to src/" if edited else commit
    export = synthetic_export()
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        "index": {base.label: [], head.label: []}, "run": {base.label: [], head.label: []}}
    for trial in range(args.repeat):
        for code in (base, head):
            if args.only in (None, "index"):
                results["index"][code.label].append(measure_index(code, trial))
            if args.only in (None, "run"):
                results["run"][code.label].append(measure_run(code, trial, export))
            done = {task: rows[code.label][-1] for task, rows in results.items()
                    if rows[code.label]}
            print(f"trial {trial} {code.label}: {done}", flush=True)
    given = "".join(f" --{k} {v}" for k, v in (("base", args.base), ("repeat", args.repeat),
                                                 ("only", args.only)) if v is not None)
    lines = ["## Runtime guard (issue #12: within 2x of the code it was measured on)", "",
             f"Command: `PYTHONPATH=src:benchmarks python benchmarks/runtime_guard.py{given}` "
             f"(base {args.base}, head {head_code}, {args.repeat} "
             "alternating trials each, medians). CPU seconds of each measured process; wall "
             "seconds include waiting for a core on this shared 2-core machine.", "",
             *table(results, base, head)]
    out = RESULTS if args.only is None and args.base == BASE else \
        RESULTS.with_name(f"runtime_guard-{args.base}-{args.only or 'both'}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
