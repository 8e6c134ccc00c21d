"""DiscordChatExporter (Tyrrrz) JSON exports as a message source.

DCE writes one file per channel; threads are separate files whose
`channel.categoryId`/`category` name the parent channel (API-FACTS §2). Every
file is parsed and validated before anything is yielded, so a malformed file
anywhere means nothing is stored. Exports are finite snapshots: all their
messages are yielded (the ingest window applies `--since`), which lets a
later run with a wider window work without importing again.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docloop.backends.sources.base import Batch, ChannelCount, Source
from docloop.backends.sources.reactions import reaction_counts
from docloop.config import Settings
from docloop.errors import InputError
from docloop.models import Message

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


@dataclass
class ParsedExport:
    """One export file after validation: its channel and kept messages."""

    path: Path
    channel: ChannelInfo
    messages: list[Message]
    skipped: Counter[str] = field(default_factory=Counter)


def export_files(path: Path) -> list[Path]:
    """The `.json` file given, or every `*.json` under the folder (sorted)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        if not files:
            raise InputError(f"{path}: no *.json DiscordChatExporter exports found in the folder")
        return files
    raise InputError(f"{path}: no such file or folder (check the discord-export:PATH source)")


def read_export(path: Path) -> ParsedExport:
    """Parse and validate one export; InputError names the file and JSON path."""
    data = _load_json(path)
    if not isinstance(data, dict):
        raise _shape_error(path, "$", "the top level must be a JSON object")
    channel = _channel_info(path, data)
    guild = data.get("guild")
    guild_id = _optional_id(guild.get("id")) if isinstance(guild, dict) else None
    raw_messages = data.get("messages")
    if not isinstance(raw_messages, list):
        raise _shape_error(path, "messages", "a 'messages' array is required")
    parsed = ParsedExport(path, channel, [])
    for index, raw in enumerate(raw_messages):
        message = _message(path, f"messages[{index}]", raw, channel, guild_id, parsed.skipped)
        if message is not None:
            parsed.messages.append(message)
    return parsed


def _load_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            f"the file may be truncated - {FIX_HINT}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the export: {exc}") from None


def _shape_error(path: Path, where: str, what: str) -> InputError:
    return InputError(f"{path}: {where}: {what}; this is not a DiscordChatExporter JSON export "
                      f"({FIX_HINT})")


def _channel_info(path: Path, data: dict[str, Any]) -> ChannelInfo:
    channel = data.get("channel")
    if not isinstance(channel, dict):
        raise _shape_error(path, "channel", "a 'channel' object is required")
    channel_id = _required_id(path, "channel.id", channel.get("id"))
    name = str(channel.get("name") or "")
    if str(channel.get("type", "")) in THREAD_TYPES:
        parent_id = _optional_id(channel.get("categoryId"))
        if parent_id is None:
            raise _shape_error(path, "channel.categoryId",
                               "a thread export must name its parent channel")
        return ChannelInfo(channel_id, name, "thread", parent_id,
                           str(channel.get("category") or ""))
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
    if isinstance(value, int | str) and str(value).strip():
        return str(value).strip()
    return None


def _timestamp(path: Path, where: str, value: Any, required: bool) -> datetime | None:
    """ISO 8601 with the exporter's offset; a missing offset is taken as UTC."""
    if value is None or value == "":
        if required:
            raise InputError(f"{path}: {where} is missing; every message needs a timestamp "
                             f"({FIX_HINT})")
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{path}: {where}: '{value}' is not an ISO 8601 timestamp "
                         f"({FIX_HINT})") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
    kind = str(raw.get("type", "Default"))
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
        author_id=author_id, author_name=str(author.get("nickname") or author.get("name") or ""),
        content=str(raw.get("content") or ""), timestamp=timestamp, edited_at=edited,
        reply_to=_reply_target(raw.get("reference")),
        attachments=_count(raw.get("attachments")),
        has_sticker=_count(raw.get("stickers")) > 0,
        reactions=reaction_counts(raw.get("reactions")),
    )


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


def newest_wins(current: Message, candidate: Message) -> Message:
    """Of two copies of one message, the later edit (else the later occurrence)."""
    floor = datetime.min.replace(tzinfo=UTC)
    if (candidate.edited_at or floor) >= (current.edited_at or floor):
        return candidate
    return current


@dataclass
class MergedExports:
    """All files of one source, merged per channel/thread with duplicates collapsed."""

    channels: dict[str, ChannelInfo] = field(default_factory=dict)
    messages: dict[str, dict[str, Message]] = field(default_factory=dict)
    skipped: dict[str, Counter[str]] = field(default_factory=dict)
    files: Counter[str] = field(default_factory=Counter)
    owner: dict[str, str] = field(default_factory=dict)

    def add(self, export: ParsedExport) -> None:
        key = export.channel.id
        self.channels.setdefault(key, export.channel)
        self.messages.setdefault(key, {})
        self.skipped.setdefault(key, Counter()).update(export.skipped)
        self.files[key] += 1
        for message in export.messages:
            self._add_message(key, message)

    def _add_message(self, key: str, message: Message) -> None:
        """Keep only the newest copy of an id, whichever file or channel it came from."""
        previous_key = self.owner.get(message.id)
        if previous_key is not None:
            self.skipped[key]["duplicate"] += 1
            previous = self.messages[previous_key][message.id]
            if newest_wins(previous, message) is previous:
                return
            del self.messages[previous_key][message.id]
        self.messages[key][message.id] = message
        self.owner[message.id] = key

    def ordered(self, key: str) -> list[Message]:
        return sorted(self.messages[key].values(), key=lambda m: (m.timestamp, m.id))


class ExportSource(Source):
    """Messages from DCE JSON files (a file, or a folder searched recursively)."""

    def __init__(self, path: Path, spec: str) -> None:
        self.path = path
        self.spec = spec

    @classmethod
    def from_spec(cls, kind: str, value: str, settings: Settings) -> ExportSource:
        """`discord-export:PATH`; a missing path fails here, the files when they are read."""
        path = Path(value).expanduser()
        export_files(path)
        return cls(path, f"{kind}:{value}")

    def batches(self, since: datetime | None, watermarks: Mapping[str, str]) -> Iterator[Batch]:
        """One batch per channel or thread, all files validated first."""
        merged = self.read_all()
        for key in sorted(merged.channels):
            yield Batch(messages=merged.ordered(key), skipped=dict(merged.skipped[key]))

    def check(self) -> list[ChannelCount]:
        """Channels and threads in the export with the messages kept from each."""
        merged = self.read_all()
        return [
            ChannelCount(id=info.id, name=info.name, kind=info.kind,
                         messages=len(merged.messages[key]), parent_id=info.parent_id,
                         note=f"{merged.files[key]} file(s)")
            for key, info in sorted(merged.channels.items())
        ]

    def read_all(self) -> MergedExports:
        """Parse and validate every file before merging any of them."""
        parsed = [read_export(path) for path in export_files(self.path)]
        merged = MergedExports()
        for export in parsed:
            merged.add(export)
        return merged
