"""Channel and role names of a guild, for writing `<#id>` and `<@&id>` as an export does.

The REST source already knows the channels and threads it reads, their parents, and (when
it reads a whole guild) the guild's channel list. Any other channel, and every role, is
asked of the guild once per run (`GET /guilds/{id}/channels`, `GET /guilds/{id}/roles`),
and only when a message names one: most runs never ask. A list the guild refuses (403,
404) or that keeps failing after the client's retries is asked no more this run; the
mentions it would have named read `#unknown-channel` / `@unknown-role`, with a warning
for that list, and the run goes on: a name in a quote is never worth a lost run. A
rejected token (401) still stops the run, as everywhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from docloop.backends.sources.discord_http import (
    DiscordBadBody,
    DiscordForbidden,
    DiscordHttp,
    DiscordNotFound,
)
from docloop.backends.sources.discord_threads import Discovery, Stream
from docloop.backends.sources.markup import channel_label, with_ids
from docloop.errors import TransientError

log = logging.getLogger(__name__)

#: the name of a channel list entry worth keeping: a string id and a non-empty string name
Named = tuple[str, str]


class GuildNames:
    """The `markup.Names` of one guild, read from the REST API on first need."""

    def __init__(self, http: DiscordHttp, guild_id: str | None,
                 known: Iterable[Named], listed: list[dict[str, Any]] | None = None) -> None:
        self.http = http
        self.guild_id = guild_id
        self._channels = dict(known)
        self._listed = listed is not None
        self._channels.update(_channel_names(listed or []))
        self._roles: dict[str, str] | None = None

    def channel(self, channel_id: str) -> str | None:
        if channel_id not in self._channels and not self._listed:
            self._listed = True
            for key, name in _channel_names(self._ask("channels", "channel list")).items():
                self._channels.setdefault(key, name)
        return self._channels.get(channel_id)

    def role(self, role_id: str) -> str | None:
        if self._roles is None:
            self._roles = {key: role["name"]
                           for key, role in _names(self._ask("roles", "role list")).items()}
        return self._roles.get(role_id)

    def _ask(self, route: str, what: str) -> list[dict[str, Any]]:
        """The guild's list at `route`; [] (with a warning) when it cannot be had."""
        if not self.guild_id:
            return []
        target = f"{what} of guild {self.guild_id}"
        try:
            body = self.http.get(f"/guilds/{self.guild_id}/{route}", what=target,
                                 forbidden_hint="the bot may not read it")
        except (DiscordForbidden, DiscordNotFound, DiscordBadBody, TransientError) as exc:
            log.warning("Discord: %s unreadable, so its mentions read as unknown: %s",
                        target, exc)
            return []
        if not isinstance(body, list):
            log.warning("Discord: %s is not a list (%s), so its mentions read as unknown",
                        target, type(body).__name__)
            return []
        return [raw for raw in body if isinstance(raw, dict)]


def _names(raw: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Id -> entry, for the entries with an id and a name to write (junk is left out)."""
    return {key: entry for key, entry in with_ids(raw)
            if isinstance(entry.get("name"), str) and entry["name"]}


def _channel_names(raw: list[dict[str, Any]]) -> dict[str, str]:
    return {key: channel_label(c["name"], c.get("type")) for key, c in _names(raw).items()}


def _known(streams: Iterable[Stream]) -> Iterator[Named]:
    """The names discovery already has: each stream (readable or not), its threads, and
    a thread's parent (a thread read alone knows its parent's name)."""
    for channel in streams:
        for stream in (channel, *channel.threads):
            if stream.name and stream.name != stream.id:
                yield stream.id, channel_label(stream.name, stream.type)
            if stream.is_thread and stream.parent_id and stream.parent_name:
                yield stream.parent_id, stream.parent_name


class NamesByGuild:
    """One `GuildNames` per guild a run reads, seeded with what discovery listed."""

    def __init__(self, http: DiscordHttp, discovery: Discovery) -> None:
        self.http = http
        self.discovery = discovery
        self._guilds: dict[str | None, GuildNames] = {}

    def of(self, guild_id: str | None) -> GuildNames:
        if guild_id not in self._guilds:
            streams = [s for s in self.discovery.channels() if s.guild_id == guild_id]
            listed = (self.discovery.guild_channels
                      if guild_id and guild_id == self.discovery.guild_id else None)
            self._guilds[guild_id] = GuildNames(self.http, guild_id, _known(streams), listed)
        return self._guilds[guild_id]
