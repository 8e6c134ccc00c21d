"""Build DiscordChatExporter (DCE) JSON exports and labels from a compact chat script.

The example chats (``examples/tidepool`` and ``benchmarks/data/fastapi_conv``) are written
by hand as a short line-based script, because hand-writing DCE JSON (about 25 lines per
message) would bury the conversations.  This script turns ``meta.json`` + ``chat.txt`` into
one DCE file per channel and per thread, exactly in the shape DCE writes, plus
``labels.json`` (and ``labels.jsonl``, the same labels as ``docloop eval --source`` reads
them).  Run it again after editing the chat; the output is deterministic.

Usage::

    python examples/build_export.py examples/tidepool
    python examples/build_export.py benchmarks/data/fastapi_conv

Script syntax (``chat.txt``)::

    # a comment
    @ help                      switch to channel ``help`` (a key of meta.json "channels")
    @ thread:keyname Title      switch to the thread started by the message tagged thread=keyname
    date 2026-11-02 +01:00      current day and the UTC offset the times are written in
    09:14 maya #k g=grp >t :: text of the message
      continuation lines are indented by two spaces

Options before ``::``: ``#key`` names the message; ``>key`` replies to it (type Reply),
``>>key`` references it with type Default; ``g=group`` labels it (``g=-`` = noise; replies
and thread messages inherit their root's label); ``sys=join|pin|threadcreated`` makes a
system message; ``thread=key`` starts a thread; ``att=file.png`` attaches a file;
``edit=N`` marks it edited N minutes later; ``react=👍:3,🎉:1`` adds reactions; ``pin`` pins it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
SYSTEM_TEXT = {
    "join": "Joined the server.",
    "pin": "Pinned a message.",
    "threadcreated": "Started a thread.",
}
SYSTEM_TYPE = {
    "join": "GuildMemberJoin",
    "pin": "ChannelPinnedMessage",
    "threadcreated": "ThreadCreated",
}
# Unicode emoji used in reactions: twemoji file name and Discord short code.
EMOJI = {
    "👍": ("1f44d", "thumbsup"),
    "🎉": ("1f389", "tada"),
    "❤️": ("2764", "heart"),
    "😂": ("1f602", "joy"),
    "👀": ("1f440", "eyes"),
    "👋": ("1f44b", "wave"),
    "🙏": ("1f64f", "pray"),
    "🔥": ("1f525", "fire"),
    "✅": ("2705", "white_check_mark"),
    "😅": ("1f605", "sweat_smile"),
}


def snowflake(when: datetime, n: int) -> str:
    """Discord snowflake for an instant: milliseconds since 2015 shifted left 22 bits, plus n."""
    ms = (when - DISCORD_EPOCH) // timedelta(milliseconds=1)
    return str((ms << 22) + (n % 4096))


def stable_int(text: str, modulo: int) -> int:
    """A small deterministic number derived from text (seconds, ids, hashes)."""
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % modulo


@dataclass
class Msg:
    """One parsed script line, before it becomes DCE JSON."""

    when: datetime
    offset: timedelta
    user: str
    content: str
    where: str
    key: str | None = None
    reply: str | None = None
    reply_type: str = "Reply"
    group: str | None = None
    grouped: bool = False
    system: str | None = None
    starts_thread: str | None = None
    attachment: str | None = None
    edit_minutes: int | None = None
    reactions: list[tuple[str, int]] = field(default_factory=list)
    pinned: bool = False
    id: str = ""


def parse_options(msg: Msg, tokens: list[str]) -> None:
    """Apply the option tokens written before ``::`` to a message."""
    for tok in tokens:
        if tok.startswith("#"):
            msg.key = tok[1:]
        elif tok.startswith(">>"):
            msg.reply, msg.reply_type = tok[2:], "Default"
        elif tok.startswith(">"):
            msg.reply = tok[1:]
        elif tok.startswith("g="):
            msg.group, msg.grouped = (None if tok[2:] == "-" else tok[2:]), True
        elif tok.startswith("sys="):
            msg.system = tok[4:]
        elif tok.startswith("thread="):
            msg.starts_thread = tok[7:]
        elif tok.startswith("att="):
            msg.attachment = tok[4:]
        elif tok.startswith("edit="):
            msg.edit_minutes = int(tok[5:])
        elif tok.startswith("react="):
            msg.reactions = [(e, int(c)) for e, c in (p.rsplit(":", 1) for p in tok[6:].split(","))]
        elif tok == "pin":
            msg.pinned = True
        else:
            raise ValueError(f"unknown option {tok!r}")


def parse_script(text: str) -> tuple[list[Msg], dict[str, str]]:
    """Parse chat.txt into messages (in script order) and thread titles by thread key."""
    msgs: list[Msg] = []
    titles: dict[str, str] = {}
    where, day, offset = "", "", timedelta(0)
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("  ") and msgs:
            msgs[-1].content += "\n" + line[2:]
        elif line.startswith("@ "):
            head = line[2:].split(" ", 1)
            where = head[0]
            if where.startswith("thread:"):
                titles[where[7:]] = head[1].strip()
        elif line.startswith("date "):
            _, day, off = line.split()
            sign = -1 if off[0] == "-" else 1
            offset = sign * timedelta(hours=int(off[1:3]), minutes=int(off[4:6]))
        else:
            msgs.append(parse_line(line, lineno, where, day, offset))
    return msgs, titles


def parse_line(line: str, lineno: int, where: str, day: str, offset: timedelta) -> Msg:
    """Parse one ``HH:MM user opts :: text`` line."""
    head, sep, content = line.partition(" :: ")
    if not sep and head.endswith(" ::"):
        head, content = head[:-3], ""
    tokens = head.split()
    if len(tokens) < 2:
        raise ValueError(f"line {lineno}: expected 'HH:MM user [options] :: text'")
    clock = tokens[0] if tokens[0].count(":") == 2 else tokens[0] + f":{stable_int(line, 60):02d}"
    local = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=timezone(offset))
    local += timedelta(milliseconds=stable_int(line + "ms", 1000))
    msg = Msg(
        when=local.astimezone(UTC), offset=offset, user=tokens[1], content=content, where=where
    )
    try:
        parse_options(msg, tokens[2:])
    except ValueError as exc:
        raise ValueError(f"line {lineno}: {exc}") from exc
    return msg


def assign_ids(msgs: list[Msg]) -> dict[str, Msg]:
    """Give every message a snowflake and index the tagged ones by key.

    The increment bits come from a hash of the message, not from a running counter, so
    adding or editing one message in the script leaves every other message's id unchanged.
    """
    keyed: dict[str, Msg] = {}
    seen: set[str] = set()
    for msg in msgs:
        msg.id = snowflake(msg.when, stable_int(f"{msg.where}|{msg.user}|{msg.content}", 4096))
        if msg.id in seen:
            raise ValueError(f"two messages got id {msg.id}; change the time of one of them")
        seen.add(msg.id)
        if msg.key:
            if msg.key in keyed:
                raise ValueError(f"message key #{msg.key} used twice")
            keyed[msg.key] = msg
    return keyed


def thread_starters(msgs: list[Msg]) -> dict[str, Msg]:
    """The parent-channel message that started each thread, by thread key."""
    return {m.starts_thread: m for m in msgs if m.starts_thread}


def assign_labels(msgs: list[Msg], keyed: dict[str, Msg], users: dict) -> dict[str, str | None]:
    """Label every human, non-system message; replies and thread messages inherit."""
    starters = thread_starters(msgs)
    thread_group: dict[str, str | None] = {}
    labels: dict[str, str | None] = {}
    for msg in sorted(msgs, key=lambda m: m.when):
        if msg.system or users[msg.user].get("isBot"):
            continue
        thread = msg.where[7:] if msg.where.startswith("thread:") else None
        if not msg.grouped and msg.reply:
            msg.group, msg.grouped = keyed[msg.reply].group, True
        elif not msg.grouped and thread and thread in thread_group:
            msg.group, msg.grouped = thread_group[thread], True
        if not msg.grouped:
            raise ValueError(f"unlabelled message at {msg.when} by {msg.user}: {msg.content[:40]}")
        if msg.starts_thread:
            thread_group[msg.starts_thread] = msg.group
        if thread and thread not in thread_group and starters[thread].system:
            thread_group[thread] = msg.group
        labels[msg.id] = msg.group
    return labels


def author(user_key: str, users: dict) -> dict:
    """The DCE author object of a user from meta.json."""
    u = users[user_key]
    uid = u["id"]
    avatar = hashlib.md5(uid.encode()).hexdigest()  # a fake avatar hash, not security
    return {
        "id": uid,
        "name": u["name"],
        "discriminator": u.get("discriminator", "0000"),
        "nickname": u.get("nickname", u["name"]),
        "color": u.get("color"),
        "isBot": bool(u.get("isBot")),
        "avatarUrl": f"https://cdn.discordapp.com/avatars/{uid}/{avatar}.png?size=512",
    }


def mentions(content: str, users: dict) -> list[dict]:
    """Users named as ``@Nickname`` or ``@name`` in the text, as DCE lists them."""
    found = []
    for u in users.values():
        if f"@{u.get('nickname', u['name'])}" in content or f"@{u['name']}" in content:
            found.append(
                {
                    "id": u["id"],
                    "name": u["name"],
                    "discriminator": u.get("discriminator", "0000"),
                    "nickname": u.get("nickname", u["name"]),
                    "isBot": bool(u.get("isBot")),
                }
            )
    return found


def reaction(emoji: str, count: int) -> dict:
    """A unicode-emoji reaction the way newer DCE writes it."""
    if emoji not in EMOJI:
        raise ValueError(f"add {emoji!r} to EMOJI in build_export.py")
    twemoji, code = EMOJI[emoji]
    return {
        "emoji": {
            "id": "",
            "name": emoji,
            "code": code,
            "isAnimated": False,
            "imageUrl": f"https://cdn.jsdelivr.net/gh/twitter/twemoji@latest/assets/svg/{twemoji}.svg",
        },
        "count": count,
    }


def attachment(msg: Msg, channel_id: str) -> dict:
    """A CDN attachment with a signed (expiring) URL, as DCE exports without --media."""
    att_id = str(int(msg.id) + 1)
    ex = format(int(msg.when.timestamp()) + 86400, "x")
    sig = hashlib.sha256(att_id.encode()).hexdigest()
    return {
        "id": att_id,
        "url": f"https://cdn.discordapp.com/attachments/{channel_id}/{att_id}/"
        f"{msg.attachment}?ex={ex}&is={ex}&hm={sig}&",
        "fileName": msg.attachment,
        "fileSizeBytes": 20000 + stable_int(att_id, 400000),
    }


def stamp(when: datetime, offset: timedelta) -> str:
    """ISO 8601 with the writer's offset and milliseconds, like DCE."""
    return when.astimezone(timezone(offset)).isoformat(timespec="milliseconds")


def render(msg: Msg, ctx: dict, channel_id: str, keyed: dict[str, Msg]) -> dict:
    """One message as a DCE JSON object."""
    users, guild_id = ctx["users"], ctx["guild"]["id"]
    out: dict = {
        "id": msg.id,
        "type": SYSTEM_TYPE.get(msg.system or "", "Default"),
        "timestamp": stamp(msg.when, msg.offset),
        "timestampEdited": None,
        "callEndedTimestamp": None,
        "isPinned": msg.pinned,
        "content": SYSTEM_TEXT.get(msg.system or "", msg.content),
        "author": author(msg.user, users),
        "attachments": [attachment(msg, channel_id)] if msg.attachment else [],
        "embeds": [],
        "stickers": [],
        "reactions": [reaction(e, c) for e, c in msg.reactions],
        "mentions": mentions(msg.content, users),
    }
    if msg.edit_minutes:
        out["timestampEdited"] = stamp(msg.when + timedelta(minutes=msg.edit_minutes), msg.offset)
    if msg.reply and keyed[msg.reply].where != msg.where:
        raise ValueError(f"message by {msg.user} at {msg.when} replies across channels")
    if msg.reply and not msg.system:
        out["type"] = msg.reply_type
        out["reference"] = {
            "messageId": keyed[msg.reply].id,
            "channelId": channel_id,
            "guildId": guild_id,
        }
    if msg.system == "threadcreated":
        out["reference"] = {"messageId": None, "channelId": msg.id, "guildId": guild_id}
    if msg.system == "pin":
        out["reference"] = {
            "messageId": keyed[msg.reply].id if msg.reply else None,
            "channelId": channel_id,
            "guildId": guild_id,
        }
    return out


def channel_object(where: str, ctx: dict, starters: dict[str, Msg], titles: dict[str, str]) -> dict:
    """The DCE ``channel`` header of a text channel or of a thread (parent as category)."""
    if not where.startswith("thread:"):
        c = ctx["channels"][where]
        return {
            "id": c["id"],
            "type": "GuildTextChat",
            "categoryId": c["categoryId"],
            "category": c["category"],
            "name": c["name"],
            "topic": c.get("topic"),
        }
    key = where[7:]
    parent = ctx["channels"][starters[key].where]
    return {
        "id": starters[key].id,
        "type": "GuildPublicThread",
        "categoryId": parent["id"],
        "category": parent["name"],
        "name": titles[key],
        "topic": None,
    }


def build(folder: Path) -> tuple[int, int]:
    """Write ``discord/*.json``, ``labels.json`` and ``labels.jsonl`` under folder; return
    (files, messages)."""
    ctx = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    msgs, titles = parse_script((folder / "chat.txt").read_text(encoding="utf-8"))
    keyed = assign_ids(msgs)
    starters = thread_starters(msgs)
    labels = assign_labels(msgs, keyed, ctx["users"])
    out_dir = folder / "discord"
    out_dir.mkdir(exist_ok=True)
    for old in out_dir.glob("*.json"):
        old.unlink()
    wheres = list(dict.fromkeys(m.where for m in msgs))
    for where in wheres:
        channel = channel_object(where, ctx, starters, titles)
        rows = sorted((m for m in msgs if m.where == where), key=lambda m: m.when)
        doc = {
            "guild": ctx["guild"],
            "channel": channel,
            "dateRange": {"after": None, "before": None},
            "exportedAt": ctx["exportedAt"],
            "messages": [render(m, ctx, channel["id"], keyed) for m in rows],
            "messageCount": len(rows),
        }
        cat = channel["category"]
        name = f"{ctx['guild']['name']} - {cat} - {channel['name']} [{channel['id']}].json"
        (out_dir / name).write_text(
            json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    label_doc = {"groups": ctx["groups"], "messages": labels}
    (folder / "labels.json").write_text(
        json.dumps(label_doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (folder / "labels.jsonl").write_text(eval_labels(labels, ctx["groups"]), encoding="utf-8")
    return len(wheres), len(msgs)


def eval_labels(labels: dict[str, str | None], groups: dict) -> str:
    """The same labels as `docloop eval --source` reads them: one line per labelled message
    of the export, by id (the export gives the text and the author)."""
    lines = []
    for message_id, group in labels.items():
        page = groups[group]["page"] if group else None
        lines.append(json.dumps({"id": message_id, "group": group or "noise", "doc_path": page}))
    return "".join(line + "\n" for line in lines)


if __name__ == "__main__":
    for arg in sys.argv[1:] or [str(Path(__file__).parent / "tidepool")]:
        files, count = build(Path(arg))
        print(f"{arg}: {files} files, {count} messages")
