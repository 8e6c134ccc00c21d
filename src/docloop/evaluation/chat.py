"""Labelled messages as a DiscordChatExporter export (the acceptance chat).

Each labelled message becomes one top-level message (no threads, no replies)
in one of three channels, `#help`, `#general`, `#api-questions`, taken
round-robin in file order, stamped evenly over the six days before `now`,
with its labelled author. Discord ids are numeric, so messages and authors get
numeric ids in file order; `write_chat` returns the Discord id -> label id map.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from docloop.evaluation.labels import LabelledMessage

CHANNELS = ("help", "general", "api-questions")
SPAN = timedelta(days=6)
GUILD = {"id": "910000000000000000", "name": "docloop eval", "iconUrl": ""}
MESSAGE_BASE = 920000000000000000
AUTHOR_BASE = 930000000000000000
CHANNEL_BASE = 940000000000000000


def write_chat(messages: Sequence[LabelledMessage], folder: Path,
               now: datetime) -> dict[str, str]:
    """Write one export file per channel into `folder`; Discord id -> label id."""
    folder.mkdir(parents=True, exist_ok=True)
    authors: dict[str, str] = {}
    by_channel: list[list[dict[str, Any]]] = [[] for _ in CHANNELS]
    ids: dict[str, str] = {}
    step = SPAN / max(len(messages), 1)
    start = now - SPAN
    for position, labelled in enumerate(messages):
        discord_id = str(MESSAGE_BASE + position + 1)
        ids[discord_id] = labelled.id
        author_id = authors.setdefault(labelled.author, str(AUTHOR_BASE + len(authors) + 1))
        by_channel[position % len(CHANNELS)].append(
            _message(discord_id, start + step * position, labelled, author_id))
    for index, (name, items) in enumerate(zip(CHANNELS, by_channel, strict=True)):
        export = {"guild": GUILD, "channel": _channel(index, name),
                  "dateRange": {"after": None, "before": None},
                  "messages": items, "messageCount": len(items)}
        path = folder / f"{GUILD['name']} - {name} [{CHANNEL_BASE + index + 1}].json"
        path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return ids


def _channel(index: int, name: str) -> dict[str, Any]:
    return {"id": str(CHANNEL_BASE + index + 1), "type": "GuildTextChat",
            "categoryId": str(CHANNEL_BASE), "category": "Text Channels", "name": name,
            "topic": None}


def _message(discord_id: str, when: datetime, labelled: LabelledMessage,
             author_id: str) -> dict[str, Any]:
    return {
        "id": discord_id, "type": "Default", "timestamp": when.isoformat(),
        "timestampEdited": None, "callEndedTimestamp": None, "isPinned": False,
        "content": labelled.text,
        "author": {"id": author_id, "name": labelled.author, "discriminator": "0000",
                   "nickname": labelled.author, "color": None, "isBot": False,
                   "avatarUrl": ""},
        "attachments": [], "embeds": [], "stickers": [], "reactions": [], "mentions": [],
    }
