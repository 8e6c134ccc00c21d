"""Review decisions and the Discord reply outbox in the DynamoDB table.

Items (pk | sk):

- review: `REVIEW` | insight id: `body` (B, zlib JSON of the ReviewRecord)
- decision: `DECISION#<insight id>` | `<write time ns, 20 digits>-<random>`:
  `body` (JSON of the Decision); the sort key keeps the log in write order
- reply: `REPLY` | reply id: `body` (B, zlib JSON of the Reply), `ticket_id`,
  `insight_id`, `state`

`atomic()` buffers the review puts and decision appends of its block and
writes them in one TransactWriteItems at its end (nothing when the block
raises), as the record store does; reads inside the block see the table as
it was. Replies are few (one per conversation of a done ticket), so they are
listed by reading the `REPLY` partition and filtering.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from docloop.aws.clients import AWSClients
from docloop.aws.dynamodb_io import Item, batch_put, get, pack, put_new, query, transact, unpack
from docloop.aws.dynamodb_layout import PK, SK
from docloop.config import Settings
from docloop.models import Decision, Reply, ReviewRecord

REVIEWS, REPLIES = "REVIEW", "REPLY"


def _decisions(insight_id: str) -> str:
    return f"DECISION#{insight_id}"


class DynamoReviewStore:
    """A `ReviewStore` over the docloop table."""

    def __init__(self, clients: AWSClients) -> None:
        self.clients = clients
        self._pending: list[Item] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, clients: AWSClients | None = None,
                      **deps: Any) -> DynamoReviewStore:
        return cls(clients or AWSClients.from_settings(settings))

    def get(self, insight_id: str) -> ReviewRecord | None:
        item = get(self.clients, REVIEWS, insight_id)
        return ReviewRecord.model_validate_json(unpack(item["body"])) if item else None

    def all(self) -> dict[str, ReviewRecord]:
        return {str(item[SK]): ReviewRecord.model_validate_json(unpack(item["body"]))
                for item in query(self.clients, REVIEWS)}

    def put(self, record: ReviewRecord) -> None:
        self._write({PK: REVIEWS, SK: record.insight_id,
                     "body": pack(record.model_dump_json())})

    def log(self, decision: Decision) -> None:
        order = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        self._write({PK: _decisions(decision.insight_id), SK: order,
                     "body": decision.model_dump_json()})

    def decisions(self, insight_id: str) -> list[Decision]:
        return [Decision.model_validate_json(str(item["body"]))
                for item in query(self.clients, _decisions(insight_id))]

    @contextmanager
    def atomic(self) -> Iterator[None]:
        if self._pending is not None:  # joins the enclosing block
            yield
            return
        self._pending = []
        try:
            yield
            actions = [{"Put": {"Item": item}} for item in self._pending]
        finally:
            self._pending = None
        transact(self.clients, actions)

    def _write(self, item: Item) -> None:
        if self._pending is not None:
            self._pending.append(item)
        else:
            batch_put(self.clients, [item])


class DynamoReplyOutbox:
    """A `ReplyOutbox` over the docloop table."""

    def __init__(self, clients: AWSClients) -> None:
        self.clients = clients

    @classmethod
    def from_settings(cls, settings: Settings, clients: AWSClients | None = None,
                      **deps: Any) -> DynamoReplyOutbox:
        return cls(clients or AWSClients.from_settings(settings))

    def add(self, replies: Iterable[Reply]) -> int:
        return sum(1 for reply in replies if put_new(self.clients, _item(reply)))

    def update(self, reply: Reply) -> None:
        batch_put(self.clients, [_item(reply)])

    def for_ticket(self, ticket_id: str) -> list[Reply]:
        return [r for r in self._all() if r.ticket_id == ticket_id]

    def for_insight(self, insight_id: str) -> list[Reply]:
        return [r for r in self._all() if r.insight_id == insight_id]

    def pending(self) -> list[Reply]:
        return [r for r in self._all() if r.state in ("queued", "sending")]

    def _all(self) -> list[Reply]:
        replies = [Reply.model_validate_json(unpack(item["body"]))
                   for item in query(self.clients, REPLIES)]
        return sorted(replies, key=lambda r: (r.queued_at, r.id))


def _item(reply: Reply) -> Item:
    return {PK: REPLIES, SK: reply.id, "body": pack(reply.model_dump_json()),
            "ticket_id": reply.ticket_id, "insight_id": reply.insight_id, "state": reply.state}
