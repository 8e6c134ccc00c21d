"""Who a message pings by name, from Discord payloads (REST and DiscordChatExporter alike).

Both list the users a message mentions as objects with an `id` (the REST API's user
objects, DiscordChatExporter's `mentions` entries). A helper in a busy channel often
answers with "@asker try ..." rather than Discord's reply, so these ids are how an
answer finds the question it answers (stages/conversations.py). Anything else is
skipped: mentions are a hint for grouping, never a reason to reject a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

#: a user mention as the REST API writes it in `content`: `<@id>` (`<@!id>`: by nickname)
_USER_MENTION = re.compile(r"<@!?(\d{1,25})>")


def mentioned_ids(raw: Any) -> list[str]:
    """The mentioned users' ids, in order, once each; malformed entries are left out."""
    return list(dict.fromkeys(user_id for user_id, _ in _users(raw)))


def readable_mentions(content: str, raw: Any) -> str:
    """`content` with each `<@id>` of a user in `raw` (the REST API's `mentions`) written
    `@name` (the server nickname when the payload carries the member, else the display or
    user name), as DiscordChatExporter writes it: a quote in a ticket reads "@Thomas try
    ...", never a user id."""
    if "<@" not in content:
        return content
    names: dict[str, str] = {}
    for user_id, entry in _users(raw):
        member = entry.get("member")
        nick = member.get("nick") if isinstance(member, dict) else None
        name = nick or entry.get("global_name") or entry.get("username")
        if isinstance(name, str) and name:
            names.setdefault(user_id, name)
    return _USER_MENTION.sub(lambda found: f"@{names[found.group(1)]}"
                             if found.group(1) in names else found.group(0), content)


def _users(raw: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each well-formed entry of a `mentions` list with its id as a string."""
    for entry in raw if isinstance(raw, list) else []:
        user_id = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(user_id, (str, int)) and not isinstance(user_id, bool) and str(user_id):
            yield str(user_id), entry
