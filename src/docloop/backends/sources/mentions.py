"""Who a message pings by name, from Discord payloads (REST and DiscordChatExporter alike).

Both list the users a message mentions as objects with an `id` (the REST API's user
objects, DiscordChatExporter's `mentions` entries). A helper in a busy channel often
answers with "@asker try ..." rather than Discord's reply, so these ids are how an
answer finds the question it answers (stages/conversations.py). Anything else is
skipped: mentions are a hint for grouping, never a reason to reject a message. How a
mention reads in the text is markup.py's.
"""

from __future__ import annotations

from typing import Any

from docloop.backends.sources.markup import with_ids


def mentioned_ids(raw: Any) -> list[str]:
    """The mentioned users' ids, in order, once each; malformed entries are left out."""
    return list(dict.fromkeys(user_id for user_id, _ in with_ids(raw)))
