"""The message store on S3, with its watermarks in DynamoDB (store = "dynamodb").

Messages are kept as one gzip JSON Lines object per channel and UTC day
(`messages/<channel>/<day>.jsonl.gz`, sorted by time and id), indexed by
`MESSAGES` items in the table (day#channel -> object, count), so a window
reads only its days and `count()` reads no object. The rules are the SQLite
store's: a re-import changes nothing, only a strictly later edit replaces a
stored copy, reactions refresh, Discord positions never move back.

Partitions a store has read stay in memory for its life (one run, one
Lambda invocation). Writes are gathered inside `transaction()` and written
at its end: the changed objects first, then their index items, then the
watermarks, so a crash part-way leaves the watermark behind the messages
(the next run reads those again, and storing them again changes nothing).
Outside a transaction each call writes at once. A message asked for by id
is found from the day its Discord snowflake encodes; other ids (and ids not
stored) cost a read of every partition. `count` and `window_digest` read
no whole day: the index's counts and the objects' listed ETags stand for it
(only a window's first day, cut by `since`, is read).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from docloop.aws.clients import AWSClients, aws_errors, error_code
from docloop.aws.dynamodb_io import batch_put, query
from docloop.aws.dynamodb_layout import MESSAGES_PREFIX, PK, SK
from docloop.config import Settings
from docloop.errors import BackendError
from docloop.models import Message
from docloop.storage.messages import Outline, epoch, position_behind, refreshed_fields

PARTITIONS = "MESSAGES"
WATERMARKS = "WATERMARK"
#: Discord's epoch (ms since 1970) and the shift that leaves a snowflake's milliseconds
DISCORD_EPOCH_MS, SNOWFLAKE_SHIFT = 1_420_070_400_000, 22


class S3MessageStore:
    """A `MessageRepository` over S3 objects and the table's index and watermark items."""

    def __init__(self, clients: AWSClients) -> None:
        self.clients = clients
        self._index: dict[str, int] | None = None  # "day#channel" -> messages in it
        self._parts: dict[str, dict[str, Message]] = {}
        self._dirty: set[str] = set()
        self._marks: dict[str, str] = {}  # watermarks waiting for the transaction's end
        self._depth = 0

    @classmethod
    def from_settings(cls, settings: Settings, clients: AWSClients | None = None,
                      **deps: Any) -> S3MessageStore:
        return cls(clients or AWSClients.from_settings(settings, need_bucket=True))

    # -- the unit of work ------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Gather writes; write them all at the end, or drop them on an error."""
        self._depth += 1
        try:
            yield
        except BaseException:
            if self._depth == 1:
                self._discard()
            raise
        finally:
            self._depth -= 1
        if self._depth == 0:
            self._flush()

    def _discard(self) -> None:
        for part in self._dirty:
            self._parts.pop(part, None)
        self._dirty.clear()
        self._marks.clear()
        self._index = None  # counts of dropped partitions are read again

    def _flush(self) -> None:
        index = self._partition_index()
        for part in sorted(self._dirty):
            self._write_partition(part, self._parts[part])
            index[part] = len(self._parts[part])
        batch_put(self.clients, ({PK: PARTITIONS, SK: part, "object": _object_key(part),
                                  "count": index[part]} for part in sorted(self._dirty)))
        self._dirty.clear()
        marks, self._marks = self._marks, {}
        for key, value in marks.items():
            self._write_watermark(key, value)

    # -- messages ----------------------------------------------------------------------------

    def upsert(self, messages: Iterable[Message]) -> int:
        """All or nothing, as one transaction (or part of the caller's)."""
        changed = 0
        with self.transaction():
            for message in messages:
                changed += self._upsert_one(message)
        return changed

    def _upsert_one(self, message: Message) -> int:
        part = _partition(message)
        stored = self._partition(part)
        old = stored.get(message.id)
        if old is not None and not _is_newer(message, old):
            fresh = refreshed_fields(old.reactions, old.mentions, message)
            if fresh:
                stored[message.id] = old.model_copy(update=fresh)
                self._dirty.add(part)
            return 0
        stored[message.id] = message
        self._dirty.add(part)
        return 1

    def rewrite(self, transform: Callable[[Message], Message]) -> int:
        changed = 0
        with self.transaction():
            for part in sorted(self._partition_index()):
                stored = self._partition(part)
                for message_id, old in list(stored.items()):
                    new = transform(old)
                    if new != old:
                        stored[message_id] = new
                        self._dirty.add(part)
                        changed += 1
        return changed

    def get(self, ids: Sequence[str]) -> list[Message]:
        unique = list(dict.fromkeys(ids))
        found = self._loaded(unique)
        missing = [i for i in unique if i not in found]
        days = {d for d in (_snowflake_day(i) for i in missing) if d}
        for part in self._partition_index():
            if part.split("#", 1)[0] in days:
                self._partition(part)
        found = self._loaded(unique)
        if len(found) < len(unique):  # not snowflakes, or not stored: look everywhere
            for part in self._partition_index():
                self._partition(part)
            found = self._loaded(unique)
        return [found[i] for i in unique if i in found]

    def window(self, since: datetime | None) -> list[Message]:
        return list(self.iter_window(since))

    def iter_window(self, since: datetime | None) -> Iterator[Message]:
        """Day by day: only one day's partitions are sorted at a time."""
        first = _day(since) if since is not None else ""
        days: dict[str, list[str]] = {}
        for part in sorted(self._partition_index()):
            day = part.split("#", 1)[0]
            if day >= first:
                days.setdefault(day, []).append(part)
        for day in sorted(days):
            messages = [m for part in days[day] for m in self._partition(part).values()
                        if since is None or epoch(m.timestamp) >= epoch(since)]
            yield from sorted(messages, key=lambda m: (epoch(m.timestamp), m.id))

    def outline(self, since: datetime | None) -> list[Outline]:
        return [Outline.of(m) for m in self.iter_window(since)]

    def count(self, since: datetime | None = None) -> int:
        """From the index's per-partition counts; only the first day of a window that
        starts mid-day is read (its earlier messages are not in the window)."""
        edge, whole = self._window_parts(since)
        index = self._partition_index()
        return sum(len(self._parts[p]) if p in self._dirty else index[p] for p in whole) \
            + sum(len(self._in_window(p, since)) for p in edge)

    def window_digest(self, since: datetime | None) -> str:
        """What identifies the window's contents, without reading the window.

        A whole day's object is identified by its ETag and size, listed once per
        channel from the window's first day on (one LIST request per channel and
        1,000 days): any rewrite that changes an object's bytes changes its ETag.
        The listing is S3's truth, not the index's copy, so an object rewritten by
        a run that died before updating its index item still shows as changed.
        The first day of a window that starts mid-day is read and its in-window
        messages hashed (`since` moves with the clock; that day's earlier messages
        must not count), as are partitions written in this process but not yet
        flushed. Equal digests mean the same messages with the same text and
        reactions.
        """
        edge, whole = self._window_parts(since)
        listed = self._listed_objects({p.split("#", 1)[1] for p in whole
                                       if p not in self._dirty}, since)
        digest = hashlib.sha256()
        for part in sorted(edge | whole):
            if part in edge or part in self._dirty:
                text = "".join(m.model_dump_json() for m in self._in_window(part, since))
                identity = "content:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
            else:
                identity = listed.get(_object_key(part), "missing")
            digest.update(f"{part}\t{identity}\n".encode())
        return digest.hexdigest()

    def _window_parts(self, since: datetime | None) -> tuple[set[str], set[str]]:
        """The window's partitions: (first-day ones cut by `since`, whole ones)."""
        first = _day(since) if since is not None else ""
        parts = {p for p in (*self._partition_index(), *self._dirty)
                 if p.split("#", 1)[0] >= first}
        if since is None or _aware(since) == datetime.fromisoformat(first).replace(tzinfo=UTC):
            return set(), parts
        edge = {p for p in parts if p.split("#", 1)[0] == first}
        return edge, parts - edge

    def _in_window(self, part: str, since: datetime | None) -> list[Message]:
        messages = [m for m in self._partition(part).values()
                    if since is None or epoch(m.timestamp) >= epoch(since)]
        return sorted(messages, key=lambda m: (epoch(m.timestamp), m.id))

    def _listed_objects(self, channels: set[str], since: datetime | None) -> dict[str, str]:
        """S3 key -> "ETag:size" of every day object of `channels` from `since`'s day on."""
        listed: dict[str, str] = {}
        paginator = self.clients.s3.get_paginator("list_objects_v2")
        for channel in sorted(channels):
            prefix = f"{MESSAGES_PREFIX}{channel}/"
            start = prefix + (_day(since) if since is not None else "")
            with aws_errors(self.clients, f"listing s3://{self.clients.bucket}/{prefix}"):
                for page in paginator.paginate(Bucket=self.clients.bucket, Prefix=prefix,
                                               StartAfter=start):
                    for entry in page.get("Contents", []):
                        listed[entry["Key"]] = f"{entry['ETag']}:{entry['Size']}"
        return listed

    # -- watermarks --------------------------------------------------------------------------

    def watermarks(self, prefix: str = "") -> dict[str, str]:
        marks = {item[SK]: str(item["value"])
                 for item in query(self.clients, WATERMARKS, prefix=prefix)}
        for key, value in self._marks.items():
            if key.startswith(prefix) and not position_behind(value, marks.get(key)):
                marks[key] = value
        return dict(sorted(marks.items()))

    def set_watermark(self, key: str, value: str) -> None:
        if self._depth:
            if not position_behind(value, self._marks.get(key)):
                self._marks[key] = value
            return
        self._write_watermark(key, value)

    def _write_watermark(self, key: str, value: str) -> None:
        """A snowflake only moves forward (a conditional put); anything else is replaced."""
        from botocore.exceptions import ClientError

        item: dict[str, Any] = {PK: WATERMARKS, SK: key, "value": value}
        if not value.isdigit():
            with aws_errors(self.clients, "saving a watermark"):
                self.clients.table.put_item(Item=item)
            return
        item["position"] = int(value)
        with aws_errors(self.clients, "saving a watermark"):
            try:
                self.clients.table.put_item(
                    Item=item, ConditionExpression="attribute_not_exists(#p) OR #p <= :p",
                    ExpressionAttributeNames={"#p": "position"},
                    ExpressionAttributeValues={":p": int(value)})
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise  # a failed condition is a stale writer: ignored, as in SQLite

    # -- partitions --------------------------------------------------------------------------

    def _partition_index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {item[SK]: int(item["count"])
                           for item in query(self.clients, PARTITIONS)}
        return self._index

    def _partition(self, part: str) -> dict[str, Message]:
        if part not in self._parts:
            self._parts[part] = (self._read_partition(part)
                                 if part in self._partition_index() else {})
        return self._parts[part]

    def _loaded(self, ids: list[str]) -> dict[str, Message]:
        wanted = set(ids)
        return {i: m for part in self._parts.values() for i, m in part.items() if i in wanted}

    def _read_partition(self, part: str) -> dict[str, Message]:
        from botocore.exceptions import ClientError

        with aws_errors(self.clients, f"reading {_object_key(part)}"):
            try:
                body = self.clients.s3.get_object(Bucket=self.clients.bucket,
                                                  Key=_object_key(part))["Body"].read()
            except ClientError as exc:
                if error_code(exc) == "NoSuchKey":
                    raise BackendError(f"s3://{self.clients.bucket}/{_object_key(part)} is "
                                       "indexed but missing: restore it, or delete its "
                                       f"MESSAGES item '{part}' to forget it") from None
                raise
        lines = gzip.decompress(body).decode("utf-8").splitlines()
        return {m.id: m for m in (Message.model_validate_json(line) for line in lines if line)}

    def _write_partition(self, part: str, messages: dict[str, Message]) -> None:
        ordered = sorted(messages.values(), key=lambda m: (epoch(m.timestamp), m.id))
        text = "".join(m.model_dump_json() + "\n" for m in ordered)
        with aws_errors(self.clients, f"writing {_object_key(part)}"):
            self.clients.s3.put_object(Bucket=self.clients.bucket, Key=_object_key(part),
                                       Body=gzip.compress(text.encode("utf-8"), mtime=0),
                                       ContentType="application/x-ndjson",
                                       ContentEncoding="gzip")


def _partition(message: Message) -> str:
    return f"{_day(message.timestamp)}#{message.channel_id}"


def _object_key(part: str) -> str:
    day, channel = part.split("#", 1)
    return f"{MESSAGES_PREFIX}{channel}/{day}.jsonl.gz"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(moment: datetime) -> str:
    return _aware(moment).astimezone(UTC).date().isoformat()


def _snowflake_day(message_id: str) -> str | None:
    """The UTC day a Discord snowflake was made on (None for other ids)."""
    if not message_id.isdigit() or len(message_id) < 15:
        return None
    millis = (int(message_id) >> SNOWFLAKE_SHIFT) + DISCORD_EPOCH_MS
    return _day(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis))


def _is_newer(message: Message, stored: Message) -> bool:
    """Only a strictly later edit replaces a stored copy."""
    if message.edited_at is None:
        return False
    return stored.edited_at is None or epoch(message.edited_at) > epoch(stored.edited_at)
