"""Who a message pings by name, from Discord payloads (REST and DiscordChatExporter alike).

Both list the users a message mentions as objects with an `id` (the REST API's user
objects, DiscordChatExporter's `mentions` entries). A helper in a busy channel often
answers with "@asker try ..." rather than Discord's reply, so these ids are how an
answer finds the question it answers (stages/conversations.py). Anything else is
skipped: mentions are a hint for grouping, never a reason to reject a message.
"""

from __future__ import annotations

from typing import Any


def mentioned_ids(raw: Any) -> list[str]:
    """The mentioned users' ids, in order, once each; malformed entries are left out."""
    found: dict[str, None] = {}
    for entry in raw if isinstance(raw, list) else []:
        user_id = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(user_id, (str, int)) and not isinstance(user_id, bool) and str(user_id):
            found.setdefault(str(user_id), None)
    return list(found)
