"""AWS requests of a run on the DynamoDB/S3 stores (moto), next to SQLite's wall time.

Runs the bundled Tidepool example through the CLI twice (a first run, then
a re-run with nothing new) on `store = "dynamodb"` under moto, counting every
DynamoDB and S3 request by operation, and the same two runs on `store =
"sqlite"` in the same process for the wall-time baseline. moto answers in
process, so the times say what docloop's side costs, not AWS latency; the
request counts are what AWS would bill (DynamoDB on-demand, S3 requests).
Usage: PYTHONPATH=src:. python benchmarks/aws_stores_bench.py
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from docloop.aws.clients import AWSClients
from docloop.cli import main

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "tidepool"
RESULTS = HERE / "results" / "aws_stores_bench.md"
TABLE, BUCKET, REGION = "docloop-bench", "docloop-bench-state", "us-east-1"


def main_bench() -> None:
    rows = []
    for store in ("sqlite", "dynamodb"):
        with tempfile.TemporaryDirectory() as tmp, _environment(Path(tmp), store) as calls:
            _cli("index-docs", str(EXAMPLE / "docs"))
            for run in ("first run", "re-run, nothing new"):
                calls.clear()
                started = time.perf_counter()
                report = _cli("run", "--source", f"discord-export:{EXAMPLE / 'discord'}",
                              "--since", "all", "--json", str(Path(tmp) / "run.json"))
                seconds = time.perf_counter() - started
                rows.append((store, run, seconds, report, Counter(calls)))
    _write(rows)


@contextmanager
def _environment(home: Path, store: str) -> Iterator[Counter[str]]:
    """DOCLOOP_* for `store`, moto for AWS, and a counter of AWS requests by operation."""
    import boto3
    from moto import mock_aws

    from docloop.aws.dynamodb_layout import table_definition

    calls: Counter[str] = Counter()
    original = AWSClients.from_settings.__func__  # type: ignore[attr-defined]

    def counted(cls: type[AWSClients], *args: Any, **kwargs: Any) -> AWSClients:
        clients: AWSClients = original(cls, *args, **kwargs)
        for client in (clients.table.meta.client, clients.s3):
            client.meta.events.register("before-call", count)
        return clients

    def count(model: Any, **_: Any) -> None:
        calls.update([f"{model.service_model.service_name} {model.name}"])

    env = {"DOCLOOP_HOME": str(home / "home"), "DOCLOOP_STORE": store,
           "DOCLOOP_DYNAMODB_TABLE": TABLE, "DOCLOOP_S3_BUCKET": BUCKET,
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": REGION}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    AWSClients.from_settings = classmethod(counted)  # type: ignore[method-assign,assignment]
    try:
        with mock_aws():
            boto3.client("dynamodb", region_name=REGION).create_table(**table_definition(TABLE))
            boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
            yield calls
    finally:
        AWSClients.from_settings = classmethod(original)  # type: ignore[method-assign,assignment]
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _cli(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if result.exit_code != 0:
        raise SystemExit(f"docloop {' '.join(args)} failed: {result.output}")
    out = Path(args[args.index("--json") + 1]) if "--json" in args else None
    return json.loads(out.read_text(encoding="utf-8")) if out else {}


def _write(rows: list[tuple[str, str, float, dict[str, Any], Counter[str]]]) -> None:
    baseline = {run: seconds for store, run, seconds, _, _ in rows if store == "sqlite"}
    lines = ["## aws_stores", "",
             "`PYTHONPATH=src:. python benchmarks/aws_stores_bench.py`: the Tidepool example "
             "run twice through the CLI on each store (moto in process for DynamoDB and S3; "
             "times are docloop's side only, not AWS latency).", "",
             "| store | run | messages stored | tickets filed | wall s | vs sqlite | "
             "DynamoDB requests | S3 requests |", "|" + " --- |" * 8]
    for store, run, seconds, report, calls in rows:
        filed = sum(1 for i in report["insights"] if (i.get("ticket") or {}).get("action")
                    == "created")
        dynamo = sum(n for op, n in calls.items() if op.startswith("dynamodb"))
        s3 = sum(n for op, n in calls.items() if op.startswith("s3"))
        counts = f"{dynamo} | {s3}" if store != "sqlite" else "— | —"
        lines.append(f"| {store} | {run} | {report['stats']['messages']} | {filed} | "
                     f"{seconds:.1f} | {seconds / baseline[run]:.2f}x | {counts} |")
    lines += ["", "Requests by operation (dynamodb store):", ""]
    for store, run, _, _, calls in rows:
        if store == "dynamodb":
            ops = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
            lines.append(f"- {run}: {ops}")
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main_bench()
