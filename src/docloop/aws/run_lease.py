"""One run at a time on AWS: a lease item in the table, taken by ingest, given back at the end.

Locally `docloop.lock` holds a file lock for a run's whole process; a Step
Functions execution spans several Lambdas, so the lock is an item instead
(`RUN_LEASE` | `-`: `owner` = the execution name, `expires_at` and `ttl` in
epoch seconds). Ingest takes it with a conditional put that succeeds only
when no lease exists, the lease has expired (a crashed run's lease lapses
`LEASE_S` after its last renewal) or this same run holds it (a retried ingest;
the analyse and insight steps renew it the same way). Another
execution meanwhile gets `RunLocked`, before it writes anything, and the
state machine ends it in its `Locked` Fail state with that cause. The report
step gives the lease back; a failed execution gives it back in the state
machine's `ReleaseLease` state (a DynamoDB DeleteItem conditioned on the
owner, so a run never frees another run's lease).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from docloop.aws.clients import AWSClients, aws_errors, error_code
from docloop.aws.dynamodb_io import get
from docloop.aws.dynamodb_layout import TTL_ATTRIBUTE, key
from docloop.errors import ConflictError

LEASE_PK = "RUN_LEASE"
#: how long a lease lasts from its last renewal unless given back: every step of a run
#: renews it (a Lambda step lasts at most 15 minutes), so a live run keeps it and a
#: crashed run's lapses within the hour
LEASE_S = 3600


class RunLocked(ConflictError):
    """Another execution holds the run lease: this one stops before writing anything."""


class RunLease:
    """The table's one run lease."""

    def __init__(self, clients: AWSClients, clock: Callable[[], float] = time.time) -> None:
        self.clients = clients
        self.clock = clock

    def acquire(self, owner: str, lease_s: int = LEASE_S) -> None:
        """Take the lease for `owner` for `lease_s` seconds, or raise `RunLocked` naming who
        holds it. The holder calling again renews it (a retried ingest, a CLI heartbeat)."""
        from botocore.exceptions import ClientError

        now = int(self.clock())
        expires = now + lease_s
        item = {**key(LEASE_PK), "owner": owner, "expires_at": expires,
                TTL_ATTRIBUTE: expires, "taken_at": now}
        with aws_errors(self.clients, "taking the run lease"):
            try:
                self.clients.table.put_item(
                    Item=item,
                    ConditionExpression="attribute_not_exists(pk) OR expires_at < :now "
                                        "OR #owner = :owner",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={":now": now, ":owner": owner})
                return
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
        raise RunLocked(self._held_message(owner))

    def release(self, owner: str) -> bool:
        """Give the lease back if `owner` holds it; False when it did not (nothing done)."""
        from botocore.exceptions import ClientError

        with aws_errors(self.clients, "giving back the run lease"):
            try:
                self.clients.table.delete_item(
                    Key=key(LEASE_PK), ConditionExpression="#owner = :owner",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={":owner": owner})
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                return False
        return True

    def holder(self) -> str | None:
        """Who holds an unexpired lease (None: nobody)."""
        item = get(self.clients, LEASE_PK)
        if item is None or int(item["expires_at"]) < int(self.clock()):
            return None
        return str(item["owner"])

    def _held_message(self, owner: str) -> str:
        item = get(self.clients, LEASE_PK) or {}
        holder = item.get("owner", "another run")
        until = datetime.fromtimestamp(int(item.get("expires_at", 0)), UTC).isoformat()
        return (f"run {holder} is still running (it holds the run lease until {until}); "
                f"{owner} stopped before writing anything. Start it again when that run "
                f"has ended; if it crashed, its lease lapses at {until}, or delete the item "
                f"pk={LEASE_PK} from table {self.clients.table_name} to free it now")
