"""Map Discord REST message objects to `docloop.models.Message`.

Kept apart from the HTTP and paging code so the rules that must agree with the
DiscordChatExporter source live in one screen:

* thread messages carry `thread_id`/`thread_name`, with `channel_id`/
  `channel_name` naming the parent channel. A thread's starter message (its id
  equals the thread id) is posted in the parent and stays a channel message,
  as in an export; the conversation builder puts it at the head of its thread
  because its id is the thread id;
* replies: `reply_to` = `message_reference.message_id` of a type-19 message
  (a reference on any other type, e.g. a crosspost, is not a reply);
* forwards (`message_reference.type == 1`): the text and attachments of the first
  `message_snapshots` entry, with `forwarded=True`;
* dropped: bot authors, webhook messages (`webhook_id`) and every type except
  0 DEFAULT and 19 REPLY. Type 21 THREAD_STARTER_MESSAGE is dropped on purpose:
  it only points at the real starter, which is read from the parent channel;
* attachments are counted, never stored (their CDN URLs are signed and expire);
* the text's markup reads as in an export (markup.py): `@name`, `#channel`, `:emoji:`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from docloop.backends.sources.markup import Listed, Names, mentioned_ids, plain_text
from docloop.backends.sources.reactions import reaction_counts
from docloop.models import Message

DISCORD_EPOCH_MS = 1_420_070_400_000
#: Message types kept: 0 DEFAULT, 19 REPLY. Everything else is a system message.
KEPT_TYPES = frozenset({0, 19})
REPLY_TYPE = 19
FORWARD_REFERENCE = 1


@dataclass(frozen=True)
class Where:
    """Where a page of messages was read: the channel and, for threads, the thread."""

    guild_id: str | None
    channel_id: str
    channel_name: str
    thread_id: str | None = None
    thread_name: str | None = None

    @property
    def parent(self) -> Where:
        """The parent channel of a thread (itself for a channel)."""
        return Where(self.guild_id, self.channel_id, self.channel_name)


def snowflake_from(moment: datetime) -> str:
    """The smallest snowflake at `moment` (for `after=`); 0 before Discord's epoch."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
    return str(max(0, ms) << 22)


def snowflake_time(snowflake: str) -> datetime:
    """When a snowflake was created."""
    ms = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


#: smaller numbers (dated in Discord's first month, before it launched) are not snowflakes
_MIN_SNOWFLAKE = (30 * 86_400_000) << 22


def snowflake_time_or_none(value: str) -> datetime | None:
    """When a Discord id was made, or None for an id that is not a snowflake (exports
    and tests may carry other ids)."""
    if not value.isdigit() or int(value) < _MIN_SNOWFLAKE:
        return None
    try:
        return snowflake_time(value)
    except (OverflowError, OSError, ValueError):
        return None


def skip_reason(raw: dict[str, Any]) -> str | None:
    """Why a message is dropped ("bot", "webhook", "system"), or None to keep it."""
    if raw.get("webhook_id"):
        return "webhook"
    if (raw.get("author") or {}).get("bot"):
        return "bot"
    if raw.get("type", 0) not in KEPT_TYPES:
        return "system"
    return None


def looks_contentless(raw: dict[str, Any]) -> bool:
    """True when a kept message carries nothing: what a missing MESSAGE_CONTENT intent gives."""
    return not (
        raw.get("content")
        or raw.get("attachments")
        or raw.get("embeds")
        or raw.get("sticker_items")
        or raw.get("stickers")
        or raw.get("message_snapshots")
        or raw.get("poll")
    )


def to_message(raw: dict[str, Any], where: Where, names: Names | None = None) -> Message:
    """Normalise one kept REST message read in `where`; its markup (`<@id>`, `<#id>`,
    `<:emoji:id>`, `<t:…>`) is written as the exporter writes it, channel and role names
    from `names` (markup.py)."""
    author = raw.get("author") or {}
    body = _forwarded_body(raw) or raw
    return Message(
        id=raw["id"],
        guild_id=where.guild_id,
        channel_id=where.channel_id,
        channel_name=where.channel_name,
        thread_id=where.thread_id,
        thread_name=where.thread_name,
        author_id=str(author.get("id", "")),
        author_name=author.get("global_name") or author.get("username") or "",
        content=plain_text(body.get("content") or "",
                           body.get("mentions") or raw.get("mentions"),
                           Listed.of(body.get("mention_channels"),
                                     names if _posted_here(raw, body, where) else None)),
        timestamp=_parse_time(raw["timestamp"]),
        edited_at=_parse_time(raw["edited_timestamp"]) if raw.get("edited_timestamp") else None,
        reply_to=_reply_to(raw),
        attachments=len(body.get("attachments") or []),
        has_sticker=bool(body.get("sticker_items") or body.get("stickers")),
        forwarded=body is not raw,
        reactions=reaction_counts(raw.get("reactions")),
        mentions=mentioned_ids(raw.get("mentions")),
    )


def _posted_here(raw: dict[str, Any], body: dict[str, Any], where: Where) -> bool:
    """Whether `body` was written in this guild: a message's own, or a forward from a
    channel of the same guild (another guild's channels and roles are not this one's)."""
    if body is raw:
        return True
    origin = (raw.get("message_reference") or {}).get("guild_id")
    return origin is not None and str(origin) == where.guild_id


def _forwarded_body(raw: dict[str, Any]) -> dict[str, Any] | None:
    reference = raw.get("message_reference") or {}
    snapshots = raw.get("message_snapshots") or []
    if reference.get("type") != FORWARD_REFERENCE or not snapshots:
        return None
    inner = snapshots[0].get("message")
    return inner if isinstance(inner, dict) else None


def _reply_to(raw: dict[str, Any]) -> str | None:
    if raw.get("type") != REPLY_TYPE:
        return None
    reference = raw.get("message_reference") or {}
    target = reference.get("message_id")
    return str(target) if target else None


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
