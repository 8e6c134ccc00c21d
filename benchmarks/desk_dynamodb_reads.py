"""What each review desk page reads from DynamoDB (`store = "dynamodb"`), counted under moto.

Seeds N insights as a run leaves them (tests/desk_support.py, through the DynamoDB
stores): identities, snapshots, messages, one recorded run; every insight reviewed and
half of them filed with three status changes. Then requests each page twice through the
app (a cold view, which loads the desk's state, and a warm one within its cache) and
counts the DynamoDB requests and read units each made: read units computed from the
items returned as DynamoDB bills them (strongly consistent: 4 KB units of the summed
item sizes per Query page, per item for GetItem and BatchGetItem). S3 requests (quoted
messages) are counted apart. The figures grow linearly with N where a page reads whole
partitions; the table reports them per N and scaled to 10,000 insights.

Usage: PYTHONPATH=src:. python benchmarks/desk_dynamodb_reads.py [--insights N]
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "desk_dynamodb_reads.md"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PAGES = ("/", "/?status=filed", "/coverage", "/runs", "/insights/ins_00002")


def _size(value: Any) -> int:
    """An attribute value's size as DynamoDB counts it (close enough for units)."""
    if isinstance(value, dict):
        return sum(len(k) + _size(v) for k, v in value.items())
    if isinstance(value, list):
        return 3 + sum(_size(v) + 1 for v in value)
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, str):
        return len(value.encode())
    if hasattr(value, "value"):  # boto3 Binary
        return len(value.value)
    return 21


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """Count DynamoDB requests, items read and read units, and S3 requests, made inside
    the block."""
    from botocore.client import BaseClient

    counts: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        answer = original(self, operation, params)
        service = self.meta.service_model.service_name
        counts[f"{service} requests"] += 1
        if service == "dynamodb":
            items = answer.get("Items") or ([answer["Item"]] if answer.get("Item") else [])
            for found in (answer.get("Responses") or {}).values():
                items = [*items, *found]
            counts["items read"] += len(items)
            if operation in ("Query", "Scan"):
                counts["read units"] += max(1, math.ceil(sum(map(_size, items)) / 4096))
            else:
                counts["read units"] += sum(max(1, math.ceil(_size(i) / 4096)) for i in items)
        return answer

    BaseClient._make_api_call = call  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def measure(insights: int) -> dict[str, tuple[Counter[str], Counter[str]]]:
    import pytest
    from starlette.testclient import TestClient

    from docloop import registry
    from docloop.models import ReviewRecord
    from docloop.web.app import create_app
    from tests.aws_support import aws_settings
    from tests.desk_support import file_ticket_in, insight, record_run_in

    with tempfile.TemporaryDirectory() as scratch, pytest.MonkeyPatch.context() as patch, \
            aws_settings(Path(scratch), patch, linear_webhook_secret="s" * 20,
                         review=True) as settings:
        items = [insight(n, NOW, score=1.0 + n / insights) for n in range(1, insights + 1)]
        with registry.open_stores(settings) as stores:
            record_run_in(stores, items, "r1", NOW - timedelta(days=1))
            for n, item in enumerate(items):
                stores.reviews.put(ReviewRecord(insight_id=item.id, state="accepted",
                                                updated_at=NOW))
                if n % 2:
                    file_ticket_in(stores, item, NOW - timedelta(days=5), [
                        ("in_progress", NOW - timedelta(days=4), "linear-webhook"),
                        ("done", NOW - timedelta(days=2), "linear-webhook")])
        client = TestClient(create_app(settings, now=lambda: NOW))
        measured = {}
        for path in PAGES:
            views = []
            for _ in range(2):
                with counting() as counts:
                    assert client.get(path).status_code == 200, path
                views.append(counts)
            measured[path] = (views[0], views[1])
            client = TestClient(create_app(settings, now=lambda: NOW))  # next page cold
    return measured


def render(measured: dict[str, tuple[Counter[str], Counter[str]]], insights: int) -> str:
    scale = 10_000 / insights
    lines = ["## Review desk on DynamoDB: reads per page", "",
             f"Command: `PYTHONPATH=src:. python benchmarks/desk_dynamodb_reads.py --insights "
             f"{insights}` (moto; {insights:,} insights, each reviewed, half filed with "
             "three status changes). Read units as DynamoDB bills strongly consistent reads "
             "(4 KB of items per Query page, per item for GetItem), computed from the items "
             "returned. Cold: the first view of an app (loads the desk's state); warm: the "
             "same page again within the state's 30 s.", "",
             "| page | cold: DynamoDB requests | read units | scaled to 10k insights | "
             "warm: requests | read units | S3 requests |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for path, (cold, warm) in measured.items():
        lines.append(f"| `GET {path}` | {cold['dynamodb requests']} | {cold['read units']} | "
                     f"~{round(cold['read units'] * scale):,} | {warm['dynamodb requests']} | "
                     f"{warm['read units']} | {cold['s3 requests']} |")
    lines += ["", "Scaling is linear (the cold list reads the summary, review and ticket "
              "partitions whole; an insight's page reads every member through "
              "`insights.conversations`), an upper bound for the pages whose own reads do "
              "not grow with N.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--insights", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    text = render(measure(args.insights), args.insights)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
