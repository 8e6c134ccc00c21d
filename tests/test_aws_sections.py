"""The DynamoDB record store's tickets-by-section pointers (moto).

`on_section` is read every time a ticket is filed or updated; on DynamoDB it
must read the section's tickets, not every ticket. These tests hold the
pointer items to the record they point from (one section per ticket, moves
included), the answers to the base implementation's (a full read, filtered),
and tables written before the pointers existed to a one-time backfill.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from docloop import registry
from docloop.aws.dynamodb_records import SECTION_PREFIX, DynamoRecordStore, section_pk
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
