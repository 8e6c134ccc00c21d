"""Channel and role names of a guild, for writing `<#id>` and `<@&id>` as an export does.

The REST source already knows the channels and threads it reads (discovery). Any other
channel, and every role, is asked of the guild once (`GET /guilds/{id}/channels`,
`GET /guilds/{id}/roles`), and only when a message mentions one: most runs never ask.
A guild that refuses (the bot lacks access) or fails after the client's retries is
asked no more this run; its mentions read `#unknown-channel` / `@unknown-role`, with
one warning, and the run goes on: a name in a quote is never worth a lost run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from docloop.backends.sources.discord_http import DiscordHttp
from docloop.backends.sources.discord_threads import Stream
from docloop.backends.sources.markup import channel_label
from docloop.errors import BackendError

log = logging.getLogger(__name__)

class GuildNames:
    """The `markup.Names` of one guild, read from the REST API on first need."""

    def __init__(self, http: DiscordHttp, guild_id: str | None, known: Iterable[Stream]) -> None:
        self.http = http
        self.guild_id = guild_id
        self._channels = {s.id: channel_label(s.name, s.type) for s in known}
        self._listed = False
        self._roles: dict[str, str] | None = None

    def channel(self, channel_id: str) -> str | None:
        if channel_id not in self._channels and not self._listed:
            self._listed = True
            for raw in self._ask("channels", "channels"):
                self._channels.setdefault(str(raw.get("id")), channel_label(
                    str(raw.get("name") or ""), raw.get("type")))
        return self._channels.get(channel_id) or None

    def role(self, role_id: str) -> str | None:
        if self._roles is None:
            self._roles = {str(raw.get("id")): str(raw.get("name") or "")
                           for raw in self._ask("roles", "roles")}
        return self._roles.get(role_id) or None

    def _ask(self, route: str, what: str) -> list[dict[str, Any]]:
        """The guild's list at `route`; [] (with a warning) when it cannot be had."""
        if not self.guild_id:
            return []
        try:
            body = self.http.get(f"/guilds/{self.guild_id}/{route}",
                                 what=f"{what} of guild {self.guild_id}")
        except BackendError as exc:
            log.warning("Discord: %s of guild %s unreadable, their mentions read as unknown: "
                        "%s", what, self.guild_id, exc)
            return []
        return [raw for raw in body if isinstance(raw, dict)] if isinstance(body, list) else []


class NamesByGuild:
    """One `GuildNames` per guild a run reads, sharing what discovery listed."""

    def __init__(self, http: DiscordHttp, streams: Callable[[], list[Stream]]) -> None:
        self.http = http
        self._streams = streams
        self._guilds: dict[str | None, GuildNames] = {}

    def of(self, guild_id: str | None) -> GuildNames:
        if guild_id not in self._guilds:
            known = [s for channel in self._streams() for s in (channel, *channel.threads)
                     if s.guild_id == guild_id and not s.error]
            self._guilds[guild_id] = GuildNames(self.http, guild_id, known)
        return self._guilds[guild_id]
