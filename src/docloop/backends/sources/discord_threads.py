"""Find the channels and threads a Discord source reads.

Discord has no per-channel "active threads" route: active threads come from one
guild-wide listing filtered by parent; archived threads are listed per channel,
paged by an ISO-8601 `before` timestamp (not a snowflake). A thread can move
from active to archived between the two calls, so threads are de-duplicated by
id. Forum and media channels hold only threads (posts) and no messages of their
own. Private archived threads need Manage Threads; without it they are skipped
with a warning rather than failing the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from docloop.backends.sources.base import ChannelCount
from docloop.backends.sources.discord_http import (
    CHANNEL_PERMISSIONS,
    DiscordForbidden,
    DiscordHttp,
    DiscordNotFound,
)
from docloop.backends.sources.discord_map import Where

log = logging.getLogger(__name__)

TEXT, ANNOUNCEMENT, FORUM, MEDIA = 0, 5, 15, 16
THREAD_TYPES = frozenset({10, 11, 12})
#: Guild channel types docloop reads (text, announcement, forum, media).
READ_TYPES = frozenset({TEXT, ANNOUNCEMENT, FORUM, MEDIA})
KIND_NAMES = {
    -1: "unknown",
    TEXT: "text",
    ANNOUNCEMENT: "announcement",
    10: "announcement-thread",
    11: "thread",
    12: "private-thread",
    FORUM: "forum",
    MEDIA: "media",
}
ARCHIVE_PAGE = 100
PRIVATE_HINT = "listing private archived threads needs the Manage Threads permission"


@dataclass
class Stream:
    """One channel or thread whose messages are read in one watermarked sequence."""

    id: str
    name: str
    type: int
    guild_id: str | None = None
    parent_id: str | None = None
    parent_name: str | None = None
    last_message_id: str | None = None
    message_count: int | None = None
    threads: list[Stream] = field(default_factory=list)
    error: str | None = None
    note: str = ""
    overwrites: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_channel(cls, raw: dict[str, Any], parent: Stream | None = None) -> Stream:
        count = raw.get("message_count")
        return cls(
            id=str(raw["id"]),
            name=raw.get("name") or str(raw["id"]),
            type=int(raw.get("type", TEXT)),
            guild_id=raw.get("guild_id") or (parent.guild_id if parent else None),
            parent_id=parent.id if parent else raw.get("parent_id"),
            parent_name=parent.name if parent else None,
            last_message_id=raw.get("last_message_id"),
            message_count=int(count) if count is not None else None,
            overwrites=list(raw.get("permission_overwrites") or []),
        )

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def has_messages(self) -> bool:
        """Forum and media channels only hold threads."""
        return self.type not in (FORUM, MEDIA)

    @property
    def label(self) -> str:
        if self.is_thread:
            return f"thread {self.id} ({self.name}) in channel {self.parent_id}"
        return f"channel {self.id} (#{self.name})"

    @property
    def where(self) -> Where:
        if self.is_thread:
            return Where(
                self.guild_id, self.parent_id or "", self.parent_name or "", self.id, self.name
            )
        return Where(self.guild_id, self.id, self.name)

    def count(self) -> ChannelCount:
        note = f"not readable: {self.error}" if self.error else self.note
        return ChannelCount(
            id=self.id,
            name=self.name,
            kind=KIND_NAMES.get(self.type, str(self.type)),
            messages=self.message_count,
            parent_id=self.parent_id if self.is_thread else None,
            note=note,
        )


class Discovery:
    """Lists the streams of explicit channel ids or of a whole guild (cached per run)."""

    def __init__(
        self, http: DiscordHttp, *, channel_ids: list[str] | None, guild_id: str | None
    ) -> None:
        self.http = http
        self.channel_ids = channel_ids or []
        self.guild_id = guild_id
        self._active: dict[str, list[dict[str, Any]]] = {}
        self._streams: list[Stream] | None = None
        #: the guild's whole channel list as listed (guild mode): voice channels and
        #: categories too, which a message may name (discord_names.py)
        self.guild_channels: list[dict[str, Any]] | None = None

    def channels(self) -> list[Stream]:
        """Readable channels, each with its threads attached."""
        if self._streams is None:
            self._streams = self._guild_streams() if self.guild_id else self._explicit_streams()
        return self._streams

    def _guild_streams(self) -> list[Stream]:
        raw = self.http.get(
            f"/guilds/{self.guild_id}/channels",
            what=f"guild {self.guild_id}",
            forbidden_hint="invite the bot to that server first (see docs/discord-bot.md)",
        )
        self.guild_channels = list(raw)
        wanted = [c for c in raw if int(c.get("type", -1)) in READ_TYPES]
        wanted.sort(key=lambda c: (c.get("position") or 0, int(c["id"])))
        streams = []
        for channel in wanted:
            channel.setdefault("guild_id", self.guild_id)
            stream = Stream.from_channel(channel)
            try:
                stream.threads = self._threads(stream)
            except (DiscordForbidden, DiscordNotFound) as exc:  # no access, or deleted since
                stream.error = str(exc)
            streams.append(stream)
        return streams

    def _explicit_streams(self) -> list[Stream]:
        """The named channels; one the bot may not open is kept with its error."""
        streams = []
        for channel_id in self.channel_ids:
            try:
                streams.append(self._explicit_stream(channel_id))
            except DiscordForbidden as exc:
                streams.append(Stream(id=channel_id, name=channel_id, type=-1, error=str(exc)))
        return streams

    def _explicit_stream(self, channel_id: str) -> Stream:
        raw = self.http.get(f"/channels/{channel_id}", what=f"channel {channel_id}")
        if int(raw.get("type", -1)) in THREAD_TYPES:
            return self._lone_thread(raw)
        stream = Stream.from_channel(raw)
        stream.threads = self._threads(stream)
        return stream

    def _lone_thread(self, raw: dict[str, Any]) -> Stream:
        """A thread given by id: read it alone, named after its parent channel."""
        parent_id = str(raw.get("parent_id") or "")
        parent = self.http.get(f"/channels/{parent_id}", what=f"channel {parent_id}")
        return Stream.from_channel(raw, Stream.from_channel(parent))

    def _threads(self, channel: Stream) -> list[Stream]:
        """Active, archived public and (when allowed) archived private threads, once each."""
        found: dict[str, dict[str, Any]] = {}
        for raw in self._active_threads(channel.guild_id):
            if str(raw.get("parent_id")) == channel.id:
                found.setdefault(str(raw["id"]), raw)
        for raw in self._archived(channel, "public"):
            found.setdefault(str(raw["id"]), raw)
        if channel.type == TEXT:
            try:
                for raw in self._archived(channel, "private"):
                    found.setdefault(str(raw["id"]), raw)
            except DiscordForbidden:
                channel.note = "private archived threads skipped (needs Manage Threads)"
                log.warning("Discord: %s: %s", channel.label, channel.note)
        ordered = sorted(found.values(), key=lambda raw: int(raw["id"]))
        return [Stream.from_channel(raw, channel) for raw in ordered]

    def _active_threads(self, guild_id: str | None) -> list[dict[str, Any]]:
        if not guild_id:
            return []
        if guild_id not in self._active:
            body = self.http.get(
                f"/guilds/{guild_id}/threads/active", what=f"active threads of guild {guild_id}"
            )
            self._active[guild_id] = list(body.get("threads") or [])
        return self._active[guild_id]

    def _archived(self, channel: Stream, scope: str) -> list[dict[str, Any]]:
        """Every archived thread of one scope, paged by `archive_timestamp`."""
        threads: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": ARCHIVE_PAGE}
        while True:
            body = self.http.get(
                f"/channels/{channel.id}/threads/archived/{scope}",
                params,
                what=f"{scope} archived threads of {channel.label}",
                forbidden_hint=PRIVATE_HINT if scope == "private" else CHANNEL_PERMISSIONS,
            )
            page = list(body.get("threads") or [])
            threads.extend(page)
            if not body.get("has_more") or not page:
                return threads
            params = {
                "limit": ARCHIVE_PAGE,
                "before": page[-1]["thread_metadata"]["archive_timestamp"],
            }
