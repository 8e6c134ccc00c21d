"""The few DynamoDB calls every family makes: paged queries, batches, transactions.

Kept in one place so each family states only its items. Calls go through
`aws_errors` (boto3 has already retried throttling and 5xx); a failed
condition is not an error here but an answer (`Conflict`, or False).
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from docloop.aws.clients import MAX_ATTEMPTS, AWSClients, aws_errors, error_code
from docloop.aws.dynamodb_layout import MAX_ITEM_BYTES, PK, SK
from docloop.errors import BackendError, TransientError

#: keys per BatchGetItem request (the API's limit)
BATCH_GET = 100
#: BatchGetItem rounds for keys left unprocessed, and the backoff between them (seconds)
UNPROCESSED_ROUNDS = MAX_ATTEMPTS
UNPROCESSED_BASE_S = 0.05
UNPROCESSED_MAX_S = 2.0
#: actions per TransactWriteItems request (the API's limit)
MAX_TRANSACTION = 100
Item = dict[str, Any]


class Conflict(Exception):
    """A conditional write found the item changed since it was read."""


def pack(text: str) -> bytes:
    """A JSON document as a compressed binary attribute (items are capped at 400 KB)."""
    blob = zlib.compress(text.encode("utf-8"), 6)
    if len(blob) > MAX_ITEM_BYTES - 4096:
        raise BackendError(f"a stored document is {len(blob) // 1024} KB compressed, over "
                           "DynamoDB's 400 KB item limit")
    return blob


def unpack(value: Any) -> str:
    """The JSON text of a `pack`ed attribute (boto3 gives Binary, tests may give bytes)."""
    raw = value.value if hasattr(value, "value") else value
    return zlib.decompress(bytes(raw)).decode("utf-8")


def raw_bytes(value: Any) -> bytes:
    """A binary attribute's bytes."""
    return bytes(value.value if hasattr(value, "value") else value)


def get(clients: AWSClients, pk: str, sk: str = "-") -> Item | None:
    """One item, read consistently."""
    with aws_errors(clients, "reading"):
        found = clients.table.get_item(Key={PK: pk, SK: sk}, ConsistentRead=True)
    item: Item | None = found.get("Item")
    return item


def query(clients: AWSClients, pk: str, prefix: str = "", newest_first: bool = False,
          start: str | None = None, limit: int | None = None) -> Iterator[Item]:
    """Every item of partition `pk` (sort keys starting with `prefix`, or >= `start`),
    page by page, read consistently."""
    from boto3.dynamodb.conditions import Key

    condition = Key(PK).eq(pk)
    if prefix:
        condition = condition & Key(SK).begins_with(prefix)
    elif start is not None:
        condition = condition & Key(SK).gte(start)
    args: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True,
                            "ScanIndexForward": not newest_first}
    if limit is not None:
        args["Limit"] = limit
    while True:
        with aws_errors(clients, "querying"):
            page = clients.table.query(**args)
        yield from page.get("Items", [])
        if limit is not None or "LastEvaluatedKey" not in page:
            return
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def batch_get(clients: AWSClients, keys: Iterable[tuple[str, str]],
              attributes: str | None = None) -> list[Item]:
    """The items with these keys (absent ones skipped), 100 keys a request.

    Keys DynamoDB leaves unprocessed (over a request's 16 MB, or throttled) are asked
    again, as the API asks callers to, with exponential backoff and jitter between rounds
    (the API's advice: an immediate retry of throttled keys is throttled again); keys
    still unprocessed after UNPROCESSED_ROUNDS are a TransientError, not an endless loop.
    """
    wanted = [{PK: pk, SK: sk} for pk, sk in dict.fromkeys(keys)]
    found: list[Item] = []
    for start in range(0, len(wanted), BATCH_GET):
        request: dict[str, Any] = {"Keys": wanted[start:start + BATCH_GET],
                                   "ConsistentRead": True}
        if attributes:
            request["ProjectionExpression"] = attributes
        found.extend(_batch_get_round(clients, request))
    return found


def _batch_get_round(clients: AWSClients, request: dict[str, Any]) -> list[Item]:
    """One BatchGetItem request's items, its unprocessed keys asked again with backoff."""
    client = clients.table.meta.client
    found: list[Item] = []
    pending: dict[str, Any] = {clients.table_name: request}
    for attempt in range(UNPROCESSED_ROUNDS):
        if attempt:
            time.sleep(min(UNPROCESSED_BASE_S * 2 ** (attempt - 1), UNPROCESSED_MAX_S)
                       * random.uniform(0.5, 1.0))
        with aws_errors(clients, "reading a batch"):
            answer = client.batch_get_item(RequestItems=pending)
        found.extend(answer.get("Responses", {}).get(clients.table_name, []))
        pending = answer.get("UnprocessedKeys") or {}
        if not pending:
            return found
    left = len(pending.get(clients.table_name, {}).get("Keys", []))
    raise TransientError(f"DynamoDB table {clients.table_name}: {left} key(s) still "
                         f"unprocessed after {UNPROCESSED_ROUNDS} BatchGetItem rounds "
                         "(throttled); the step is retried")


def batch_put(clients: AWSClients, items: Iterable[Item]) -> None:
    """Put items 25 a request (boto3's batch writer re-sends unprocessed ones)."""
    with aws_errors(clients, "writing a batch"), \
            clients.table.batch_writer(overwrite_by_pkeys=[PK, SK]) as writer:
        for item in items:
            writer.put_item(Item=item)


def put_new(clients: AWSClients, item: Item) -> bool:
    """Put `item` unless its key exists; False when it did (nothing written)."""
    from botocore.exceptions import ClientError

    with aws_errors(clients, "writing"):
        try:
            clients.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
    return True


def transact(clients: AWSClients, actions: list[Item]) -> None:
    """TransactWriteItems: every action or none; `Conflict` when a condition failed."""
    if not actions:
        return
    if len(actions) > MAX_TRANSACTION:
        raise BackendError(f"{len(actions)} writes in one transaction, over DynamoDB's "
                           f"{MAX_TRANSACTION}")
    for action in actions:
        next(iter(action.values()))["TableName"] = clients.table_name
    from botocore.exceptions import ClientError

    with aws_errors(clients, "writing"):
        try:
            clients.table.meta.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if _condition_failed(exc):
                raise Conflict(str(exc)) from None
            raise


def _condition_failed(exc: Exception) -> bool:
    if error_code(exc) == "ConditionalCheckFailedException":
        return True
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    return error_code(exc) == "TransactionCanceledException" and any(
        r.get("Code") == "ConditionalCheckFailed" for r in reasons)
