"""Ticket records, status history and webhook deliveries in the DynamoDB table.

A ticket is one item holding the whole `TicketRecord` with its history
(compressed JSON) and a `version`; every write is conditional on the
version it read, so two writers (a webhook and `tickets sync`, two webhook
Lambdas) never lose each other's change: the loser reads again and
re-decides, and a status change is applied exactly once. Pointer items
find a ticket by insight fingerprint, by tracker id and by docs section,
written in the same transaction as the ticket. A ticket is listed under one
section only: a write that changes its `doc_url` deletes the old section's
pointer in that transaction, decided from the version it read, so the
version lock orders moves as it orders every other change. A delivery id is
a conditional put with a TTL.

`atomic()` gathers the block's writes and commits them as one
TransactWriteItems at its end (reads inside it see the gathered writes);
when another writer got in between, the block fails with a `TransientError`
and nothing of it is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from docloop.aws.clients import AWSClients
from docloop.aws.dynamodb_io import (
    Conflict,
    Item,
    batch_get,
    batch_put,
    get,
    pack,
    put_new,
    query,
    transact,
    unpack,
)
from docloop.aws.dynamodb_layout import DELIVERY_TTL_S, PK, SK, TTL_ATTRIBUTE
from docloop.backends.records.base import RecordStore
from docloop.config import Settings
from docloop.errors import TransientError
from docloop.models import Status, StatusChange, TicketRecord

TICKETS = "TICKET"
#: the partition key prefix of the ticket-by-section pointers (`section_pk`)
SECTION_PREFIX = "TICKET_ON#"
#: the marker item (pk; sk `-`) saying the section pointers were backfilled, and the
#: version of them it vouches for (raise it to have every table backfilled again)
SECTION_INDEX, SECTION_INDEX_VERSION = "SECTION_INDEX", 1
#: times a write re-reads and re-decides after losing a race to another writer
CONFLICT_ATTEMPTS = 5


@dataclass
class _Stored:
    record: TicketRecord
    version: int


class DynamoRecordStore(RecordStore):
    """RecordStore over the docloop table (see dynamodb_layout for the items)."""

    def __init__(self, clients: AWSClients) -> None:
        self.clients = clients
        self._pending: dict[tuple[str, str], Item] | None = None
        #: the table's marker says every ticket has its section pointer (read once)
        self._section_indexed = False

    @classmethod
    def from_settings(cls, settings: Settings, clients: AWSClients | None = None,
                      **deps: Any) -> DynamoRecordStore:
        return cls(clients or AWSClients.from_settings(settings))

    def get(self, ticket_id: str) -> TicketRecord | None:
        stored = self._load(ticket_id)
        return stored.record if stored else None

    def by_insight(self, insight_id: str) -> TicketRecord | None:
        for pointer in query(self.clients, f"TICKET_OF#{insight_id}", newest_first=True):
            record = self.get(pointer["ticket_id"])
            if record is not None and record.insight_id == insight_id:
                return record
        return None

    def by_external(self, tracker: str, external_id: str) -> TicketRecord | None:
        pointer = get(self.clients, f"TICKET_AT#{tracker}#{external_id}")
        record = self.get(pointer["ticket_id"]) if pointer else None
        if record is None or (record.tracker, record.external_id) != (tracker, external_id):
            return None
        return record

    def put(self, record: TicketRecord) -> None:
        def change(current: TicketRecord | None) -> TicketRecord:
            history = current.history if current and current.history else [StatusChange(
                status=record.status, at=record.created_at, source="docloop",
                note="ticket filed")]
            return record.model_copy(update={"history": history})

        self._change(record.id, change)

    def all(self) -> list[TicketRecord]:
        records = {item[SK]: _record(item) for item in query(self.clients, TICKETS)}
        return _newest_first(records | self._pending_tickets())

    def on_section(self, doc_url: str) -> list[TicketRecord]:
        """The section's pointers, then its tickets in one batch read: what the file
        stage reads per ticket grows with the section, not with the table."""
        if not doc_url:  # no section, so no pointer: only the full read can answer
            return super().on_section(doc_url)
        self._ensure_section_index()
        pointed = [(TICKETS, p["ticket_id"]) for p in query(self.clients, section_pk(doc_url))]
        records = {item[SK]: _record(item) for item in batch_get(self.clients, pointed)}
        records |= self._pending_tickets()
        # a pointer the backfill wrote from a read older than a move is left behind
        # (`_ensure_section_index`): the record itself decides
        return _newest_first({ticket_id: record for ticket_id, record in records.items()
                              if record.doc_url == doc_url})

    def set_status(self, ticket_id: str, status: Status, at: datetime, source: str,
                   note: str = "", changed_at: datetime | None = None) -> bool:
        entry = StatusChange(status=status, at=at, source=source, note=note,
                             changed_at=changed_at or at)

        def change(current: TicketRecord | None) -> TicketRecord | None:
            if current is None or current.status == status:
                return None
            return current.model_copy(update={"status": status, "updated_at": at,
                                              "history": [*current.history, entry]})

        return self._change(ticket_id, change)

    def note_ignored(self, ticket_id: str, status: Status, at: datetime, source: str,
                     note: str, changed_at: datetime) -> None:
        entry = StatusChange(status=status, at=at, source=source, note=note,
                             changed_at=changed_at, applied=False)

        def change(current: TicketRecord | None) -> TicketRecord | None:
            if current is None:
                return None
            return current.model_copy(update={"history": [*current.history, entry]})

        self._change(ticket_id, change)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        if self._pending is not None:  # joins the enclosing block
            yield
            return
        self._pending = {}
        try:
            yield
            actions = list(self._pending.values())
        finally:
            self._pending = None
        try:
            transact(self.clients, actions)
        except Conflict:
            raise TransientError("another writer changed these tickets meanwhile; nothing "
                                 "of this change was written, retry it") from None

    def claim_delivery(self, delivery_id: str, at: datetime) -> bool:
        key = (f"DELIVERY#{delivery_id}", "-")
        item = {PK: key[0], SK: key[1], "received_at": at.isoformat(),
                TTL_ATTRIBUTE: int(at.timestamp()) + DELIVERY_TTL_S}
        if self._pending is None:
            return put_new(self.clients, item)
        if key in self._pending or get(self.clients, *key) is not None:
            return False
        self._pending[key] = {"Put": {"Item": item,
                                      "ConditionExpression": "attribute_not_exists(pk)"}}
        return True

    def _ensure_section_index(self) -> None:
        """Give every ticket its section pointer once, on a table written before they
        existed (no marker item): `on_section` must not answer "none" for old tickets.

        The tickets are the `TICKET` partition, read by Query (no Scan, so no IAM
        action beyond the functions' own); the pointers are plain puts and the marker
        follows them, so two Lambdas doing this at once, or one crashing half-way,
        write the same items again and nothing is lost. A ticket moved while this
        runs may keep a pointer under the section it left; `on_section` checks each
        record's own `doc_url`, so it is read, never listed.
        """
        if self._section_indexed:
            return
        marker = get(self.clients, SECTION_INDEX)
        if marker is None or int(marker["version"]) < SECTION_INDEX_VERSION:
            batch_put(self.clients, (
                _section_item(record.doc_url, record.id)
                for record in map(_record, query(self.clients, TICKETS)) if record.doc_url))
            batch_put(self.clients, [{PK: SECTION_INDEX, SK: "-",
                                      "version": SECTION_INDEX_VERSION}])
        self._section_indexed = True

    def _pending_tickets(self) -> dict[str, TicketRecord]:
        """The tickets this atomic block has written so far, by id: a read inside the
        block must see them (they are committed only at its end)."""
        return {sk: _record(action["Put"]["Item"])
                for (pk, sk), action in (self._pending or {}).items() if pk == TICKETS}

    def _load(self, ticket_id: str) -> _Stored | None:
        key = (TICKETS, ticket_id)
        if self._pending is not None and key in self._pending:
            item = self._pending[key]["Put"]["Item"]
        else:
            found = get(self.clients, *key)
            if found is None:
                return None
            item = found
        return _Stored(_record(item), int(item["version"]))

    def _change(self, ticket_id: str, change: Any) -> bool:
        """Apply `change(current) -> new record | None (no change)` under the version lock."""
        for _ in range(CONFLICT_ATTEMPTS):
            stored = self._load(ticket_id)
            new = change(stored.record if stored else None)
            if new is None:
                return False
            try:
                self._write(new, stored.version if stored else 0,
                            stored.record if stored else None)
            except Conflict:
                continue
            return True
        raise TransientError(f"ticket {ticket_id} kept changing under {CONFLICT_ATTEMPTS} "
                             "attempts to update it; retry")

    def _write(self, record: TicketRecord, read_version: int,
               previous: TicketRecord | None = None) -> None:
        actions = [_put_ticket(record, read_version), *_pointers(record, previous)]
        if self._pending is None:
            transact(self.clients, actions)
            return
        for action in actions:
            key = _action_key(action)
            earlier = self._pending.get(key)
            if earlier is not None and "ConditionExpression" in earlier.get("Put", {}):
                item = action["Put"]
                # the block's first read decides: keep its condition, bump from it
                item["Item"]["version"] = read_version + 1
                for name in ("ConditionExpression", "ExpressionAttributeValues"):
                    if name in earlier["Put"]:
                        item[name] = earlier["Put"][name]
                    else:
                        item.pop(name, None)
            self._pending[key] = action


def _put_ticket(record: TicketRecord, read_version: int) -> Item:
    item = {PK: TICKETS, SK: record.id, "version": read_version + 1,
            "body": pack(record.model_dump_json()), "status": record.status,
            "insight_id": record.insight_id, "updated_at": record.updated_at.isoformat()}
    if read_version == 0:
        return {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
    return {"Put": {"Item": item, "ConditionExpression": "version = :read",
                    "ExpressionAttributeValues": {":read": read_version}}}


def _pointers(record: TicketRecord, previous: TicketRecord | None = None) -> list[Item]:
    """The pointer writes of a ticket write: by insight, tracker id and section, and the
    delete of the section it left (`previous` is the version the write read)."""
    pointers = [{PK: f"TICKET_OF#{record.insight_id}",
                 SK: f"{record.created_at.isoformat()}#{record.id}", "ticket_id": record.id}]
    if record.external_id:
        pointers.append({PK: f"TICKET_AT#{record.tracker}#{record.external_id}", SK: "-",
                         "ticket_id": record.id})
    if record.doc_url:
        pointers.append(_section_item(record.doc_url, record.id))
    actions: list[Item] = [{"Put": {"Item": p}} for p in pointers]
    if previous is not None and previous.doc_url and previous.doc_url != record.doc_url:
        actions.append({"Delete": {"Key": {PK: section_pk(previous.doc_url),
                                           SK: record.id}}})
    return actions


def section_pk(doc_url: str) -> str:
    """The partition of a docs section's pointers: the URL hashed, because a partition
    key is capped at 2,048 bytes and a URL is not (one rule for every length, so no URL
    has two keys and the key of a URL near the cap need not be worked out)."""
    return f"{SECTION_PREFIX}{hashlib.sha256(doc_url.encode('utf-8')).hexdigest()}"


def _section_item(doc_url: str, ticket_id: str) -> Item:
    return {PK: section_pk(doc_url), SK: ticket_id, "ticket_id": ticket_id}


def _action_key(action: Item) -> tuple[str, str]:
    """The (pk, sk) a transaction action writes: two actions on one item in a block are
    one (a transaction may not name an item twice), the later replacing the earlier."""
    if "Put" in action:
        item = action["Put"]["Item"]
        return item[PK], item[SK]
    found = action["Delete"]["Key"]
    return found[PK], found[SK]


def _newest_first(records: dict[str, TicketRecord]) -> list[TicketRecord]:
    """Newest update first, ties by id (the order SQLite's `ORDER BY updated_at DESC, id`
    gives, so both stores answer alike)."""
    by_id = sorted(records.values(), key=lambda r: r.id)
    return sorted(by_id, key=lambda r: r.updated_at.isoformat(), reverse=True)


def _record(item: Item) -> TicketRecord:
    return TicketRecord.model_validate_json(unpack(item["body"]))
