"""DiscordChatExporter (Tyrrrz) JSON exports as a message source.

DCE writes one file per channel; threads are separate files whose
`channel.categoryId`/`category` name the parent channel (API-FACTS §2). Files
are read as streams (`json_stream`), one message at a time, so a 200 MB export
costs no more memory than a small one; each message is validated as it is
read, and ingest stores the whole source in one transaction, so a malformed
file anywhere means nothing is stored. Exports are finite snapshots: all their
messages are yielded (the ingest window applies `--since`), which lets a
later run with a wider window work without importing again.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docloop.backends.sources.base import Batch, ChannelCount, Source
from docloop.backends.sources.json_stream import stream_members
from docloop.backends.sources.markup import mentioned_ids, plain_text
from docloop.backends.sources.reactions import reaction_counts
from docloop.config import Settings
from docloop.errors import InputError
from docloop.models import Message
from docloop.sanitize import clean_line

log = logging.getLogger(__name__)

THREAD_TYPES = frozenset(
    {"GuildPublicThread", "GuildPrivateThread", "GuildNewsThread", "10", "11", "12"}
)
#: Message types that are people talking: Default/Reply (0/19 when numeric).
KEPT_TYPES = frozenset({"Default", "Reply", "0", "19"})
#: System notices DCE names; any other numeric type is dropped as well.
SYSTEM_TYPES = frozenset({
    "GuildMemberJoin", "ChannelPinnedMessage", "ThreadCreated", "RecipientAdd",
    "RecipientRemove", "Call", "ChannelNameChange", "ChannelIconChange",
})
#: Top-level members read besides `messages` (the rest is skipped unread).
HEADER_KEYS = frozenset({"guild", "channel"})
#: Messages handed to ingest at a time: memory stays flat however big a file is.
BATCH_SIZE = 5_000
FIX_HINT = "re-export the channel with DiscordChatExporter (JSON format) or remove the file"


@dataclass
class ChannelInfo:
    """Where a file's messages belong: a channel, or a thread and its parent."""

    id: str
    name: str
    kind: str
    parent_id: str | None = None
    parent_name: str | None = None

    @property
    def is_thread(self) -> bool:
        return self.kind == "thread"

    def channel(self, channel_id: str) -> str | None:
        """The name of this file's channel or its parent (markup.Names): an export made
        with `--markdown false` keeps `<#id>`; the file names no other channel."""
        return {self.id: self.name, self.parent_id: self.parent_name}.get(channel_id)

    def role(self, role_id: str) -> str | None:
        """An export names no roles besides the ones it has written out already."""
        return None


@dataclass
class ParsedExport:
    """One export file read whole: its channel and kept messages (tests, small files)."""

    path: Path
    channel: ChannelInfo
    messages: list[Message]
    skipped: Counter[str] = field(default_factory=Counter)


def export_files(path: Path) -> list[Path]:
    """The `.json` file given, or every `*.json` under the folder (sorted)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(_json_files(path), key=lambda p: p.parts)  # the order rglob sorts in
        if not files:
            raise InputError(f"{path}: no *.json DiscordChatExporter exports found in the folder")
        return files
    raise InputError(f"{path}: no such file or folder (check the discord-export:PATH source)")


def _json_files(folder: Path) -> Iterator[Path]:
    """Every `*.json` file under `folder`, as `rglob` finds them, without its cost.

    A run lists its export folder three times; with tens of thousands of files,
    `rglob` plus a stat per file and sorting `Path` objects took seconds. Each
    directory entry already tells a regular file from a folder. Like `rglob`,
    symlinked folders are not entered and unreadable ones are skipped.
    """
    folders = [folder]
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                    elif entry.name.endswith(".json") and entry.is_file():
                        yield Path(entry.path)
        except PermissionError:
            continue


def read_export(path: Path) -> ParsedExport:
    """Parse and validate one whole export; InputError names the file and JSON path."""
    reader = ExportReader(path)
    messages = list(reader.messages())
    assert reader.channel is not None
    return ParsedExport(path, reader.channel, messages, reader.skipped)


class ExportReader:
    """One export file read as a stream: its channel, then its kept messages one by one.

    DCE writes `guild` and `channel` before `messages`; a file that puts its
    messages first still works, its messages are held until the channel is read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.channel: ChannelInfo | None = None
        self.guild_id: str | None = None
        self.skipped: Counter[str] = Counter()

    def messages(self) -> Iterator[Message]:
        """Validated messages in file order; bots' and system notices are counted, not yielded."""
        pending: list[Any] = []
        count = 0
        has_array = False
        for key, value in stream_members(self.path, HEADER_KEYS, "messages", FIX_HINT):
            if key == "messages[":
                has_array = True
            elif key == "messages[]":
                if self.channel is None:
                    pending.append(value)
                else:
                    yield from self._kept(count, [value])
                count += 1
            elif key == "messages":
                raise _shape_error(self.path, "messages", "a 'messages' array is required")
            elif key == "channel":
                self.channel = _channel_info(self.path, value)
                yield from self._kept(count - len(pending), pending)
                pending = []
            elif key == "guild" and isinstance(value, dict):
                self.guild_id = _optional_id(value.get("id"))
        if self.channel is None:
            raise _shape_error(self.path, "channel", "a 'channel' object is required")
        if not has_array:
            raise _shape_error(self.path, "messages", "a 'messages' array is required")

    def _kept(self, first_index: int, raw_messages: list[Any]) -> Iterator[Message]:
        assert self.channel is not None
        for offset, raw in enumerate(raw_messages):
            message = _message(self.path, f"messages[{first_index + offset}]", raw, self.channel,
                               self.guild_id, self.skipped)
            if message is not None:
                yield message


def imported_key(path: Path) -> str:
    """The watermark that marks a file's exact content as imported (sha256 of its bytes)."""
    try:
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the export: {exc}") from None
    return f"discord-export:sha256:{digest}"


#: a file modified this recently may change again within the clock's granularity
#: without its mtime moving, so its stat is not trusted next time (as git does)
RACY_S = 2.0


def stat_key(path: Path) -> str:
    """The watermark holding what `stat` said of this file when its content was imported."""
    return f"discord-export:stat:{os.path.abspath(path)}"  # resolve() costs syscalls


def file_stamp(path: Path, key: str, now: float) -> str | None:
    """`size:mtime_ns:inode:<imported key>`, or None when the file is too fresh to trust."""
    try:
        info = path.stat()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the export: {exc}") from None
    if now - info.st_mtime_ns / 1e9 < RACY_S:
        return None
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}:{key}"


def known_key(path: Path, watermarks: Mapping[str, str]) -> str | None:
    """The imported key recorded for this file, if its size, mtime and inode still match.

    Hashing every export again each run costs time in proportion to the whole
    history; a file whose stat is unchanged has the content it had (a changed
    stat means hashing again, so an edited file is still detected).
    """
    recorded = watermarks.get(stat_key(path))
    if recorded is None:
        return None
    size, mtime, inode, key = recorded.split(":", 3)
    try:
        info = path.stat()
    except OSError:
        return None
    same = (str(info.st_size), str(info.st_mtime_ns), str(info.st_ino)) == (size, mtime, inode)
    return key if same and key in watermarks else None


def _shape_error(path: Path, where: str, what: str) -> InputError:
    return InputError(f"{path}: {where}: {what}; this is not a DiscordChatExporter JSON export "
                      f"({FIX_HINT})")


def _channel_info(path: Path, channel: Any) -> ChannelInfo:
    if not isinstance(channel, dict):
        raise _shape_error(path, "channel", "a 'channel' object is required")
    channel_id = _required_id(path, "channel.id", channel.get("id"))
    name = _text(channel.get("name"))
    if str(channel.get("type", "")) in THREAD_TYPES:
        parent_id = _optional_id(channel.get("categoryId"))
        if parent_id is None:
            raise _shape_error(path, "channel.categoryId",
                               "a thread export must name its parent channel")
        return ChannelInfo(channel_id, name, "thread", parent_id, _text(channel.get("category")))
    return ChannelInfo(channel_id, name, "channel")


def _required_id(path: Path, where: str, value: Any) -> str:
    result = _optional_id(value)
    if result is None:
        raise InputError(f"{path}: {where} is missing or empty; every message needs it "
                         f"({FIX_HINT})")
    return result


def _optional_id(value: Any) -> str | None:
    """Ids are strings in DCE; accept integers too, reject anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and value.strip():
        return clean_line(value) or None
    if isinstance(value, int) and 0 <= value < 2**64:  # a snowflake; not a 5,000-digit number
        return str(value)
    return None


def _text(value: Any) -> str:
    """A display string (names) on one clean line; numbers spelled out; else empty."""
    if isinstance(value, str):
        return clean_line(value)
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _timestamp(path: Path, where: str, value: Any, required: bool) -> datetime | None:
    """ISO 8601 with the exporter's offset; a missing offset is taken as UTC."""
    if value is None or value == "":
        if required:
            raise InputError(f"{path}: {where} is missing; every message needs a timestamp "
                             f"({FIX_HINT})")
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        parsed = datetime.fromisoformat(value)
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        parsed.timestamp()  # year 1 at +01:00 parses but has no epoch time
    except (ValueError, OverflowError):
        shown = clean_line(str(value))[:40]
        raise InputError(f"{path}: {where}: '{shown}' is not an ISO 8601 timestamp "
                         f"({FIX_HINT})") from None
    return parsed


def _message(path: Path, where: str, raw: Any, channel: ChannelInfo, guild_id: str | None,
             skipped: Counter[str]) -> Message | None:
    """Validate one message; None when it is a bot's or a system notice."""
    if not isinstance(raw, dict):
        raise _shape_error(path, where, "each message must be a JSON object")
    message_id = _required_id(path, f"{where}.id", raw.get("id"))
    timestamp = _timestamp(path, f"{where}.timestamp", raw.get("timestamp"), required=True)
    edited = _timestamp(path, f"{where}.timestampEdited", raw.get("timestampEdited"), False)
    author = raw.get("author")
    if not isinstance(author, dict):
        raise InputError(f"{path}: {where}.author.id is missing; every message needs an author "
                         f"({FIX_HINT})")
    author_id = _required_id(path, f"{where}.author.id", author.get("id"))
    if author.get("isBot") is True:
        skipped["bot"] += 1
        return None
    kind = _text(raw.get("type", "Default"))
    if kind not in KEPT_TYPES:
        skipped["system"] += 1
        if kind not in SYSTEM_TYPES and not kind.isdigit():
            log.debug("%s: %s: unknown message type %r dropped", path, where, kind)
        return None
    assert timestamp is not None
    return Message(
        id=message_id, guild_id=guild_id,
        channel_id=channel.parent_id if channel.is_thread and channel.parent_id else channel.id,
        channel_name=(channel.parent_name or "") if channel.is_thread else channel.name,
        thread_id=channel.id if channel.is_thread else None,
        thread_name=channel.name if channel.is_thread else None,
        author_id=author_id, author_name=_text(author.get("nickname") or author.get("name")),
        content=plain_text(_content(path, where, raw.get("content")), raw.get("mentions"),
                           channel),
        timestamp=timestamp, edited_at=edited,
        reply_to=_reply_target(raw.get("reference")),
        attachments=_count(raw.get("attachments")),
        has_sticker=_count(raw.get("stickers")) > 0,
        reactions=reaction_counts(raw.get("reactions")),
        mentions=mentioned_ids(raw.get("mentions")),
    )


def _content(path: Path, where: str, value: Any) -> str:
    """The message text: a string (or null for none); anything else is not an export.

    Control characters and lone surrogates are cleaned by ingest (`sanitize`).
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _shape_error(path, f"{where}.content", "the message text must be a string")
    return value


def _reply_target(reference: Any) -> str | None:
    """`reference.messageId`, whatever the message `type` says (may be Default).

    A forwarded message also carries a reference (`type: "Forward"`), but it
    shares a message from elsewhere rather than answering it.
    """
    if not isinstance(reference, dict) or reference.get("type") == "Forward":
        return None
    return _optional_id(reference.get("messageId"))


def _count(value: Any) -> int:
    """How many attachments/stickers a message has (a list in DCE; else none)."""
    return len(value) if isinstance(value, list) else 0


class ExportSource(Source):
    """Messages from DCE JSON files (a file, or a folder searched recursively).

    Files are read one at a time as streams and handed out in batches of
    `BATCH_SIZE`, so memory does not grow with the export. The source is
    `atomic`: ingest stores all of it in one transaction, so a bad file
    anywhere in a folder leaves the database as it was. A file whose exact
    content was imported before (its sha256 is kept as a watermark) is not
    read again: importing it again could not change anything. Its size, mtime
    and inode are kept too, so while they stay the same it is not even hashed.
    """

    atomic = True

    def __init__(self, path: Path, spec: str, files: list[Path] | None = None) -> None:
        self.path = path
        self.spec = spec
        self._files = files  # listed when the spec was checked; read once, then listed anew

    @classmethod
    def from_spec(cls, kind: str, value: str, settings: Settings) -> ExportSource:
        """`discord-export:PATH`; a missing path fails here, the files when they are read."""
        path = Path(value).expanduser()
        return cls(path, f"{kind}:{value}", export_files(path))

    def batches(self, since: datetime | None, watermarks: Mapping[str, str]) -> Iterator[Batch]:
        """Each new file's messages in file order, in batches; the last one marks the file read.

        Copies of one message in several files are all yielded (counted as
        `duplicate`); the store keeps the newest edit.
        """
        seen: set[str] = set()
        files, self._files = self._files or export_files(self.path), None
        for path in files:
            if known_key(path, watermarks) is not None:
                log.debug("%s: imported before, size, time and inode unchanged", path)
                continue
            now = datetime.now(UTC).timestamp()
            key = imported_key(path)
            stamp = file_stamp(path, key, now)
            if key in watermarks:
                log.debug("%s: imported before, unchanged", path)
            else:
                yield from _file_batches(path, key, seen)
            if stamp is not None:  # next run trusts the stat instead of hashing again
                yield Batch(messages=[], watermark_key=stat_key(path), watermark=stamp)

    def check(self) -> list[ChannelCount]:
        """Channels and threads in the export with the messages kept from each."""
        channels: dict[str, ChannelInfo] = {}
        ids: dict[str, set[str]] = {}
        files: Counter[str] = Counter()
        owner: dict[str, str] = {}
        for path in export_files(self.path):
            reader = ExportReader(path)
            for message in reader.messages():
                assert reader.channel is not None
                ids.setdefault(owner.setdefault(message.id, reader.channel.id),
                               set()).add(message.id)
            assert reader.channel is not None
            channels.setdefault(reader.channel.id, reader.channel)
            files[reader.channel.id] += 1
        return [
            ChannelCount(id=info.id, name=info.name, kind=info.kind,
                         messages=len(ids.get(key, ())), parent_id=info.parent_id,
                         note=f"{files[key]} file(s)")
            for key, info in sorted(channels.items())
        ]


def _file_batches(path: Path, key: str, seen: set[str]) -> Iterator[Batch]:
    """One file's messages in batches; the last batch carries the file's watermark."""
    reader = ExportReader(path)
    chunk: list[Message] = []
    duplicates = 0
    for message in reader.messages():
        if message.id in seen:
            duplicates += 1
        seen.add(message.id)
        chunk.append(message)
        if len(chunk) >= BATCH_SIZE:
            yield Batch(messages=chunk)
            chunk = []
    skipped = dict(reader.skipped + Counter(duplicate=duplicates))
    yield Batch(messages=chunk, watermark_key=key, watermark=str(path), skipped=skipped)
