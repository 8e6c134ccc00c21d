"""Run `docloop run` once in this process and print timing, memory and stats as JSON.

Used by the scale benchmark so that each run's peak memory is its own. `--fast`
swaps in the hashing embedder (benchmarks/hash_embedder.py); `--since ISO` sets the
window start. CPU seconds are reported beside wall seconds: on a shared machine
wall time includes waiting for a core. `--trace-memory` writes the resident and peak
memory at every docloop log line to stderr: where the peak is reached, by stage.
Usage: python benchmarks/run_once.py HOME SOURCE_SPEC [--fast] [--since ISO_TIME]
       [--trace-memory]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from datetime import datetime
from pathlib import Path

from docloop.config import load_settings
from docloop.pipeline import RunOptions, run_pipeline


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class MemoryTrace(logging.Handler):
    """Writes current RSS (from /proc) and peak RSS beside each docloop log message."""

    def emit(self, record: logging.LogRecord) -> None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        now = pages * resource.getpagesize() / 2**20
        sys.stderr.write(f"[rss {now:7.0f} MB | peak {peak:7.0f} MB] {record.getMessage()}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("home")
    parser.add_argument("source")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--since", default=None)
    parser.add_argument("--trace-memory", action="store_true")
    args = parser.parse_args()
    if args.trace_memory:
        logger = logging.getLogger("docloop")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(MemoryTrace())
    if args.fast:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import hash_embedder

        hash_embedder.use()
    settings = load_settings(overrides={"home": Path(args.home), "sources": [args.source],
                                        "tracker": "local", "max_insights": 0}, environ={})
    since = datetime.fromisoformat(args.since) if args.since else None
    started, cpu = time.perf_counter(), cpu_seconds()
    report = run_pipeline(settings, RunOptions(since=since))
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak_mb,
                      "stats": report.stats.model_dump(), "errors": report.errors,
                      "tickets": sum(1 for i in report.insights if i.ticket)}))


if __name__ == "__main__":
    main()
