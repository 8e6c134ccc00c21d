"""The message store: redacted messages, deduplicated by id, plus watermarks.

Messages from every source end up here, so later stages (and later runs) read
one window of history regardless of where it came from. A re-import of the
same data changes nothing; an edited copy replaces the stored one only when
its edit time is newer, so importing an old export after a new one never
undoes an edit.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from docloop.config import Settings
from docloop.db import ensure_schema, transaction
from docloop.models import Message

MIGRATIONS = [
    """
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        guild_id TEXT,
        channel_id TEXT NOT NULL,
        channel_name TEXT NOT NULL DEFAULT '',
        thread_id TEXT,
        thread_name TEXT,
        author_id TEXT NOT NULL,
        author_name TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL DEFAULT '',
        timestamp TEXT NOT NULL,
        ts_epoch REAL NOT NULL,
        edited_at TEXT,
        edited_epoch REAL,
        reply_to TEXT,
        attachments INTEGER NOT NULL DEFAULT 0,
        has_sticker INTEGER NOT NULL DEFAULT 0,
        content_hash TEXT NOT NULL
    );
    CREATE INDEX messages_ts ON messages(ts_epoch, id);
    CREATE TABLE watermarks (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
    "ALTER TABLE messages ADD COLUMN reactions TEXT NOT NULL DEFAULT '{}'",
    # bumped by every write that changes a stored row in place (reactions, a re-scrub),
    # which the window's row ids and counts alone would not show (`window_digest`)
    """
    CREATE TABLE messages_generation (id INTEGER PRIMARY KEY CHECK (id = 1),
                                      value INTEGER NOT NULL);
    INSERT INTO messages_generation(id, value) VALUES (1, 0)
    """,
    # the users a message pings by name (JSON list of ids; stages/conversations.py)
    "ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '[]'",
]

_COLUMNS = (
    "id", "source", "guild_id", "channel_id", "channel_name", "thread_id", "thread_name",
    "author_id", "author_name", "content", "timestamp", "ts_epoch", "edited_at",
    "edited_epoch", "reply_to", "attachments", "has_sticker", "content_hash", "reactions",
    "mentions",
)
_UPSERT = (
    f"INSERT OR REPLACE INTO messages ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM messages"


class Outline(NamedTuple):
    """What grouping into conversations reads of a stored message (no text)."""

    id: str
    channel_id: str
    thread_id: str | None
    author_id: str
    timestamp: datetime
    reply_to: str | None
    mentions: tuple[str, ...] = ()  # the users it pings by name (an "@asker ..." answer)

    @classmethod
    def of(cls, message: Message) -> Outline:
        """A loaded message's outline (the stores that read whole messages)."""
        return cls(message.id, message.channel_id, message.thread_id, message.author_id,
                   message.timestamp, message.reply_to, tuple(message.mentions))


def content_hash(message: Message) -> str:
    """A digest of the (redacted) text, so later stages can cache per content."""
    return hashlib.sha256(message.content.encode("utf-8")).hexdigest()


class MessageStore:
    """Messages and source watermarks in the `messages` component's tables."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        ensure_schema(conn, "messages", MIGRATIONS)

    @classmethod
    def from_settings(cls, settings: Settings, conn: sqlite3.Connection) -> MessageStore:
        """Over the shared connection (built through the registry)."""
        return cls(conn)

    def upsert(self, messages: Iterable[Message]) -> int:
        """Store new messages and newer edits; return how many rows changed.

        Reactions keep coming after a message is posted, so a copy that is not newer
        still refreshes the stored counts (not counted as a change: the text is the same),
        and gives its mentions to a copy stored before docloop kept them.
        """
        changed = refreshed = 0
        with transaction(self.conn):
            for message in messages:
                row = self.conn.execute(
                    "SELECT edited_epoch, content_hash, reactions, mentions FROM messages "
                    "WHERE id = ?", (message.id,),
                ).fetchone()
                if row is not None and not _is_newer(message, row):
                    refreshed += self._refresh(message, row)
                    continue
                self.conn.execute(_UPSERT, _row(message))
                changed += 1
            if changed or refreshed:
                self._bump_generation()
        return changed

    def _refresh(self, message: Message, row: sqlite3.Row) -> bool:
        """Give the stored row what the copy refreshes of it (`refreshed_fields`)."""
        if not (message.reactions or message.mentions):
            return False  # the usual re-read: nothing a copy could refresh, nothing to parse
        fresh = refreshed_fields(json.loads(row["reactions"]), json.loads(row["mentions"]),
                                 message)
        if not fresh:
            return False
        columns = ", ".join(f"{name} = ?" for name in fresh)
        values = [json.dumps(value, ensure_ascii=False, sort_keys=True) for value in fresh.values()]
        self.conn.execute(f"UPDATE messages SET {columns} WHERE id = ?", (*values, message.id))
        return True

    def _bump_generation(self) -> None:
        self.conn.execute("UPDATE messages_generation SET value = value + 1 WHERE id = 1")

    def window_digest(self, since: datetime | None) -> str:
        """What identifies the window's contents, read from the time index alone.

        Count, row id sum and maximum (an insert or replacement gives a new row
        id), first and last time, and the store's write generation (changes
        made in place): equal digests mean the same messages with the same
        text and reactions. Milliseconds at a million messages.
        """
        where, params = _since_clause(since)
        count, ids, last_id, first, last = self.conn.execute(
            "SELECT COUNT(*), TOTAL(rowid), MAX(rowid), MIN(ts_epoch), MAX(ts_epoch) "
            f"FROM messages{where}", params).fetchone()
        generation = self.conn.execute(
            "SELECT value FROM messages_generation WHERE id = 1").fetchone()[0]
        return f"{count}:{ids:.0f}:{last_id}:{first}:{last}:{generation}"

    def rewrite(self, transform: Callable[[Message], Message], batch: int = 2000) -> int:
        """Apply `transform` to every stored message and keep the ones it changes.

        Read a batch at a time (by rowid), so a large history is rewritten in bounded
        memory; the caller's transaction makes the whole rewrite all or nothing.
        """
        changed, last = 0, 0
        while True:
            rows = self.conn.execute(f"SELECT rowid, {_SELECT[len('SELECT '):]} "
                                     "WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                     (last, batch)).fetchall()
            if not rows:
                return changed
            last = rows[-1]["rowid"]
            for row in rows:
                old = _message(row)
                new = transform(old)
                if new != old:
                    self.conn.execute(_UPSERT, _row(new))
                    changed += 1
            if changed:
                self._bump_generation()

    def get(self, ids: Sequence[str]) -> list[Message]:
        """The stored messages with these ids, in the order asked (missing ones skipped)."""
        found: dict[str, Message] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self.conn.execute(f"{_SELECT} WHERE id IN ({marks})", chunk):
                found[row["id"]] = _message(row)
        return [found[i] for i in unique if i in found]

    def window(self, since: datetime | None) -> list[Message]:
        """Every stored message at or after `since` (all when None), oldest first."""
        return list(self.iter_window(since))

    def outline(self, since: datetime | None) -> list[Outline]:
        """The window as light rows, oldest first; channel, thread and author strings shared.

        About a tenth of a full `Message` each, so a million-message window can be
        grouped into conversations before any text is loaded.
        """
        where, params = _since_clause(since)
        cursor = self.conn.cursor()
        cursor.row_factory = None
        rows = cursor.execute(
            "SELECT id, channel_id, thread_id, author_id, timestamp, reply_to, mentions "
            f"FROM messages{where} ORDER BY ts_epoch, id", params)
        intern = sys.intern
        return [Outline(m_id, intern(channel), intern(thread) if thread else None,
                        intern(author), datetime.fromisoformat(stamp), reply,
                        () if mentions == "[]" else tuple(map(intern, json.loads(mentions))))
                for m_id, channel, thread, author, stamp, reply, mentions in rows]

    def iter_window(self, since: datetime | None) -> Iterator[Message]:
        """The window's messages, oldest first, read from the store as they are consumed."""
        where, params = _since_clause(since)
        rows = self.conn.execute(f"{_SELECT}{where} ORDER BY ts_epoch, id", params)
        while chunk := rows.fetchmany(1000):
            yield from (_message(row) for row in chunk)

    def count(self, since: datetime | None = None) -> int:
        """How many messages are stored (at or after `since`, when given)."""
        where, params = _since_clause(since)
        return int(self.conn.execute(f"SELECT COUNT(*) FROM messages{where}",
                                     params).fetchone()[0])

    def watermarks(self, prefix: str = "") -> dict[str, str]:
        """Saved stream positions whose key starts with `prefix`."""
        rows = self.conn.execute(
            "SELECT key, value FROM watermarks WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        return {row["key"]: row["value"] for row in rows}

    def set_watermark(self, key: str, value: str) -> None:
        """Save a stream position (joins the caller's transaction if one is open).

        A Discord position (a snowflake, all digits) never moves back: a stale
        writer (an overlapping run) saving an older one is ignored.
        """
        with transaction(self.conn):
            row = self.conn.execute("SELECT value FROM watermarks WHERE key = ?",
                                    (key,)).fetchone()
            if row is not None and position_behind(value, row["value"]):
                return
            self.conn.execute(
                "INSERT INTO watermarks(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


def refreshed_fields(reactions: Mapping[str, int], mentions: Sequence[str],
                     copy: Message) -> dict[str, object]:
    """What a copy that is not newer changes of the stored message (every message store
    applies this): its reactions when it has any and they differ, since reactions keep
    coming after a message is posted; its mentions when the stored copy has none (stored
    before docloop kept mentions; otherwise they change only with an edit, a newer copy)."""
    fresh: dict[str, object] = {}
    if copy.reactions and copy.reactions != dict(reactions):
        fresh["reactions"] = copy.reactions
    if copy.mentions and not mentions:
        fresh["mentions"] = copy.mentions
    return fresh


def position_behind(value: str, stored: str | None) -> bool:
    """True when both are snowflakes (digits) and `value` is the older one (every
    message store refuses to move a Discord position back)."""
    return stored is not None and value.isdigit() and stored.isdigit() \
        and int(value) < int(stored)


def _since_clause(since: datetime | None) -> tuple[str, tuple[object, ...]]:
    return ("", ()) if since is None else (" WHERE ts_epoch >= ?", (epoch(since),))


def _is_newer(message: Message, row: sqlite3.Row) -> bool:
    """Only a strictly later edit replaces a stored copy."""
    if message.edited_at is None:
        return False
    stored = row["edited_epoch"]
    return stored is None or epoch(message.edited_at) > stored


def epoch(moment: datetime) -> float:
    """Seconds since 1970 (a naive time is UTC), the order stores keep messages in."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.timestamp()


def _row(message: Message) -> tuple[object, ...]:
    return (
        message.id, message.source, message.guild_id, message.channel_id, message.channel_name,
        message.thread_id, message.thread_name, message.author_id, message.author_name,
        message.content, message.timestamp.isoformat(), epoch(message.timestamp),
        message.edited_at.isoformat() if message.edited_at else None,
        epoch(message.edited_at) if message.edited_at else None,
        message.reply_to, message.attachments, int(message.has_sticker), content_hash(message),
        _reactions_json(message), _mentions_json(message),
    )


def _reactions_json(message: Message) -> str:
    return json.dumps(message.reactions, ensure_ascii=False, sort_keys=True)


def _mentions_json(message: Message) -> str:
    return json.dumps(message.mentions)


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"], source=row["source"], guild_id=row["guild_id"],
        channel_id=row["channel_id"], channel_name=row["channel_name"],
        thread_id=row["thread_id"], thread_name=row["thread_name"],
        author_id=row["author_id"], author_name=row["author_name"], content=row["content"],
        timestamp=datetime.fromisoformat(row["timestamp"]),
        edited_at=datetime.fromisoformat(row["edited_at"]) if row["edited_at"] else None,
        reply_to=row["reply_to"], attachments=row["attachments"],
        has_sticker=bool(row["has_sticker"]), reactions=json.loads(row["reactions"]),
        mentions=json.loads(row["mentions"]),
    )
