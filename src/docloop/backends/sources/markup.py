"""Discord's message markup written as plain text, the way DiscordChatExporter writes it.

The REST API returns a message's `content` as typed: a user mention is `<@id>`, a channel
`<#id>`, a role `<@&id>`, a custom emoji `<:name:id>` (`<a:name:id>` animated) and a
timestamp `<t:seconds:style>`. DiscordChatExporter's JSON writes the same message as text
(`@Thomas`, `#help`, `@Moderators`, `:kekw:`, a date; ../shared/reference/API-FACTS.md §2,
its plain-text visitor), and so do the exports in ../shared/fixtures. Tickets quote message
text, and the analyzer reads its words: with the ids left in, a bot-token run quotes
"<:kekw:806134235113488455>" where an export run quotes ":kekw:", and clusters on digits
no user wrote. So both sources read every message through `plain_text`.

Names come from where each source has them: users from the message's own `mentions`
(the REST API's user objects, the exporter's entries), channels and roles from a `Names`
lookup (the REST source asks the guild once, and only when a message needs it). An id no
lookup knows is written as the exporter writes an unknown user (`@Unknown`), and as
`#unknown-channel` / `@unknown-role` (the exporter, which sees every channel and role,
says `deleted-…`; docloop cannot tell deleted from unreadable). Timestamps are written in
UTC, ISO-style: the exporter uses the exporting machine's zone and locale, which a ticket
should not depend on; a style Discord does not define is "Invalid date", as there.

The exporter parses this minimal set everywhere, code blocks included, and so does this
(with custom emoji names held to Discord's alphabet, `_MARKUP`): an export and a bot-token
run read the same words for everything a message names itself. Where the exporter looks
further (a user missing from `mentions`, a thread docloop does not read), docloop writes
the unknown form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

#: the markup the exporter's minimal parser reads, in its order (first match wins). Ids are
#: ASCII digits; a custom emoji's name is as Discord allows it (letters, digits and `_`),
#: so prose such as "A <: B" before an emoji is not read as part of its name, as the
#: exporter's looser pattern would
_MARKUP = re.compile(
    r"(?P<user><@!?(?P<user_id>\d{1,25})>)"
    r"|(?P<channel><\#!?(?P<channel_id>\d{1,25})>)"
    r"|(?P<role><@&(?P<role_id>\d{1,25})>)"
    r"|(?P<emoji><a?:(?P<emoji_name>\w{1,32}):\d{1,25}>)"
    r"|(?P<moment><t:(?P<seconds>-?\d+)(?::(?P<style>\w))?>)",
    re.ASCII,
)
#: Discord's timestamp styles (reference.mdx, "Timestamp Styles"), each as a UTC moment:
#: what of it to write. Relative (`R`) has no meaning in a stored text, so it is written
#: as the default (date and time), as the exporter does
_STYLES = {None: "date time", "f": "date time", "F": "date time", "R": "date time",
           "r": "date time", "t": "time", "T": "time seconds", "d": "date", "D": "date"}
#: channel types the exporter marks " [voice]": GUILD_VOICE, GUILD_STAGE_VOICE
VOICE_TYPES = frozenset({2, 13})
UNKNOWN_USER = "@Unknown"
UNKNOWN_CHANNEL = "#unknown-channel"
UNKNOWN_ROLE = "@unknown-role"
INVALID_DATE = "Invalid date"


class Names(Protocol):
    """Channel and role names of the guild a message was posted in."""

    def channel(self, channel_id: str) -> str | None:
        """What follows `#` for the channel (`help`, `Lounge [voice]`), None if unknown."""

    def role(self, role_id: str) -> str | None:
        """The role's name, None if unknown."""


def channel_label(name: str, type_: Any) -> str:
    """What follows `#` in a channel mention, as the exporter writes it."""
    return f"{name} [voice]" if type_ in VOICE_TYPES else name


@dataclass(frozen=True)
class Listed:
    """The channels a payload names itself (a crossposted message's `mention_channels`),
    asked before `then`, the guild's names."""

    channels: Mapping[str, str]
    then: Names | None = None

    @classmethod
    def of(cls, raw: Any, then: Names | None) -> Names | None:
        """`then`, with the channels of a `mention_channels` list (id, name, type) first."""
        listed = {str(c["id"]): channel_label(c["name"], c.get("type"))
                  for c in raw if isinstance(c, dict) and isinstance(c.get("name"), str)
                  and c.get("id")} if isinstance(raw, list) else {}
        return cls(listed, then) if listed else then

    def channel(self, channel_id: str) -> str | None:
        return self.channels.get(channel_id) or (self.then.channel(channel_id)
                                                 if self.then else None)

    def role(self, role_id: str) -> str | None:
        return self.then.role(role_id) if self.then else None


def plain_text(content: str, mentions: Any, names: Names | None = None) -> str:
    """`content` with Discord's markup written out (the module docstring). `mentions` is the
    message's own list of mentioned users (REST user objects or exporter entries)."""
    if "<" not in content:
        return content
    users: dict[str, str] | None = None

    def written(found: re.Match[str]) -> str:
        nonlocal users
        if found.group("user"):
            if users is None:
                users = user_names(mentions)
            name = users.get(found.group("user_id"))
            return f"@{name}" if name else UNKNOWN_USER
        if found.group("channel"):
            label = names.channel(found.group("channel_id")) if names else None
            return f"#{label}" if label else UNKNOWN_CHANNEL
        if found.group("role"):
            role = names.role(found.group("role_id")) if names else None
            return f"@{role}" if role else UNKNOWN_ROLE
        if found.group("emoji"):
            return f":{found.group('emoji_name')}:"
        return moment(found.group("seconds"), found.group("style"))

    return _MARKUP.sub(written, content)


def moment(seconds: str, style: str | None) -> str:
    """A `<t:seconds:style>` timestamp as text; "Invalid date" for an unknown style or a
    moment out of range, as Discord shows them."""
    parts = _STYLES.get(style)
    if parts is None:
        return INVALID_DATE
    try:
        when = datetime.fromtimestamp(int(seconds), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return INVALID_DATE
    date = f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
    clock = f"{when.hour:02d}:{when.minute:02d}"
    if parts == "date":
        return date
    if parts == "time":
        return f"{clock} UTC"
    if parts == "time seconds":
        return f"{clock}:{when.second:02d} UTC"
    return f"{date} {clock} UTC"


def user_names(raw: Any) -> dict[str, str]:
    """Id -> the name a mention shows, for each user of a `mentions` list: the server
    nickname when the payload carries it (REST `member.nick`, the exporter's `nickname`),
    else the display name, else the user name."""
    names: dict[str, str] = {}
    for user_id, entry in with_ids(raw):
        member = entry.get("member")
        nick = member.get("nick") if isinstance(member, dict) else None
        candidates = (nick, entry.get("nickname"), entry.get("global_name"),
                      entry.get("username"), entry.get("name"))
        name = next((c for c in candidates if isinstance(c, str) and c), None)
        if name:
            names.setdefault(user_id, name)
    return names


def with_ids(raw: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each well-formed entry of a payload's list (`mentions`, a guild's channels or roles)
    with its id as a string; malformed entries are left out (names and mentions are a
    hint, never a reason to reject a message)."""
    for entry in raw if isinstance(raw, list) else []:
        user_id = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(user_id, (str, int)) and not isinstance(user_id, bool) and str(user_id):
            yield str(user_id), entry


def mentioned_ids(raw: Any) -> list[str]:
    """The mentioned users' ids, in order, once each: how an "@asker try ..." answer finds
    the question it answers (stages/conversations.py); malformed entries are left out."""
    return list(dict.fromkeys(user_id for user_id, _ in with_ids(raw)))
