"""What filing tickets reads from DynamoDB (`store = "dynamodb"`), counted under moto.

Filing a ticket names the other open tickets on its docs section
(`stages.file.related_tickets` → `RecordStore.on_section`). Before the
section pointers, the DynamoDB store answered that with the base
implementation: every ticket item read, then filtered. This seeds a table with
`--tickets` filed tickets spread over `--sections` sections, then files
`--filed` new insights through `file_insight` (local tracker, one record store
per filing, as each insight's Lambda builds its own) and counts the DynamoDB
requests, items returned and read units of the filings, three ways in one run,
each on a fresh table seeded alike:

- before: `on_section` replaced by the base implementation (the full read);
- after: the section pointers, the table already backfilled;
- after, on a table written before the pointers: the first filing backfills.

Read units as DynamoDB bills strongly consistent reads (`desk_dynamodb_reads.counting`).

Usage: PYTHONPATH=src python benchmarks/file_dynamodb_reads.py [--tickets N]
       [--sections S] [--filed M]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # `python benchmarks/…` (run_all) imports tests/, benchmarks/

from benchmarks.desk_dynamodb_reads import counting  # noqa: E402

RESULTS = HERE / "results" / "file_dynamodb_reads.md"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WAYS = ("before: full read per filing", "after: section pointers",
        "after, table from before the pointers (backfill on the first filing)")


def _section(number: int, sections: int) -> tuple[str, str]:
    """The doc path and section URL of the `number`th insight."""
    path = f"guide/page{number % sections}.md"
    return path, f"https://docs.example/{path}#section"


def _insight(number: int, sections: int) -> Any:
    from tests.desk_support import insight

    path, url = _section(number, sections)
    item = insight(number, NOW, doc_path=path)
    return item.model_copy(update={"doc": item.doc.model_copy(update={"url": url})})


def measure(way: str, tickets: int, sections: int, filed: int) -> Counter[str]:
    """The DynamoDB reads of filing `filed` insights after `tickets` were filed."""
    import pytest

    from docloop import registry
    from docloop.aws.dynamodb_records import DynamoRecordStore
    from docloop.backends.records.base import RecordStore
    from docloop.backends.trackers.local import LocalTracker
    from docloop.stages.file import file_insight
    from tests.aws_support import aws_settings

    with tempfile.TemporaryDirectory() as scratch, pytest.MonkeyPatch.context() as patch, \
            aws_settings(Path(scratch), patch) as settings:
        tracker = LocalTracker(Path(scratch) / "outbox")
        _seed(settings, [_insight(n, sections) for n in range(1, tickets + 1)], tracker)
        seeding = registry.build_records(settings)
        if way == WAYS[0]:
            patch.setattr(DynamoRecordStore, "on_section", RecordStore.on_section)
        elif way == WAYS[1]:
            seeding.on_section(_section(0, sections)[1])  # the marker, as any filing leaves it
        else:
            _drop_section_items(settings.dynamodb_table or "")
        with counting() as counts:
            for number in range(tickets + 1, tickets + filed + 1):
                records = registry.build_records(settings)
                ref = file_insight(_insight(number, sections), tracker, records,
                                   NOW + timedelta(minutes=number))
                assert ref.action == "created", ref
        return counts


def _seed(settings: Any, items: list[Any], tracker: Any) -> None:
    """Filed tickets, each item as the record store's put writes it (ticket and pointers),
    in batches: moto copies the whole table per transaction, so `put` one by one would
    take the seeding quadratic (minutes at 1,000 tickets) without changing what is read."""
    from docloop.aws.clients import AWSClients
    from docloop.aws.dynamodb_io import batch_put
    from docloop.aws.dynamodb_records import _pointers, _put_ticket
    from docloop.models import StatusChange, TicketRecord
    from docloop.stages.file import ticket_id_for

    written = []
    for item in items:
        ticket_id = ticket_id_for(item.id)
        filed = tracker.create(ticket_id, item)
        record = TicketRecord(
            id=ticket_id, tracker=tracker.name, external_id=filed.external_id,
            identifier=filed.identifier, url=filed.url, status="open", insight_id=item.id,
            title=item.title, doc_path=item.doc.path, doc_url=item.doc.url,
            suggestion=item.suggestion.text, conversations=len(item.conversation_ids),
            users=item.users, message_ids=list(item.message_ids),
            conversation_ids=list(item.conversation_ids), created_at=NOW, updated_at=NOW,
            history=[StatusChange(status="open", at=NOW, note="ticket filed")])
        written += [action["Put"]["Item"]
                    for action in (_put_ticket(record, 0), *_pointers(record))]
    batch_put(AWSClients.from_settings(settings), written)


def _drop_section_items(table_name: str) -> None:
    """The table as the code before the section pointers left it."""
    import boto3

    from docloop.aws.dynamodb_records import SECTION_INDEX, SECTION_PREFIX

    table = boto3.resource("dynamodb").Table(table_name)
    for item in table.scan()["Items"]:
        if str(item["pk"]).startswith(SECTION_PREFIX) or item["pk"] == SECTION_INDEX:
            table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


def render(rows: dict[str, Counter[str]], tickets: int, sections: int, filed: int) -> str:
    lines = ["## Filing on DynamoDB: reads of `on_section` (section pointers)", "",
             f"{date.today().isoformat()}. Command: `PYTHONPATH=src:. python "
             f"benchmarks/file_dynamodb_reads.py --tickets {tickets} --sections {sections} "
             f"--filed {filed}` (moto; {tickets:,} tickets already filed on {sections} "
             f"sections, then {filed} new insights filed through `file_insight`, one record "
             "store each; all three rows in one run, each on a fresh table seeded alike). "
             "Read units as DynamoDB bills strongly consistent reads (4 KB of items per "
             "Query page, per item for GetItem and BatchGetItem).", "",
             "| way | DynamoDB requests | items read | read units | per filing: requests | "
             "items | read units |", "|---|---:|---:|---:|---:|---:|---:|"]
    for way, counts in rows.items():
        requests, items, units = (counts["dynamodb requests"], counts["items read"],
                                  counts["read units"])
        lines.append(f"| {way} | {requests:,} | {items:,} | {units:,} | "
                     f"{requests / filed:.1f} | {items / filed:.1f} | {units / filed:.1f} |")
    lines += ["", "Before, each filing reads every ticket item (its body, zlib JSON) to find "
              "the few on its section, so the cost grows with the table; after, one GetItem "
              "(the backfill marker), one Query of the section's pointers and one "
              "BatchGetItem of its tickets, growing with the section. The backfill is paid "
              "once per table, by the first filing after the upgrade (one Query of every "
              "ticket, then a BatchWriteItem per 25 pointers). A section's tickets cost a "
              "read unit each (BatchGetItem rounds every item up to 4 KB) where the full "
              "Query packs several tickets into a unit, so the pointers read fewer units "
              "while a section holds well under a tenth of the tickets; the full read never "
              "stops growing with the table.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--sections", type=int, default=50)
    parser.add_argument("--filed", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    rows = {way: measure(way, args.tickets, args.sections, args.filed) for way in WAYS}
    text = render(rows, args.tickets, args.sections, args.filed)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
