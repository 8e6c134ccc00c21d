"""Run every benchmark and assemble benchmarks/RESULTS.md from their sections.

Usage: PYTHONPATH=src python benchmarks/run_all.py [NAME ...]
(names: search pinecone rank_calibrate verdict_calibrate loco_eval match_ablation quality calibrate
spread separation scale ingest discord llm webhook dashboard redact aws_stores
file_dynamodb_reads config_scan; default all). A
benchmark that fails is reported as failed in RESULTS.md; the others still run.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["search", "pinecone", "rank_calibrate", "verdict_calibrate", "loco_eval", "fold_replay",
         "navigation_sections", "match_ablation",
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


def assemble(failed: list[str]) -> None:
    parts = ["# docloop benchmark results", "",
             f"Machine: {platform.machine()}, Python {platform.python_version()}, "
             "2 cores. Each section names the command that produced it; "
             "`make bench` (= `python benchmarks/run_all.py`) regenerates all of them.", ""]
    for name in ORDER:
        if name in failed:
            parts += [f"## {name}", "", "**This benchmark failed in the last run.**", ""]
        for section in (HERE / "results" / f"{name}.md", HERE / "results" / f"{name}_bench.md"):
            if section.is_file():
                parts += [section.read_text(encoding="utf-8").rstrip(), ""]
    (HERE / "RESULTS.md").write_text("\n".join(parts) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ORDER))
