"""The whole loop on the DynamoDB/S3 stores (moto), composed as production composes it.

The CLI resolves `store = "dynamodb"` from the environment and the registry
builds every family from it; nothing here constructs a store. Runs without
../shared: the bundled Tidepool example is the data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.errors import TransientError
from docloop.models import Message, TicketRecord
from tests.aws_support import BUCKET, REGION, TABLE, aws_settings
from tests.helpers import run_json

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tidepool"
pytestmark = pytest.mark.aws


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def _aws_env(monkeypatch: pytest.MonkeyPatch, table: str = TABLE, bucket: str = BUCKET) -> None:
    monkeypatch.setenv("DOCLOOP_STORE", "dynamodb")
    monkeypatch.setenv("DOCLOOP_DYNAMODB_TABLE", table)
    monkeypatch.setenv("DOCLOOP_S3_BUCKET", bucket)


@pytest.mark.usefixtures("minilm")
def test_the_loop_runs_on_dynamodb_and_s3_and_a_second_run_files_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    with aws_settings(tmp_path / "home", monkeypatch):
        _aws_env(monkeypatch)
        assert _invoke("index-docs", str(EXAMPLE / "docs")).exit_code == 0
        first = _run(tmp_path / "first.json")
        created = [i["ticket"]["action"] for i in first["insights"] if i["ticket"]]
        assert created and set(created) == {"created"}
        assert first["stats"]["messages"] > 0
        second = _run(tmp_path / "second.json")
        assert second["stats"]["messages"] == 0 and second["stats"]["embedded"] == 0
        assert "nothing changed since run" in second["stats"]["analysis_reused"]
        assert [i["id"] for i in second["insights"]] == [i["id"] for i in first["insights"]]
        assert {i["ticket"]["action"] for i in second["insights"] if i["ticket"]} == {"unchanged"}
        listed = _invoke("tickets", "--json")
        assert listed.exit_code == 0, listed.output
        assert len(json.loads(listed.stdout)) == len(created)
        objects = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
        keys = [o["Key"] for o in objects["Contents"]]
        assert "analysis/memo.json" in keys  # the kept analysis, for the second run
        days = [k for k in keys if k != "analysis/memo.json"]
        assert days and all(k.startswith("messages/") and k.endswith(".jsonl.gz") for k in days)
    local = sqlite3.connect(tmp_path / "home" / "docloop.db")
    tables = {r[0] for r in local.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "docs_pages" in tables  # the docs index stays local (docs_index = "sqlite")
    assert not tables & {"messages", "tickets", "insights", "embedding_cache", "llm_cache"}


def _run(out: Path) -> dict[str, Any]:
    return run_json(EXAMPLE / "discord", out)


@pytest.mark.parametrize(("unset", "named"), [("DOCLOOP_DYNAMODB_TABLE", "dynamodb_table"),
                                              ("DOCLOOP_S3_BUCKET", "s3_bucket")])
def test_a_missing_table_or_bucket_setting_is_one_line_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unset: str, named: str) -> None:
    with aws_settings(tmp_path / "home", monkeypatch):
        _aws_env(monkeypatch)
        monkeypatch.delenv(unset)
        export = EXAMPLE / "discord"
        result = _invoke("run", "--source", f"discord-export:{export}", "--since", "all")
    assert result.exit_code == 2
    assert named in result.output and len(result.output.strip().splitlines()) == 1


def test_a_table_that_does_not_exist_is_a_config_error_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with aws_settings(tmp_path / "home", monkeypatch):
        _aws_env(monkeypatch, table="no-such-table")
        result = _invoke("tickets", "--json")
    assert result.exit_code == 2
    assert "no-such-table" in result.output and "not found" in result.output


def test_access_denied_is_a_backend_error_naming_the_iam_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    from docloop import registry
    from docloop.errors import PermanentError

    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        records = registry.build_records(settings)
        denied = ClientError({"Error": {"Code": "AccessDeniedException",
                                        "Message": "not authorized to perform: dynamodb:Query"}},
                             "Query")

        def refuse(**kwargs: object) -> None:
            raise denied

        monkeypatch.setattr(records.clients.table, "query", refuse)  # type: ignore[attr-defined]
        with pytest.raises(PermanentError, match=r"access denied to DynamoDB table .* IAM"):
            records.all()


def test_dry_run_is_refused_on_dynamodb_without_touching_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with aws_settings(tmp_path / "home", monkeypatch):
        _aws_env(monkeypatch)
        result = _invoke("run", "--source", f"discord-export:{EXAMPLE / 'discord'}",
                         "--since", "all", "--dry-run", "--tracker", "none")
    assert result.exit_code == 2 and "--dry-run" in result.output


# -- what only a store shared by several writers (Lambdas) must add -------------------------

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _ticket() -> TicketRecord:
    return TicketRecord(id="DL-1", tracker="linear", external_id="uuid-1", insight_id="ins-1",
                        title="CORS", created_at=NOW, updated_at=NOW)


def test_a_status_change_racing_another_writer_is_applied_exactly_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two webhook Lambdas apply the same change: one wins, the other re-reads and sees it."""
    from docloop import registry

    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        first, second = registry.build_records(settings), registry.build_records(settings)
        first.put(_ticket())
        stale_load = first._load  # type: ignore[attr-defined]
        raced: list[bool] = []

        def load_then_lose_the_race(ticket_id: str) -> object:
            loaded = stale_load(ticket_id)
            if not raced:  # the other writer commits between our read and our write
                raced.append(second.set_status("DL-1", "done", NOW, "linear-webhook"))
            return loaded

        monkeypatch.setattr(first, "_load", load_then_lose_the_race)
        assert not first.set_status("DL-1", "done", NOW, "linear-webhook")
        assert raced == [True]
        record = second.get("DL-1")
        assert record is not None and record.status == "done"
        assert [c.status for c in record.history] == ["open", "done"]


def test_an_atomic_block_that_lost_a_race_writes_nothing_and_says_retry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from docloop import registry

    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        first, second = registry.build_records(settings), registry.build_records(settings)
        first.put(_ticket())
        with pytest.raises(TransientError, match="retry"), first.atomic():
            assert first.claim_delivery("d-1", NOW)
            assert first.set_status("DL-1", "in_progress", NOW, "linear-webhook")
            second.set_status("DL-1", "canceled", NOW, "tickets-sync")  # commits first
        record = second.get("DL-1")
        assert record is not None and record.status == "canceled"
        assert second.claim_delivery("d-1", NOW)  # the losing block claimed nothing


def test_deliveries_carry_the_ttl_the_table_expires_them_by(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from docloop import registry
    from docloop.aws.dynamodb_layout import DELIVERY_TTL_S, TTL_ATTRIBUTE

    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        assert registry.build_records(settings).claim_delivery("d-1", NOW)
        table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
        item = table.get_item(Key={"pk": "DELIVERY#d-1", "sk": "-"})["Item"]
        assert int(item[TTL_ATTRIBUTE]) == int(NOW.timestamp()) + DELIVERY_TTL_S
        ttl = boto3.client("dynamodb", region_name=REGION).describe_time_to_live(
            TableName=TABLE)["TimeToLiveDescription"]
        assert ttl["AttributeName"] == TTL_ATTRIBUTE


def test_vectors_go_in_batches_past_the_api_limits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """250 vectors: 10 BatchWriteItem requests of 25, then 3 BatchGetItem requests of 100."""
    from docloop import registry

    with aws_settings(tmp_path / "home", monkeypatch) as settings, \
            registry.open_stores(settings) as stores:
        rng = np.random.default_rng(0)
        vectors = {f"k{i}": rng.random(384).astype(np.float32) for i in range(250)}
        stores.embedding_cache.store("minilm", vectors)
        found = stores.embedding_cache.lookup("minilm", set(vectors) | {"absent"}, 384)
        assert sorted(found) == sorted(vectors)
        assert all(np.array_equal(found[k], vectors[k]) for k in vectors)
        assert stores.embedding_cache.stored_dim("minilm") == 384


def test_messages_are_found_by_id_from_the_day_their_snowflake_encodes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from docloop import registry

    snowflake = str(((int(NOW.timestamp() * 1000) - 1_420_070_400_000) << 22) + 7)
    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        with registry.open_stores(settings) as stores:
            stores.messages.upsert([
                Message(id=snowflake, channel_id="c1", author_id="a", content="today",
                        timestamp=NOW),
                Message(id="not-a-snowflake", channel_id="c2", author_id="a", content="old",
                        timestamp=NOW - timedelta(days=400))])
        with registry.open_stores(settings) as fresh:  # a new Lambda: nothing in memory
            assert [m.content for m in fresh.messages.get([snowflake])] == ["today"]
            loaded = fresh.messages._parts  # type: ignore[attr-defined]
            assert list(loaded) == [f"{NOW.date().isoformat()}#c1"]  # one object read
            assert [m.id for m in fresh.messages.get(["not-a-snowflake", snowflake])] == [
                "not-a-snowflake", snowflake]
            assert fresh.messages.count() == 2


def test_s3_messages_keep_mentions_and_a_reimport_fills_them_as_sqlite_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A message stored before docloop kept mentions (none stored) takes a copy's; the
    outline carries them to grouping, as the SQLite store's does."""
    from docloop import registry

    def message(mentions: list[str]) -> Message:
        return Message(id="m1", channel_id="c1", author_id="a", content="@b try this",
                       timestamp=NOW, mentions=mentions)

    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        with registry.open_stores(settings) as stores:
            stores.messages.upsert([message([])])
        with registry.open_stores(settings) as stores:
            assert stores.messages.upsert([message(["b"])]) == 0
            assert stores.messages.upsert([message(["c"])]) == 0  # only an edit changes them
        with registry.open_stores(settings) as fresh:
            assert fresh.messages.get(["m1"])[0].mentions == ["b"]
            assert [o.mentions for o in fresh.messages.outline(None)] == [("b",)]


def _signed(payload: dict[str, Any], delivery: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    signature = hmac.new(b"whsec-test", body, hashlib.sha256).hexdigest()
    return body, {"Linear-Signature": signature, "Linear-Delivery": delivery,
                  "Linear-Event": "Issue"}


def _state_change(state_type: str, name: str, created: datetime) -> dict[str, Any]:
    return {"type": "Issue", "action": "update", "createdAt": created.isoformat(),
            "webhookTimestamp": int(NOW.timestamp() * 1000),
            "data": {"id": "uuid-1", "state": {"type": state_type, "name": name}},
            "updatedFrom": {"stateId": "previous-state"}}


def test_the_webhook_receiver_on_dynamodb_applies_once_and_keeps_source_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the webhook Lambda calls it: a change, its replay, then a late older change."""
    from contextlib import closing

    from docloop import registry
    from docloop.webhook_receiver import receive_linear_webhook

    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        registry.build_records(settings).put(_ticket())

        def deliver(payload: dict[str, Any], delivery: str) -> dict[str, Any]:
            body, headers = _signed(payload, delivery)
            reply = receive_linear_webhook(body, headers, NOW, "whsec-test",
                                           lambda: closing(registry.build_records(settings)))
            assert reply.status == 200, reply.body
            return reply.body

        done = _state_change("completed", "Done", NOW - timedelta(seconds=5))
        assert deliver(done, "d-1")["status"] == "applied"
        assert deliver(done, "d-1")["status"] == "duplicate"
        late = _state_change("started", "In Progress", NOW - timedelta(minutes=5))
        assert deliver(late, "d-2")["status"] == "ignored"
        record = registry.build_records(settings).get("DL-1")
        assert record is not None and record.status == "done"
        assert [(c.status, c.applied) for c in record.history] == [
            ("open", True), ("done", True), ("in_progress", False)]


def test_docloop_serve_on_dynamodb_answers_each_delivery_on_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The delivery writer is SQLite's; on DynamoDB the app applies each delivery through
    a record store of its own (one conditional write claims it)."""
    from starlette.testclient import TestClient

    from docloop import registry
    from docloop.web.app import create_app

    with aws_settings(tmp_path / "home", monkeypatch,
                      linear_webhook_secret="whsec-test") as settings:
        registry.build_records(settings).put(_ticket())
        client = TestClient(create_app(settings, now=lambda: NOW))
        done = _state_change("completed", "Done", NOW - timedelta(seconds=5))
        answers = []
        for _ in range(2):
            body, headers = _signed(done, "d-1")
            answers.append(client.post("/webhooks/linear", content=body, headers=headers))
        assert [(a.status_code, a.json()["status"]) for a in answers] == [
            (200, "applied"), (200, "duplicate")]
        record = registry.build_records(settings).get("DL-1")
        assert record is not None and record.status == "done"
        assert not (tmp_path / "home" / "docloop.db").exists()  # no SQLite writer opened
