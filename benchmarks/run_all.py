"""Run every benchmark and assemble their tables into benchmarks/results/ALL.md.

Usage: PYTHONPATH=src python benchmarks/run_all.py [NAME ...]
(names: those in ORDER; default all). Each benchmark writes its own table under
benchmarks/results/; this script gathers them, in ORDER, into results/ALL.md. A
benchmark that fails is reported as failed there; the others still run.

benchmarks/RESULTS.md is not written here: it is the curated reading of these tables
(what each figure means, what was measured and not kept, each session's runs), edited
by hand and citing the results files. Assembling it from the tables alone, as this
script once did, would have replaced that reading with the bare tables.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ASSEMBLED = HERE / "results" / "ALL.md"
ORDER = ["search", "pinecone", "rank_calibrate", "rank_shapes", "verdict_calibrate",
         "loco_eval", "fold_replay", "answer_ablation", "ping_answers",
         "navigation_sections", "match_ablation", "heading_quotes",
         "quality", "calibrate", "spread", "separation", "scale", "ingest", "discord", "llm",
         "webhook", "dashboard", "redact", "aws_stores", "file_dynamodb_reads", "config_scan"]


def main(names: list[str]) -> int:
    failed = []
    for name in names:
        script = HERE / f"{name}_bench.py"
        if not script.is_file():  # the calibration scripts are named for what they do
            script = HERE / f"{name}.py"
        print(f"== {name}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)])
        print(f"== {name}: exit {code} in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
        if code:
            failed.append(name)
    assemble(failed)
    return 1 if failed else 0


def assemble(failed: list[str], target: Path = ASSEMBLED) -> None:
    """Every benchmark's results file, in ORDER, into `target` (failed ones marked)."""
    parts = ["# docloop benchmark results (assembled)", "",
             f"Machine: {platform.machine()}, Python {platform.python_version()}, "
             "2 cores. Each section names the command that produced it; "
             "`make bench` (= `python benchmarks/run_all.py`) regenerates all of them; "
             "benchmarks/RESULTS.md reads them.", ""]
    for name in ORDER:
        if name in failed:
            parts += [f"## {name}", "", "**This benchmark failed in the last run.**", ""]
        for section in (HERE / "results" / f"{name}.md", HERE / "results" / f"{name}_bench.md"):
            if section.is_file():
                parts += [section.read_text(encoding="utf-8").rstrip(), ""]
    target.write_text("\n".join(parts) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ORDER))
