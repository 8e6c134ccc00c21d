"""Build small DiscordChatExporter-shaped exports for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GUILD = {"id": "900000000000000001", "name": "Test guild", "iconUrl": ""}


def author(user_id: str = "100", name: str = "alice", bot: bool = False) -> dict[str, Any]:
    return {"id": user_id, "name": name, "discriminator": "0000", "nickname": name,
            "color": None, "isBot": bot, "avatarUrl": ""}


def message(message_id: str, content: str = "hello", *, minute: int = 0, kind: Any = "Default",
            user: dict[str, Any] | None = None, reply_to: str | None = None,
            edited: str | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message_id, "type": kind,
        "timestamp": f"2024-03-01T10:{minute:02d}:00.000+02:00",
        "timestampEdited": edited, "callEndedTimestamp": None, "isPinned": False,
        "content": content, "author": user or author(), "attachments": [], "embeds": [],
        "stickers": [], "reactions": [], "mentions": [],
    }
    if reply_to is not None:
        data["reference"] = {"messageId": reply_to, "channelId": "1", "guildId": GUILD["id"]}
    data.update(extra)
    return data


def channel(channel_id: str = "500", name: str = "help", kind: str = "GuildTextChat",
            parent: tuple[str, str] | None = None) -> dict[str, Any]:
    category_id, category = parent or ("400", "Text Channels")
    return {"id": channel_id, "type": kind, "categoryId": category_id, "category": category,
            "name": name, "topic": None}


def export(messages: list[dict[str, Any]], chan: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"guild": GUILD, "channel": chan or channel(),
            "dateRange": {"after": None, "before": None},
            "messages": messages, "messageCount": len(messages)}


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
