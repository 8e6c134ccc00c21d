"""Run summaries in the DynamoDB table: the review desk's read model on `store = "dynamodb"`.

Items (pk | sk):

- run: `RUN` | `<seq, 10 digits>`: `run_id`, `started_at`, `finished_at`, `body` (B,
  zlib JSON of stats, errors and warnings); newest first is one Query
- run by id: `RUN_ID` | run id: `seq` (N)
- run counter: `RUN_SEQ` | `-`: `last` (N, an atomic ADD hands out sequence numbers)
- run's insight: `RUN_INSIGHT#<seq>` | insight id: the row `storage/runs.py` keeps in
  `run_insights` (title, score, conversations, users, doc_path, verdict, ticket_action, error)
- insight's runs: `INSIGHT_RUN#<insight id>` | `<seq>`: the same row with `run_id` and
  `started_at`, so an insight's page reads its runs with one Query
- summary: `SUMMARY` | insight id: the latest reported state the desk lists, sorts and
  filters (storage/runs.py's `insight_summaries`, with `channels` as a list) and `days`
  (the days its conversations started, from their Discord ids: the list's sparkline)

The `RUN` item is written last: a run becomes visible once everything it reported is
stored, so `runs()` never lists a half-recorded run (a crash part-way is repaired by
recording the run again, which replaces it as SQLite's store does). Summaries are read
whole by the desk (one Query of the `SUMMARY` partition: about 300 bytes per insight)
and cached by it while the newest run stays the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from docloop.aws.clients import AWSClients, aws_errors
from docloop.aws.dynamodb_io import Item, batch_get, batch_put, get, pack, query, unpack
from docloop.aws.dynamodb_layout import PK, SK
from docloop.backends.sources.discord_map import snowflake_time_or_none
from docloop.config import Settings
from docloop.models import Insight, RunReport
from docloop.storage.runs import RunRow

RUNS, RUN_IDS, COUNTER, SUMMARIES = "RUN", "RUN_ID", "RUN_SEQ", "SUMMARY"
_ROW_FIELDS = ("title", "score", "conversations", "users", "doc_path", "verdict",
               "ticket_action", "error")
_EPOCH_DAY_S = 86_400


def _seq_key(seq: int) -> str:
    return f"{seq:010d}"


def _run_insights(seq: int) -> str:
    return f"RUN_INSIGHT#{_seq_key(seq)}"


def _insight_runs(insight_id: str) -> str:
    return f"INSIGHT_RUN#{insight_id}"


class DynamoRunStore:
    """A `RunHistory` over the docloop table, with the reads the review desk needs."""

    def __init__(self, clients: AWSClients) -> None:
        self.clients = clients

    @classmethod
    def from_settings(cls, settings: Settings, clients: AWSClients | None = None,
                      **deps: Any) -> DynamoRunStore:
        return cls(clients or AWSClients.from_settings(settings))

    # -- RunHistory -----------------------------------------------------------------------

    def record(self, report: RunReport) -> None:
        """Keep a run's summary, its insights and their summaries; a re-record replaces
        the earlier one (and, as in SQLite, becomes the newest run)."""
        earlier = get(self.clients, RUN_IDS, report.run_id)
        if earlier is not None:
            self._forget(int(earlier["seq"]))
        seq = self._next_seq()
        rows = [_insight_row(insight) for insight in report.insights]
        batch_put(self.clients, [
            *({PK: _run_insights(seq), SK: row["insight_id"], **_numbers(row)} for row in rows),
            *({PK: _insight_runs(row["insight_id"]), SK: _seq_key(seq), "run_id": report.run_id,
               "started_at": report.started_at.isoformat(), **_numbers(row)} for row in rows),
            *self._summaries_after(report.insights, seq)])
        body = json.dumps({"stats": report.stats.model_dump(mode="json"),
                           "errors": report.errors, "warnings": report.warnings})
        batch_put(self.clients, [
            {PK: RUN_IDS, SK: report.run_id, "seq": seq},
            {PK: RUNS, SK: _seq_key(seq), "run_id": report.run_id,
             "started_at": report.started_at.isoformat(),
             "finished_at": report.finished_at.isoformat() if report.finished_at else None,
             "body": pack(body)}])

    def runs(self, limit: int = 100) -> list[RunRow]:
        return [_run_row(item) for item in query(self.clients, RUNS, newest_first=True,
                                                 limit=limit)]

    def run(self, run_id: str) -> RunRow | None:
        found = get(self.clients, RUN_IDS, run_id)
        item = get(self.clients, RUNS, _seq_key(int(found["seq"]))) if found else None
        return _run_row(item) if item else None

    # -- the desk's reads -----------------------------------------------------------------

    def latest_seq(self) -> int:
        """The newest recorded run's sequence number (0 before any): one small Query."""
        newest = self.runs(limit=1)
        return newest[0].seq if newest else 0

    def previous(self, seq: int) -> RunRow | None:
        """The run recorded before run `seq`."""
        from boto3.dynamodb.conditions import Key

        with aws_errors(self.clients, "querying"):
            page = self.clients.table.query(
                KeyConditionExpression=Key(PK).eq(RUNS) & Key(SK).lt(_seq_key(seq)),
                ScanIndexForward=False, Limit=1, ConsistentRead=True)
        items = page.get("Items", [])
        return _run_row(items[0]) if items else None

    def summaries(self) -> list[dict[str, Any]]:
        """Every insight's summary (the keys of SQLite's `insight_summaries`)."""
        return [_plain(item) for item in query(self.clients, SUMMARIES)]

    def summary(self, insight_id: str) -> dict[str, Any] | None:
        item = get(self.clients, SUMMARIES, insight_id)
        return _plain(item) if item else None

    def run_insights(self, seq: int) -> list[dict[str, Any]]:
        """A run's insight rows, highest score first."""
        rows = [_plain(item) for item in query(self.clients, _run_insights(seq))]
        return sorted(rows, key=lambda r: -r["score"])

    def insight_runs(self, insight_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The runs that reported an insight, newest first, each with its row."""
        return [_plain(item) | {"run_seq": int(item[SK])}
                for item in query(self.clients, _insight_runs(insight_id), newest_first=True,
                                  limit=limit)]

    # -- writing --------------------------------------------------------------------------

    def _next_seq(self) -> int:
        with aws_errors(self.clients, "writing"):
            answer = self.clients.table.update_item(
                Key={PK: COUNTER, SK: "-"}, UpdateExpression="ADD #last :one",
                ExpressionAttributeNames={"#last": "last"},
                ExpressionAttributeValues={":one": 1}, ReturnValues="UPDATED_NEW")
        return int(answer["Attributes"]["last"])

    def _forget(self, seq: int) -> None:
        """Delete run `seq` and its rows (its insights' summaries stay: they move on)."""
        items = list(query(self.clients, _run_insights(seq)))
        keys = [(RUNS, _seq_key(seq)),
                *((str(i[PK]), str(i[SK])) for i in items),
                *((_insight_runs(str(i[SK])), _seq_key(seq)) for i in items)]
        with aws_errors(self.clients, "deleting"), self.clients.table.batch_writer() as batch:
            for pk, sk in keys:
                batch.delete_item(Key={PK: pk, SK: sk})

    def _summaries_after(self, insights: Iterable[Insight], seq: int) -> list[Item]:
        """The summaries as they are once this run is recorded (SQLite's upsert, in Python:
        the previous count moves to `previous_conversations`, `first_seen` keeps the
        earliest, the first run stays)."""
        insights = list(insights)
        known = {str(item[SK]): item for item in batch_get(
            self.clients, [(SUMMARIES, i.id) for i in insights])}
        updated = []
        for insight in insights:
            old = known.get(insight.id)
            row = _summary(insight, seq)
            if old is not None:
                row["previous_conversations"] = old["conversations"]
                row["first_run_seq"] = old["first_run_seq"]
                seen = [s for s in (old.get("first_seen"), row["first_seen"]) if s]
                row["first_seen"] = min(seen, key=datetime.fromisoformat) if seen else None
            updated.append({PK: SUMMARIES, SK: insight.id, **_numbers(row)})
        return updated


def _insight_row(insight: Insight) -> dict[str, Any]:
    doc = insight.doc
    return {"insight_id": insight.id, "title": insight.title, "score": insight.score,
            "conversations": len(insight.conversation_ids), "users": insight.users,
            "doc_path": doc.path if doc else None, "verdict": doc.verdict if doc else None,
            "ticket_action": insight.ticket.action if insight.ticket else None,
            "error": insight.error}


def _summary(insight: Insight, seq: int) -> dict[str, Any]:
    doc = insight.doc
    started = (snowflake_time_or_none(c) for c in insight.conversation_ids)
    return {"insight_id": insight.id, "title": insight.title, "category": insight.category,
            "score": insight.score, "conversations": len(insight.conversation_ids),
            "previous_conversations": None, "users": insight.users,
            "channels": list(insight.channels), "doc_path": doc.path if doc else None,
            "doc_url": doc.url if doc else None, "verdict": doc.verdict if doc else None,
            "first_seen": insight.first_seen.isoformat() if insight.first_seen else None,
            "last_seen": insight.last_seen.isoformat() if insight.last_seen else None,
            "first_run_seq": seq, "last_run_seq": seq,
            "days": sorted(int(s.timestamp()) // _EPOCH_DAY_S for s in started if s)}


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB takes numbers as Decimal (floats are refused)."""
    return {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in row.items()}


def _plain(item: Item) -> dict[str, Any]:
    """An item as the desk reads a row: numbers back to int/float, keys dropped."""
    def value(v: Any) -> Any:
        if isinstance(v, Decimal):
            return int(v) if v == v.to_integral_value() else float(v)
        if isinstance(v, list):
            return [value(x) for x in v]
        return v

    row = {k: value(v) for k, v in item.items() if k not in (PK, SK)}
    if "score" in row:
        row["score"] = float(row["score"])
    return row


def _run_row(item: Item) -> RunRow:
    body = json.loads(unpack(item["body"]))
    finished = item.get("finished_at")
    return RunRow(seq=int(item[SK]), run_id=str(item["run_id"]),
                  started_at=datetime.fromisoformat(str(item["started_at"])),
                  finished_at=datetime.fromisoformat(str(finished)) if finished else None,
                  stats=body["stats"], errors=body["errors"], warnings=body["warnings"])
