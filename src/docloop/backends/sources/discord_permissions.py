"""The bot's permissions in a channel, computed as Discord documents it.

Discord returns no "my permissions here" for a bot token over REST, so they
are computed from what it does return: the guild's roles (`GET
/guilds/{id}/roles`, permissions as decimal strings), the bot's member object
(`GET /guilds/{id}/members/{bot id}`, its role ids) and each channel's
`permission_overwrites`. The order is Discord's: @everyone's role, then the
member's roles OR-ed in (ADMINISTRATOR grants everything), then the channel's
@everyone overwrite, the role overwrites together, and the member's own
overwrite, each removing its deny bits before adding its allow bits. Threads
take their parent channel's permissions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
READ_MESSAGE_HISTORY = 1 << 16
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL = (1 << 53) - 1
#: overwrite `type`: 0 role, 1 member
MEMBER_OVERWRITE = 1


@dataclass(frozen=True)
class BotMember:
    """What the permission computation needs about the bot in one guild."""

    guild_id: str
    user_id: str
    role_ids: frozenset[str]
    base: int  # guild-level permissions (@everyone plus the bot's roles)


def _bits(value: Any) -> int:
    """A permission field: Discord sends a decimal string (ints tolerated)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def guild_permissions(guild_id: str, roles: Iterable[Mapping[str, Any]],
                      member_role_ids: Iterable[str]) -> int:
    """@everyone's permissions OR the member's roles'; everything for an administrator."""
    wanted = set(member_role_ids) | {guild_id}  # @everyone's role id is the guild id
    total = 0
    for role in roles:
        if str(role.get("id")) in wanted:
            total |= _bits(role.get("permissions"))
    return ALL if total & ADMINISTRATOR else total


def channel_permissions(member: BotMember, overwrites: Iterable[Mapping[str, Any]]) -> int:
    """The member's permissions in a channel with these overwrites."""
    if member.base & ADMINISTRATOR or member.base == ALL:
        return ALL
    listed = list(overwrites)
    total = member.base
    for overwrite in listed:  # @everyone first
        if str(overwrite.get("id")) == member.guild_id:
            total = _apply(total, overwrite)
    allow = deny = 0
    for overwrite in listed:  # the member's roles, together
        oid = str(overwrite.get("id"))
        if _bits(overwrite.get("type")) != MEMBER_OVERWRITE and oid in member.role_ids:
            allow |= _bits(overwrite.get("allow"))
            deny |= _bits(overwrite.get("deny"))
    total = (total & ~deny) | allow
    for overwrite in listed:  # the member itself, last
        if _bits(overwrite.get("type")) == MEMBER_OVERWRITE \
                and str(overwrite.get("id")) == member.user_id:
            total = _apply(total, overwrite)
    return total


def _apply(total: int, overwrite: Mapping[str, Any]) -> int:
    return (total & ~_bits(overwrite.get("deny"))) | _bits(overwrite.get("allow"))


def reply_note(permissions: int) -> str:
    """What `sources check` says about replying in this channel's threads."""
    if not permissions & VIEW_CHANNEL:
        return "cannot reply: no View Channel"
    if permissions & SEND_MESSAGES_IN_THREADS and permissions & SEND_MESSAGES:
        return "can reply (Send Messages, Send Messages in Threads)"
    missing = [name for bit, name in ((SEND_MESSAGES, "Send Messages"),
                                      (SEND_MESSAGES_IN_THREADS, "Send Messages in Threads"))
               if not permissions & bit]
    return f"cannot reply: missing {', '.join(missing)}"
