"""Reaction counts from Discord payloads (REST and DiscordChatExporter alike).

Both write a list of `{"emoji": {"name": ...}, "count": n}`: the name is the
unicode emoji itself, or a custom emoji's name. Anything else is skipped:
reactions are a hint for the analyzer, never a reason to reject a message.
"""

from __future__ import annotations

from typing import Any


def reaction_counts(raw: Any) -> dict[str, int]:
    """Emoji -> count; malformed entries are left out."""
    counts: dict[str, int] = {}
    for entry in raw if isinstance(raw, list) else []:
        emoji = entry.get("emoji") if isinstance(entry, dict) else None
        name = emoji.get("name") if isinstance(emoji, dict) else None
        count = entry.get("count") if isinstance(entry, dict) else None
        if isinstance(name, str) and name and isinstance(count, int) and count > 0:
            counts[name] = counts.get(name, 0) + count
    return counts
