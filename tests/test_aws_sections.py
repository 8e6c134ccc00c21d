"""The DynamoDB record store's tickets-by-section pointers (moto).

`on_section` is read every time a ticket is filed or updated; on DynamoDB it
must read the section's tickets, not every ticket. These tests hold the
pointer items to the record they point from (one section per ticket, moves
included), the answers to the base implementation's (a full read, filtered),
and tables written before the pointers existed to a one-time backfill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from docloop import registry
from docloop.aws.dynamodb_records import (
    SECTION_INDEX,
    SECTION_PREFIX,
    DynamoRecordStore,
    section_pk,
)
from docloop.backends.records.base import RecordStore
from docloop.models import TicketRecord
from tests.aws_support import REGION, TABLE, aws_settings

pytestmark = pytest.mark.aws
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CORS = "https://docs.example/guide/cors/#allowed-origins"
AUTH = "https://docs.example/guide/auth/#tokens"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoRecordStore]:
    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        records = registry.build_records(settings)
        assert isinstance(records, DynamoRecordStore)
        yield records


def _ticket(number: int, doc_url: str | None, minutes: int = 0, **extra: Any) -> TicketRecord:
    return TicketRecord(id=f"DL-{number}", tracker="linear", external_id=f"uuid-{number}",
                        insight_id=f"ins-{number}", title=f"problem {number}", doc_url=doc_url,
                        created_at=NOW, updated_at=NOW + timedelta(minutes=minutes), **extra)


def _section_items() -> dict[str, set[str]]:
    """The pointer items in the table: ticket ids by section partition."""
    import boto3

    table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    found: dict[str, set[str]] = {}
    for item in table.scan()["Items"]:
        if str(item["pk"]).startswith(SECTION_PREFIX):
            assert item["ticket_id"] == item["sk"]
            found.setdefault(str(item["pk"]), set()).add(str(item["sk"]))
    return found


# -- the pointers follow the record -------------------------------------------------------

def test_a_ticket_on_a_section_has_one_pointer_under_it(store: DynamoRecordStore) -> None:
    store.put(_ticket(1, CORS))
    store.put(_ticket(2, CORS))
    store.set_status("DL-1", "done", NOW, "test")  # a rewrite keeps the one pointer
    assert _section_items() == {section_pk(CORS): {"DL-1", "DL-2"}}


def test_a_ticket_without_a_section_has_no_pointer(store: DynamoRecordStore) -> None:
    store.put(_ticket(1, None))
    store.put(_ticket(2, ""))
    assert _section_items() == {}


def test_a_moved_ticket_is_listed_under_its_new_section_only(store: DynamoRecordStore) -> None:
    store.put(_ticket(1, CORS))
    store.put(_ticket(1, AUTH))
    assert _section_items() == {section_pk(AUTH): {"DL-1"}}
    store.put(_ticket(1, None))  # moved off every section
    assert _section_items() == {}


@pytest.mark.parametrize("path", [[CORS, AUTH, CORS], [CORS, AUTH, CORS + "-2"]])
def test_moves_inside_one_atomic_block_leave_the_last_section_only(
        store: DynamoRecordStore, path: list[str]) -> None:
    """A transaction may name an item once: the block keeps each key's last action."""
    store.put(_ticket(1, "https://docs.example/start/"))
    with store.atomic():
        for url in path:
            store.put(_ticket(1, url))
    assert _section_items() == {section_pk(path[-1]): {"DL-1"}}


def test_a_failed_atomic_block_moves_nothing(store: DynamoRecordStore) -> None:
    store.put(_ticket(1, CORS))
    with pytest.raises(RuntimeError), store.atomic():
        store.put(_ticket(1, AUTH))
        raise RuntimeError("crash between writes")
    assert _section_items() == {section_pk(CORS): {"DL-1"}}


def test_a_url_longer_than_a_partition_key_may_be_still_works(
        store: DynamoRecordStore) -> None:
    """A partition key is capped at 2,048 bytes; the section's is the URL's hash."""
    long_url = "https://docs.example/guide/" + "é" * 3000 + "#anchor"
    store.put(_ticket(1, long_url))
    [partition] = _section_items()
    assert len(partition.encode()) < 100
    assert partition == section_pk(long_url) != section_pk(long_url + "x")


# -- on_section answers as the full read did ------------------------------------------------

def _full_read(store: DynamoRecordStore, doc_url: str) -> list[TicketRecord]:
    """The base implementation's answer: every ticket read, filtered by section."""
    return RecordStore.on_section(store, doc_url)


def test_on_section_answers_as_the_full_read_does(store: DynamoRecordStore) -> None:
    """Same records, both answers: moved tickets, tickets without a section, equal update
    times (ordered by id), status changes after filing."""
    for number, url in enumerate([CORS, AUTH, CORS, None, "", CORS, AUTH]):
        store.put(_ticket(number, url, minutes=number % 3))
    store.put(_ticket(0, AUTH, minutes=5))  # moved from CORS
    store.put(_ticket(3, CORS, minutes=2))  # given a section, updated when DL-5 was
    store.put(_ticket(6, None))  # moved off its section
    store.set_status("DL-2", "done", NOW + timedelta(minutes=9), "test")
    for url in (CORS, AUTH, "", CORS + "-2"):
        assert store.on_section(url) == _full_read(store, url), url
    assert [r.id for r in store.on_section(CORS)] == ["DL-2", "DL-3", "DL-5"]
    assert [r.id for r in store.on_section(AUTH)] == ["DL-0", "DL-1"]
    assert [r.id for r in store.on_section("")] == ["DL-4"]


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The partitions the record store queries, in order, and the items it gets by key
    (as `get:<pk>`)."""
    from docloop.aws import dynamodb_records

    partitions: list[str] = []
    original_query, original_get = dynamodb_records.query, dynamodb_records.get

    def counted(clients: Any, pk: str, *args: Any, **kwargs: Any) -> Any:
        partitions.append(pk)
        return original_query(clients, pk, *args, **kwargs)

    def counted_get(clients: Any, pk: str, *args: Any, **kwargs: Any) -> Any:
        partitions.append(f"get:{pk}")
        return original_get(clients, pk, *args, **kwargs)

    monkeypatch.setattr(dynamodb_records, "query", counted)
    monkeypatch.setattr(dynamodb_records, "get", counted_get)
    return partitions


def test_on_section_reads_the_section_not_every_ticket(
        store: DynamoRecordStore, monkeypatch: pytest.MonkeyPatch) -> None:
    for number in range(30):
        store.put(_ticket(number, CORS if number < 2 else AUTH))
    store.on_section(AUTH)  # the table's first: checks the marker once
    partitions = _count_reads(monkeypatch)
    assert [r.id for r in store.on_section(CORS)] == ["DL-0", "DL-1"]
    assert partitions == [section_pk(CORS)]


# -- tables written before the pointers ---------------------------------------------------

def _as_the_old_code_left_it() -> None:
    """Delete every section pointer and the marker: the table as written before them."""
    import boto3

    table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    for item in table.scan()["Items"]:
        if str(item["pk"]).startswith(SECTION_PREFIX) or item["pk"] == SECTION_INDEX:
            table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


def test_an_old_table_is_backfilled_once_and_then_read_by_section(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        old = registry.build_records(settings)
        for number, url in enumerate([CORS, AUTH, CORS, None, ""]):
            old.put(_ticket(number, url, minutes=number))
        _as_the_old_code_left_it()
        assert _section_items() == {}
        partitions = _count_reads(monkeypatch)
        first = registry.build_records(settings)
        assert [r.id for r in first.on_section(CORS)] == ["DL-2", "DL-0"]
        assert partitions.count("TICKET") == 1  # the backfill's one read of every ticket
        assert partitions.count(f"get:{SECTION_INDEX}") == 1
        assert _section_items() == {section_pk(CORS): {"DL-0", "DL-2"},
                                    section_pk(AUTH): {"DL-1"}}
        assert [r.id for r in first.on_section(AUTH)] == ["DL-1"]
        assert partitions.count(f"get:{SECTION_INDEX}") == 1  # a store reads it once
        again = registry.build_records(settings)  # another Lambda: the marker says done
        assert [r.id for r in again.on_section(CORS)] == ["DL-2", "DL-0"]
        assert partitions.count("TICKET") == 1
        assert partitions.count(f"get:{SECTION_INDEX}") == 2  # one GetItem, never a query
        assert partitions.count(SECTION_INDEX) == 0


def _backfill_dies(settings: Any, monkeypatch: pytest.MonkeyPatch,
                   at: Callable[[dict[str, Any]], bool]) -> None:
    """Three tickets on CORS in a table from before the pointers, then a Lambda whose
    backfill dies at the first batch holding an item `at` picks (a timeout)."""
    from docloop.aws import dynamodb_records
    from docloop.errors import TransientError

    writer = registry.build_records(settings)
    for number in range(3):
        writer.put(_ticket(number, CORS, minutes=number))
    _as_the_old_code_left_it()
    original = dynamodb_records.batch_put

    def dying(clients: Any, items: Any) -> None:
        items = list(items)
        if any(at(item) for item in items):
            raise TransientError("the Lambda timed out")
        original(clients, items)

    monkeypatch.setattr(dynamodb_records, "batch_put", dying)
    with pytest.raises(TransientError):
        registry.build_records(settings).on_section(CORS)
    monkeypatch.setattr(dynamodb_records, "batch_put", original)


def test_a_backfill_cut_short_is_done_again_and_two_at_once_agree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The marker is written last: a Lambda that dies before it leaves the next one the
    whole backfill to do, and puts of the same pointers are harmless twice."""
    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        _backfill_dies(settings, monkeypatch, at=lambda item: item["pk"] == SECTION_INDEX)
        one, other = registry.build_records(settings), registry.build_records(settings)
        assert [r.id for r in one.on_section(CORS)] == ["DL-2", "DL-1", "DL-0"]
        _drop_marker()  # the other Lambda read no marker either
        assert other.on_section(CORS) == one.on_section(CORS)
        assert _section_items() == {section_pk(CORS): {"DL-0", "DL-1", "DL-2"}}


def test_a_backfill_that_dies_among_the_pointers_leaves_no_marker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The marker follows the pointers: written first, a Lambda dying among the pointer
    writes would leave sections unlisted for good."""
    with aws_settings(tmp_path / "home", monkeypatch) as settings:
        _backfill_dies(settings, monkeypatch,
                       at=lambda item: str(item["pk"]).startswith(SECTION_PREFIX))
        assert _marker_absent()
        assert [r.id for r in registry.build_records(settings).on_section(CORS)] == [
            "DL-2", "DL-1", "DL-0"]


def _marker_absent() -> bool:
    import boto3

    table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    return "Item" not in table.get_item(Key={"pk": SECTION_INDEX, "sk": "-"})


def _drop_marker() -> None:
    import boto3

    boto3.resource("dynamodb", region_name=REGION).Table(TABLE).delete_item(
        Key={"pk": SECTION_INDEX, "sk": "-"})


def test_a_pointer_left_under_a_section_the_ticket_left_is_not_listed(
        store: DynamoRecordStore) -> None:
    """A backfill that read a ticket before it moved writes its old section's pointer
    after the move: the record, read anyway, says where it is."""
    import boto3

    store.put(_ticket(1, AUTH))
    boto3.resource("dynamodb", region_name=REGION).Table(TABLE).put_item(
        Item={"pk": section_pk(CORS), "sk": "DL-1", "ticket_id": "DL-1"})
    assert store.on_section(CORS) == [] == _full_read(store, CORS)


def test_filing_a_ticket_reads_its_section_not_every_ticket(
        store: DynamoRecordStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file stage's related tickets, on DynamoDB, come from the section's pointers."""
    from docloop.backends.trackers.local import LocalTracker
    from docloop.stages.file import file_insight
    from tests.helpers import insight

    tracker = LocalTracker(tmp_path / "outbox")
    first = file_insight(insight("ins_a"), tracker, store, NOW)
    for number in range(10):  # tickets on other pages
        file_insight(insight(f"ins_{number}", path=f"guide/page{number}.md"), tracker, store,
                     NOW)
    partitions = _count_reads(monkeypatch)
    second = file_insight(insight("ins_b", messages=("3", "4"), conversations=("3", "4")),
                          tracker, DynamoRecordStore(store.clients), NOW)
    assert second.action == "created" and second.related == [first.id]
    assert "TICKET" not in partitions
    assert partitions.count(section_pk("https://docs.example/guide/cors.md")) == 1


# -- BatchGetItem's unprocessed keys (the section's tickets are read by it) ---------------

def _unprocessed_first(store: DynamoRecordStore, monkeypatch: pytest.MonkeyPatch,
                       rounds_throttled: int) -> list[int]:
    """Make BatchGetItem leave every key but the first (the last one too) unprocessed for
    `rounds_throttled` rounds, as DynamoDB does when throttled; returns the key counts
    asked each round."""
    client = store.clients.table.meta.client
    real = client.batch_get_item
    asked: list[int] = []

    def throttled(RequestItems: dict[str, Any]) -> dict[str, Any]:
        (table, request), = RequestItems.items()
        asked.append(len(request["Keys"]))
        if len(asked) > rounds_throttled:
            return real(RequestItems=RequestItems)
        keys = request["Keys"]
        done = keys[:1] if len(keys) > 1 else []  # the last key stays unprocessed
        answer = real(RequestItems={table: {**request, "Keys": done}}) if done else {}
        answer["UnprocessedKeys"] = {table: {**request, "Keys": keys[len(done):]}}
        return answer

    monkeypatch.setattr(client, "batch_get_item", throttled)
    return asked


def test_unprocessed_keys_are_asked_again_after_a_backoff(
        store: DynamoRecordStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from docloop.aws import dynamodb_io

    for number in range(4):
        store.put(_ticket(number, CORS, minutes=number))
    store.on_section(CORS)  # the marker read, before the client is throttled
    slept: list[float] = []
    monkeypatch.setattr(dynamodb_io.time, "sleep", slept.append)
    asked = _unprocessed_first(store, monkeypatch, rounds_throttled=2)
    assert [r.id for r in store.on_section(CORS)] == ["DL-3", "DL-2", "DL-1", "DL-0"]
    assert asked == [4, 3, 2]  # each round asks only what the last left unprocessed
    assert len(slept) == 2 and 0 < slept[0] <= slept[1] * 2


def test_keys_left_unprocessed_round_after_round_are_a_transient_error(
        store: DynamoRecordStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from docloop.aws import dynamodb_io
    from docloop.errors import TransientError

    for number in range(3):
        store.put(_ticket(number, CORS, minutes=number))
    store.on_section(CORS)
    monkeypatch.setattr(dynamodb_io.time, "sleep", lambda seconds: None)
    asked = _unprocessed_first(store, monkeypatch, rounds_throttled=10_000)
    with pytest.raises(TransientError, match="unprocessed after"):
        store.on_section(CORS)
    assert len(asked) == dynamodb_io.UNPROCESSED_ROUNDS
