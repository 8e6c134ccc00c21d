"""The bot's channel permissions, computed in Discord's documented order."""

from __future__ import annotations

from docloop.backends.sources.discord_permissions import (
    ADMINISTRATOR,
    ALL,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    BotMember,
    channel_permissions,
    guild_permissions,
    reply_note,
)

GUILD, BOT, ROLE = "100", "200", "300"
BASIC = VIEW_CHANNEL | SEND_MESSAGES


def _member(base: int) -> BotMember:
    return BotMember(GUILD, BOT, frozenset({ROLE}), base)


def _overwrite(oid: str, kind: int, allow: int = 0, deny: int = 0) -> dict[str, object]:
    return {"id": oid, "type": kind, "allow": str(allow), "deny": str(deny)}


def test_guild_permissions_or_everyone_and_the_members_roles() -> None:
    roles = [{"id": GUILD, "permissions": str(BASIC)},
             {"id": ROLE, "permissions": str(SEND_MESSAGES_IN_THREADS)},
             {"id": "999", "permissions": str(ADMINISTRATOR)}]  # not the bot's role
    assert guild_permissions(GUILD, roles, [ROLE]) == BASIC | SEND_MESSAGES_IN_THREADS
    assert guild_permissions(GUILD, roles, ["999"]) == ALL


def test_overwrites_apply_everyone_then_roles_then_the_member() -> None:
    base = BASIC | SEND_MESSAGES_IN_THREADS
    everyone_denies = [_overwrite(GUILD, 0, deny=SEND_MESSAGES_IN_THREADS)]
    assert not channel_permissions(_member(base), everyone_denies) & SEND_MESSAGES_IN_THREADS
    role_allows = [*everyone_denies, _overwrite(ROLE, 0, allow=SEND_MESSAGES_IN_THREADS)]
    assert channel_permissions(_member(base), role_allows) & SEND_MESSAGES_IN_THREADS
    member_denies = [*role_allows, _overwrite(BOT, 1, deny=SEND_MESSAGES)]
    assert channel_permissions(_member(base), member_denies) == VIEW_CHANNEL | \
        SEND_MESSAGES_IN_THREADS
    other_member = [_overwrite("201", 1, deny=VIEW_CHANNEL)]
    assert channel_permissions(_member(base), other_member) == base
    assert channel_permissions(_member(ALL), member_denies) == ALL  # administrators


def test_reply_note_names_what_is_missing() -> None:
    assert reply_note(BASIC | SEND_MESSAGES_IN_THREADS).startswith("can reply")
    assert reply_note(BASIC) == "cannot reply: missing Send Messages in Threads"
    assert reply_note(SEND_MESSAGES) == "cannot reply: no View Channel"
