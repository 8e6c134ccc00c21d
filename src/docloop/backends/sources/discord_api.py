"""Live Discord ingestion over the REST API (`discord:IDS`, `discord-guild:ID`).

Reads each channel and thread forward from its watermark, one `Batch` per page
of up to 100 messages, so the ingest stage can store a page and advance the
watermark in one transaction: a run killed half-way loses and duplicates
nothing. Message mapping rules live in `discord_map`, HTTP and rate limits in
`discord_http`, channel and thread discovery in `discord_threads`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from docloop.backends.sources.base import Batch, ChannelCount, Source
from docloop.backends.sources.discord_http import DiscordForbidden, DiscordHttp, DiscordNotFound
from docloop.backends.sources.discord_map import (
    Where,
    looks_contentless,
    skip_reason,
    snowflake_from,
    to_message,
)
from docloop.backends.sources.discord_names import NamesByGuild
from docloop.backends.sources.discord_permissions import (
    BotMember,
    channel_permissions,
    guild_permissions,
    reply_note,
)
from docloop.backends.sources.discord_threads import Discovery, Stream
from docloop.backends.sources.markup import Names
from docloop.config import Settings
from docloop.errors import ConfigError, PermanentError
from docloop.models import Message

log = logging.getLogger(__name__)

PAGE_SIZE = 100
THREAD_STARTER = 21
#: Application flags meaning the MESSAGE_CONTENT intent is enabled.
GATEWAY_MESSAGE_CONTENT = 1 << 18
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
INTENT_HELP = (
    "Discord returns messages without their text: the bot's MESSAGE_CONTENT intent is off. "
    "Open https://discord.com/developers/applications > your app > Bot > Privileged Gateway "
    "Intents, enable 'Message Content Intent', save, and run again (see docs/discord-bot.md)."
)


def watermark_key(stream_id: str) -> str:
    """The watermark name of one channel or thread."""
    return f"discord:channel:{stream_id}"


class DiscordSource(Source):
    """Messages of explicit channels/threads, or of every readable channel of a guild."""

    def __init__(
        self,
        http: DiscordHttp,
        *,
        channel_ids: list[str] | None = None,
        guild_id: str | None = None,
        spec: str = "",
    ) -> None:
        if bool(channel_ids) == bool(guild_id):
            raise ConfigError("a Discord source needs either channel ids or one guild id")
        self.http = http
        self.spec = spec
        self.discovery = Discovery(http, channel_ids=channel_ids, guild_id=guild_id)
        self.names = NamesByGuild(http, self.discovery)
        self._intent_ok = False

    @classmethod
    def from_spec(cls, kind: str, value: str, settings: Settings) -> DiscordSource:
        """Build from `discord:ID[,ID...]` or `discord-guild:GUILD_ID`."""
        ids = [part.strip() for part in value.split(",") if part.strip()]
        bad = [part for part in ids if not part.isdigit()]
        if not ids or bad or (kind == "discord-guild" and len(ids) != 1):
            raise ConfigError(
                f"invalid source '{kind}:{value}': use discord:CHANNEL_ID[,CHANNEL_ID...] or "
                "discord-guild:GUILD_ID with numeric Discord ids (Developer Mode > Copy ID)"
            )
        http = DiscordHttp(settings)
        spec = f"{kind}:{value}"
        if kind == "discord-guild":
            return cls(http, guild_id=ids[0], spec=spec)
        return cls(http, channel_ids=ids, spec=spec)

    def batches(self, since: datetime | None, watermarks: Mapping[str, str]) -> Iterator[Batch]:
        """Every new message of every stream, oldest first within a stream."""
        for channel in self.discovery.channels():
            if channel.error:
                self._unreadable(channel.label, DiscordForbidden(channel.error))
                continue
            lone_thread = channel.is_thread  # its starter lives in a parent we do not read
            streams = [channel] if channel.has_messages else []
            for stream in [*streams, *channel.threads]:
                try:
                    yield from self._read(
                        stream, self._start(stream, since, watermarks), lone_thread
                    )
                except (DiscordForbidden, DiscordNotFound) as exc:
                    self._unreadable(stream.label, exc)

    @staticmethod
    def _start(stream: Stream, since: datetime | None, watermarks: Mapping[str, str]) -> str:
        """`after` for a stream: its watermark, else a snowflake from `since`, else 0."""
        return watermarks.get(watermark_key(stream.id)) or (
            snowflake_from(since) if since else "0"
        )

    def _unreadable(self, label: str, error: PermanentError) -> None:
        """Guild mode skips what the bot may not read, or what was deleted since it was
        listed (a thread removed mid-run answers 404); named channels must be readable."""
        if self.discovery.guild_id is None:
            raise error
        log.warning("Discord: skipping %s: %s", label, error)

    def check(self) -> list[ChannelCount]:
        """Verify the token and list every channel and thread the bot can read."""
        bot = self.http.get("/users/@me", what="the bot user (token check)")
        counts: list[ChannelCount] = []
        members: dict[str, BotMember | str] = {}
        for channel in self.discovery.channels():
            reply = self._reply_permission(channel, str(bot.get("id", "")), members)
            counts.append(replace(channel.count(), reply=reply))
            counts.extend(replace(thread.count(), reply=reply) for thread in channel.threads)
        return counts

    def _reply_permission(self, channel: Stream, bot_id: str,
                          members: dict[str, BotMember | str]) -> str:
        """Whether the bot may reply in this channel and its threads (threads inherit)."""
        if channel.error or not channel.guild_id:
            return ""
        if channel.guild_id not in members:
            members[channel.guild_id] = self._bot_member(channel.guild_id, bot_id)
        member = members[channel.guild_id]
        if isinstance(member, str):
            return member
        return reply_note(channel_permissions(member, channel.overwrites))

    def _bot_member(self, guild_id: str, bot_id: str) -> BotMember | str:
        """The bot's roles and guild permissions, or why they could not be read."""
        try:
            roles = self.http.get(f"/guilds/{guild_id}/roles", what=f"roles of guild {guild_id}")
            member = self.http.get(f"/guilds/{guild_id}/members/{bot_id}",
                                   what=f"the bot's membership in guild {guild_id}")
        except PermanentError as exc:
            return f"unknown: {exc}"
        role_ids = frozenset(str(r) for r in member.get("roles") or [])
        return BotMember(guild_id, bot_id, role_ids,
                         guild_permissions(guild_id, roles, role_ids))

    def _read(self, stream: Stream, after: str, with_starter: bool) -> Iterator[Batch]:
        """Pages after `after` until a short page."""
        key = watermark_key(stream.id)
        if stream.last_message_id and int(stream.last_message_id) <= int(after):
            return  # nothing newer than the watermark: save the request
        while True:
            page = self._page(stream, after)
            if not page:
                return
            yield self._to_batch(page, stream.where, key, with_starter)
            after = page[-1]["id"]
            if len(page) < PAGE_SIZE:
                return

    def _page(self, stream: Stream, after: str) -> list[dict[str, Any]]:
        """One page after `after`, oldest first (Discord sends newest first even then)."""
        raw = self.http.get(
            f"/channels/{stream.id}/messages",
            {"after": after, "limit": PAGE_SIZE},
            what=stream.label,
        )
        page = sorted(raw, key=lambda message: int(message["id"]))
        self._ensure_content_intent(page)
        return page

    def _to_batch(
        self,
        page: list[dict[str, Any]],
        where: Where,
        key: str,
        with_starter: bool,
    ) -> Batch:
        """Kept messages of a page; the watermark is the newest id *read*.

        Dropped messages (bots, system) need not be read again, so the watermark
        covers them too; it is saved only after the kept ones are stored.
        """
        batch = Batch(messages=[], watermark_key=key, watermark=page[-1]["id"])
        names = self.names.of(where.guild_id)
        for raw in page:
            reason = skip_reason(raw)
            if reason is None:
                batch.messages.append(to_message(raw, where, names))
                continue
            batch.skipped[reason] = batch.skipped.get(reason, 0) + 1
            starter = _starter_of_thread(raw, where, names) if with_starter else None
            if starter is not None:
                batch.messages.append(starter)
        return batch

    def _ensure_content_intent(self, page: list[dict[str, Any]]) -> None:
        """Stop with a fix when every kept message of a page is empty and the intent is off."""
        kept = [raw for raw in page if skip_reason(raw) is None]
        if self._intent_ok or not kept or not all(looks_contentless(raw) for raw in kept):
            return
        app = self.http.get("/applications/@me", what="the bot's application")
        flags = int(app.get("flags") or 0)
        if not flags & (GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED):
            raise PermanentError(INTENT_HELP)
        self._intent_ok = True


def _starter_of_thread(raw: dict[str, Any], where: Where, names: Names) -> Message | None:
    """The message a THREAD_STARTER_MESSAGE (type 21) points to, for a thread read alone.

    Such a thread's first message lives in the parent channel, which is not
    read; it is emitted exactly as a parent read would have (a message of the
    parent channel), so the conversation builder puts it at the thread's head.
    """
    if raw.get("type") != THREAD_STARTER or where.thread_id is None:
        return None
    starter = raw.get("referenced_message")
    if not isinstance(starter, dict) or starter.get("id") != where.thread_id:
        return None  # absent (not fetched) or null (deleted)
    if skip_reason(starter) is not None:
        return None
    return to_message(starter, where.parent, names)


__all__ = ["DiscordForbidden", "DiscordNotFound", "DiscordSource", "watermark_key"]
