"""Run `docloop run` once in this process and print timing, memory and stats as JSON.

Used by the scale benchmark so that each run's peak memory is its own.
Usage: python benchmarks/run_once.py HOME SOURCE_SPEC
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from docloop.config import load_settings
from docloop.pipeline import RunOptions, run_pipeline


def main(home: str, source: str) -> None:
    settings = load_settings(overrides={"home": Path(home), "sources": [source],
                                        "tracker": "local", "max_insights": 0}, environ={})
    started = time.perf_counter()
    report = run_pipeline(settings, RunOptions(since=None))
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb,
                      "stats": report.stats.model_dump(), "errors": report.errors,
                      "tickets": sum(1 for i in report.insights if i.ticket)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
