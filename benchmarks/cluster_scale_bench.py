"""Clustering cost when most problems stay their own cluster (issue #11).

Data: N problems of 12 words drawn from a 20,000-word vocabulary, each with a random
unit 384-dim vector, so no two are similar and every problem stays a singleton (the
worst case for scoring every cluster). `cluster_problems` runs with the shipped
settings. Each row runs in its own process: CPU seconds of `cluster_problems` alone,
and the process's peak RSS growth over what it held before the call (vectors and
problems included in the base). `exact` forces the path that scores every cluster
(`cluster_index.EXACT_MAX` raised above N: main's behaviour), `bucketed` is the
shipped one; both are measured in the same session, without the singleton
re-attachment pass (`attach_threshold=None`, stages/fragments.py). `bucketed+attach`
is the shipped path with that pass on (above `EXACT_MAX` it too scores bucket
candidates only), and `bucketed+attach+join` adds the mutual-fragment join
(stages/mutual_fragments.py, off in the shipped settings): every live cluster's
nearest other cluster, among its bucket candidates. `PYTHONPATH=OTHER/src` runs every
row on another checkout's code (each row's process inherits it), for a before/after in
one session.

Usage: PYTHONPATH=src:benchmarks python benchmarks/cluster_scale_bench.py [--common-share 0.1]
       [--sizes 2000 8000 32000] [--exact-max 8000]
Writes benchmarks/results/cluster_scale.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "cluster_scale.md"
VOCABULARY = 20_000
WORDS = 12
DIM = 384
#: the mutual-fragment join's quantile in the `bucketed+attach+join` rows (its cost does
#: not depend on it: every live cluster's nearest is searched whatever the bar)
JOIN_QUANTILE = 0.95


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def measure(n: int, mode: str, common_share: float = 0.0) -> dict:
    """One row, in this process: cluster N random singletons, exact or bucketed; with
    `common_share`, that share of the problems also pastes one code term (`BaseModel`),
    so its holders are most clusters (the shared-term lookup's worst case)."""
    from docloop.models import Problem
    from docloop.quality import SHIPPED
    from docloop.stages import cluster_index
    from docloop.stages.cluster import cluster_problems

    if mode == "exact":
        cluster_index.EXACT_MAX = n + 1
    attach = SHIPPED.attach_threshold if mode.startswith("bucketed+attach") else None
    join = JOIN_QUANTILE if mode == "bucketed+attach+join" else None
    rng = np.random.default_rng(n)
    common_every = round(1 / common_share) if common_share else 0
    start = datetime(2026, 1, 1, tzinfo=UTC)
    words = rng.integers(0, VOCABULARY, size=(n, WORDS))
    problems = [Problem(id=f"p{i}", conversation_id=str(i),
                        text=" ".join(f"word{w}" for w in words[i])
                        + (" `BaseModel`" if common_every and i % common_every == 0 else ""),
                        timestamp=start + timedelta(seconds=i)) for i in range(n)]
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    base = _rss_mb()
    cpu = time.process_time()
    clusters = cluster_problems(problems, vectors, attach_threshold=attach,
                                fragment_quantile=join)
    cpu_seconds = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"n": n, "mode": mode, "cpu_seconds": cpu_seconds, "clusters": len(clusters),
            "peak_growth_mb": peak - base, "common_share": common_share}


def row_in_process(n: int, mode: str, common_share: float = 0.0) -> dict:
    out = subprocess.run([sys.executable, __file__, "--row", str(n), mode, str(common_share)],
                         check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def render(rows: list[dict]) -> str:
    by = {(r["n"], r["mode"]): r for r in rows}
    lines = ["# Clustering when every problem stays a singleton", "",
             "`PYTHONPATH=src:benchmarks python benchmarks/cluster_scale_bench.py` "
             "(N random problems, shipped settings, one process per row; CPU seconds of "
             "`cluster_problems`, peak RSS growth during it).", "",
             "| problems | clusters | exact CPU s | exact peak MB | bucketed CPU s "
             "| bucketed peak MB | exact / bucketed CPU | bucketed + attach pass CPU s "
             "| bucketed + attach peak MB | + fragment join CPU s | + fragment join peak MB |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sorted({r["n"] for r in rows}):
        exact, bucketed = by.get((n, "exact")), by.get((n, "bucketed"))
        cells = [f"{n:,}", f"{(bucketed or exact or {}).get('clusters', 0):,}"]
        for row in (exact, bucketed):
            cells += ([f"{row['cpu_seconds']:.1f}", f"{row['peak_growth_mb']:.0f}"] if row
                      else ["not measured (time)", "-"])
        ratio = (f"{exact['cpu_seconds'] / bucketed['cpu_seconds']:.1f}x"
                 if exact and bucketed else "-")
        for mode in ("bucketed+attach", "bucketed+attach+join"):
            row = by.get((n, mode))
            cells += ([f"{row['cpu_seconds']:.1f}", f"{row['peak_growth_mb']:.0f}"] if row
                      else ["not measured", "-"])
        lines.append("| " + " | ".join([*cells[:6], ratio, *cells[6:]]) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000, 32000])
    parser.add_argument("--exact-max", type=int, default=8000,
                        help="largest N also measured on the exact path (it is quadratic)")
    parser.add_argument("--common-share", type=float, default=0.0,
                        help="share of problems that also paste one common code term")
    parser.add_argument("--row", nargs=3, metavar=("N", "MODE", "SHARE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.row:
        print(json.dumps(measure(int(args.row[0]), args.row[1], float(args.row[2]))))
        return
    rows = []
    for n in args.sizes:
        for mode in ("exact", "bucketed", "bucketed+attach", "bucketed+attach+join"):
            if mode == "exact" and n > args.exact_max:
                continue
            rows.append(row_in_process(n, mode, args.common_share))
            print(json.dumps(rows[-1]), flush=True)
    out = RESULTS.with_name("cluster_scale_common.md") if args.common_share else RESULTS
    out.write_text(render(rows) + (f"\nA share of {args.common_share:g} of the problems also "
                                   "pastes `BaseModel` (`--common-share`).\n"
                                   if args.common_share else ""))
    print(out.read_text())


if __name__ == "__main__":
    main()
