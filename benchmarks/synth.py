"""Synthetic weeks of Discord chat, built from the Tidepool example, for the scale benchmark.

The scale benchmark needs 1k, 10k and 50k messages that look like the example: the same
channels and threads, the same recurring problems asked again and again by many users,
bots, joins and chit-chat in between. ``generate`` re-mixes the example's conversations
(a root message with its reply chain or thread) into one week: every copy gets new
snowflake ids, new authors from a synthetic user pool, a new start time inside the week
and a few word substitutions, so near-duplicates are not byte-identical. The output is a
folder of DiscordChatExporter JSON files (one per channel, one per thread) plus
``labels.json`` mapping each new message id to the example's problem group.

For the scale benchmark two options make the data harder: ``distinct=True`` gives every
human message concrete details of its own (a job name with a number, an SDK version, a
region, a queue), so no two problem texts are equal and every embedding is really
computed; ``week_messages=N`` spreads the messages over consecutive weeks of about N
messages each (the last week ends at the start of today, UTC: ``current_week_start``; a
run skips messages dated in the future), written as one set of files per
week like DCE's partitions, so memory stays flat while generating a long history and a
7-day window holds one week however long the history is.

Deterministic per seed. Usage::

    PYTHONPATH=src python benchmarks/synth.py 10000 /tmp/week10k --seed 1 [--distinct]
        [--week-messages 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "tidepool"
DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
WEEK = timedelta(days=7)
MAX_SPAN = timedelta(hours=6)
STAFF = {"kai.tidepool", "rosa_tp"}

# Light rewording so copies of one message differ: each occurrence of a phrase is replaced
# by one of its alternatives with probability REWORD_P (phrases matched case-insensitively).
SUBSTITUTIONS: dict[str, list[str]] = {
    "thanks": ["thx", "thank you", "ty", "cheers"],
    "how do i": ["how can I", "how should I", "what's the way to"],
    "is there": ["is there any", "do you have"],
    "anyone": ["anybody", "someone"],
    "weird": ["strange", "odd"],
    "getting": ["seeing", "hitting"],
    "works": ["works now", "is working"],
    "our": ["my", "the team's"],
    "jobs": ["tasks", "jobs"],
}
PHRASES = re.compile(r"\b(" + "|".join(re.escape(k) for k in SUBSTITUTIONS) + r")\b", re.I)
REWORD_P = 0.4
# Details that make each human message's text its own (``distinct=True``).
DETAIL_NOUNS = ["sync_orders", "mail_digest", "resize_images", "bill_run", "export_csv",
                "rebuild_index", "notify_users", "fetch_rates", "score_leads", "purge_cache"]
REGIONS = ["eu-west-1", "us-east-2", "ap-south-1", "eu-central-1", "us-west-2", "sa-east-1"]

Message = dict[str, Any]


@dataclass
class Unit:
    """One example conversation: a root message, its replies, and its thread if any."""

    channel: str
    messages: list[Message]
    thread: dict[str, Any] | None = None
    thread_messages: list[Message] = field(default_factory=list)


def current_week_start(now: datetime | None = None) -> datetime:
    """Start of the week that ends at the start of today (UTC): no message is in the future.

    Whole days, so a data set generated twice on one day is the same.
    """
    today = (now or datetime.now(UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0,
                                                                 microsecond=0)
    return today - WEEK


def parse_time(stamp: str) -> datetime:
    """A DCE timestamp (ISO 8601 with offset) as an aware datetime."""
    return datetime.fromisoformat(stamp)


def load_example(folder: Path) -> tuple[dict[str, Any], list[Unit], dict[str, str | None]]:
    """Read the example export; return the channel headers (+guild), conversations, labels."""
    paths = sorted(folder.glob("discord/*.json"))
    files = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))["messages"]
    channels = {f["channel"]["id"]: f for f in files if f["channel"]["type"] != "GuildPublicThread"}
    threads = {f["channel"]["id"]: f for f in files if f["channel"]["type"] == "GuildPublicThread"}
    units: list[Unit] = []
    for chan in channels.values():
        units.extend(split_units(chan, threads))
    header = {
        "guild": files[0]["guild"],
        "channels": {c["channel"]["id"]: c["channel"] for c in channels.values()},
    }
    return header, units, labels


def split_units(chan: dict[str, Any], threads: dict[str, Any]) -> list[Unit]:
    """Group a channel's messages into conversations by reply chains and thread starters."""
    root_of: dict[str, Unit] = {}
    units: list[Unit] = []
    for msg in chan["messages"]:
        target = (msg.get("reference") or {}).get("messageId")
        if target and target in root_of:
            unit = root_of[target]
            unit.messages.append(msg)
        else:
            unit = Unit(channel=chan["channel"]["id"], messages=[msg])
            units.append(unit)
            if msg["id"] in threads:
                unit.thread = threads[msg["id"]]["channel"]
                unit.thread_messages = threads[msg["id"]]["messages"]
        root_of[msg["id"]] = unit
    return units


class Synthesiser:
    """Re-mixes example conversations into one synthetic week (state for one ``generate``)."""

    def __init__(self, header: dict[str, Any], labels: dict[str, str | None], n: int, seed: int,
                 start: datetime, distinct: bool = False):
        self.rng = random.Random(seed)
        self.start = start
        self.distinct = distinct
        self.header = header
        self.labels_in = labels
        self.labels_out: dict[str, str | None] = {}
        self.pool = [self._user(i) for i in range(max(40, n // 8))]
        self.used_ids: set[int] = set()
        self.counter = 0
        self.channel_msgs: dict[str, list[Message]] = {cid: [] for cid in header["channels"]}
        self.thread_files: list[dict[str, Any]] = []

    def _user(self, i: int) -> dict[str, Any]:
        """A synthetic community member."""
        uid = str(1_250_000_000_000_000_000 + i * 7919)
        name = f"user{i:05d}"
        return {
            "id": uid,
            "name": name,
            "discriminator": "0000",
            "nickname": name.title(),
            "color": None,
            "isBot": False,
            "avatarUrl": f"https://cdn.discordapp.com/embed/avatars/{i % 6}.png",
        }

    def snowflake(self, when: datetime) -> str:
        """A unique snowflake for the instant (bumps the increment on a collision)."""
        ms = (when - DISCORD_EPOCH) // timedelta(milliseconds=1)
        while True:
            value = (ms << 22) + (self.counter % 4096)
            self.counter += 1
            if value not in self.used_ids:
                self.used_ids.add(value)
                return str(value)

    def reword(self, text: str) -> str:
        """Apply random synonym substitutions to some of the known phrases."""
        return PHRASES.sub(self._swap, text)

    def detail(self) -> str:
        """A concrete detail no other message has (the counter makes it unique)."""
        self.counter += 1
        job = f"`{self.rng.choice(DETAIL_NOUNS)}_{self.counter}`"
        version = f"{self.rng.randint(1, 4)}.{self.rng.randint(0, 30)}.{self.rng.randint(0, 9)}"
        return self.rng.choice([
            f"(job {job}, sdk {version})", f"- seen on {job} in {self.rng.choice(REGIONS)}",
            f"[queue q{self.counter}, sdk {version}]", f"(happens for {job} too)",
        ])

    def _swap(self, match: re.Match[str]) -> str:
        """One phrase occurrence: kept, or replaced by a random alternative."""
        if self.rng.random() >= REWORD_P:
            return match.group(0)
        return self.rng.choice(SUBSTITUTIONS[match.group(0).lower()])

    def cast(self, unit: Unit) -> dict[str, dict[str, Any]]:
        """New authors for a copy: staff and bots stay, everyone else is drawn from the pool."""
        cast: dict[str, dict[str, Any]] = {}
        for msg in unit.messages + unit.thread_messages:
            author = msg["author"]
            if author["id"] in cast:
                continue
            keep = author["isBot"] or author["name"] in STAFF
            cast[author["id"]] = author if keep else self.rng.choice(self.pool)
        return cast

    def copy_message(self, msg: Message, when: datetime, ctx: dict[str, Any]) -> Message:
        """A copy of an example message at a new time, with new id, author and wording."""
        new = shallow_copy(msg)
        offset = parse_time(msg["timestamp"]).utcoffset() or timedelta(0)
        new["id"] = self.snowflake(when)
        ctx["ids"][msg["id"]] = new["id"]
        new["timestamp"] = when.astimezone(timezone(offset)).isoformat(timespec="milliseconds")
        if msg.get("timestampEdited"):
            new["timestampEdited"] = (
                (when + timedelta(minutes=2))
                .astimezone(timezone(offset))
                .isoformat(timespec="milliseconds")
            )
        new["author"] = ctx["cast"][msg["author"]["id"]]
        content = msg["content"]
        for old_id, person in ctx["cast"].items():
            old = ctx["names"][old_id]
            if old != person["nickname"]:
                content = content.replace(f"@{old}", f"@{person['nickname']}")
        if msg["type"] in ("Default", "Reply"):
            content = self.reword(content)
            if self.distinct and content.strip():
                content = f"{content} {self.detail()}"
        new["content"] = content
        new["mentions"] = [self._mention(ctx["cast"].get(m["id"], m)) for m in msg["mentions"]]
        for att in new["attachments"]:
            att["id"] = str(int(new["id"]) + 1)
        self._relabel(msg, new)
        return new

    @staticmethod
    def _mention(user: dict[str, Any]) -> dict[str, Any]:
        """The reduced user object DCE writes inside ``mentions``."""
        return {k: user[k] for k in ("id", "name", "discriminator", "nickname", "isBot")}

    def _relabel(self, old: Message, new: Message) -> None:
        """Carry the example's label over to the copy."""
        if old["id"] in self.labels_in:
            self.labels_out[new["id"]] = self.labels_in[old["id"]]

    def fix_reference(self, new: Message, channel_id: str, ids: dict[str, str]) -> None:
        """Point a copy's reply reference at the copy of its target."""
        ref = new.get("reference")
        if not ref:
            return
        ref["channelId"] = channel_id
        if ref.get("messageId"):
            ref["messageId"] = ids.get(ref["messageId"], ref["messageId"])
        elif new["type"] == "ThreadCreated":
            ref["channelId"] = new["id"]

    def place(self, unit: Unit) -> int:
        """Copy one conversation to a random time in the week; return its message count."""
        originals = sorted(
            unit.messages + unit.thread_messages, key=lambda m: parse_time(m["timestamp"])
        )
        t0 = parse_time(originals[0]["timestamp"])
        span = parse_time(originals[-1]["timestamp"]) - t0
        scale = min(1.0, MAX_SPAN / span) if span else 1.0
        room = (timedelta(days=7) - MAX_SPAN).total_seconds()
        start = self.start + timedelta(seconds=self.rng.uniform(0, room))
        ctx: dict[str, Any] = {
            "ids": {},
            "cast": self.cast(unit),
            "names": {m["author"]["id"]: m["author"]["nickname"] for m in originals},
        }
        in_thread = {m["id"] for m in unit.thread_messages}
        thread_msgs: list[Message] = []
        for msg in originals:
            when = start + (parse_time(msg["timestamp"]) - t0) * scale
            new = self.copy_message(msg, when, ctx)
            if msg["id"] in in_thread:
                self.fix_reference(new, ctx["ids"][unit.messages[0]["id"]], ctx["ids"])
                thread_msgs.append(new)
            else:
                self.fix_reference(new, unit.channel, ctx["ids"])
                self.channel_msgs[unit.channel].append(new)
        if unit.thread is not None:
            self._add_thread(unit, ctx["ids"][unit.messages[0]["id"]], thread_msgs)
        return len(originals)

    def _add_thread(self, unit: Unit, thread_id: str, messages: list[Message]) -> None:
        """Record a thread file for a copied conversation."""
        assert unit.thread is not None
        parent = self.header["channels"][unit.channel]
        channel = dict(unit.thread, id=thread_id, categoryId=parent["id"], category=parent["name"])
        self.thread_files.append({"channel": channel, "messages": messages})

    def write(self, out_dir: Path, part: str = "") -> int:
        """Write every channel and thread as a DCE file, plus labels.json; return file count."""
        out_dir.mkdir(parents=True, exist_ok=True)
        guild = self.header["guild"]
        exported = (self.start + timedelta(days=7, minutes=5)).isoformat(timespec="milliseconds")
        docs = [
            {"channel": self.header["channels"][cid], "messages": msgs}
            for cid, msgs in self.channel_msgs.items()
            if msgs
        ] + self.thread_files
        for doc in docs:
            msgs = sorted(doc["messages"], key=lambda m: int(m["id"]))
            chan = doc["channel"]
            body = {
                "guild": guild,
                "channel": chan,
                "dateRange": {"after": None, "before": None},
                "exportedAt": exported,
                "messages": msgs,
                "messageCount": len(msgs),
            }
            name = (f"{guild['name']} - {chan['category']} - {safe(chan['name'])} "
                    f"[{chan['id']}]{part}")
            (out_dir / f"{name}.json").write_text(
                json.dumps(body, ensure_ascii=False), encoding="utf-8"
            )
        return len(docs)


def shallow_copy(msg: Message) -> Message:
    """Copy a message deep enough that the fields ``copy_message`` changes are not shared."""
    new = dict(msg)
    new["attachments"] = [dict(a) for a in msg["attachments"]]
    if msg.get("reference"):
        new["reference"] = dict(msg["reference"])
    return new


def safe(name: str) -> str:
    """A thread or channel name usable in a file name."""
    return re.sub(r"[\\/:*?\"<>|]", "_", name)


def generate(
    n_messages: int, out_dir: str | Path, seed: int = 0, example: Path = EXAMPLE,
    distinct: bool = False, week_messages: int | None = None, last_week: datetime | None = None,
) -> dict[str, int]:
    """Write about ``n_messages`` messages of synthetic chat as DCE files into ``out_dir``.

    Conversations from the example are copied whole until the count is reached, so the
    total can exceed ``n_messages`` by one conversation. Labels of the copies go to
    ``<out_dir>.labels.json`` next to the folder (so a folder source reads only exports).
    One week by default; with ``week_messages``, consecutive weeks ending with the week
    that starts at ``last_week`` (default: ``current_week_start()``; see the module
    docstring for ``distinct``).

    Returns:
        Counts: ``messages``, ``files``, ``threads``, ``users``, ``weeks``.
    """
    if n_messages < 1:
        raise ValueError("n_messages must be at least 1")
    header, units, labels = load_example(Path(example))
    per_week = min(week_messages or n_messages, n_messages)
    weeks = -(-n_messages // per_week)
    counts = {"messages": 0, "files": 0, "threads": 0, "users": 0, "weeks": weeks}
    all_labels: dict[str, str | None] = {}
    last_week = last_week or current_week_start()
    for week in range(weeks):
        start = last_week - timedelta(days=7 * (weeks - 1 - week))
        synth = Synthesiser(header, labels, n_messages, seed + week, start, distinct)
        synth.counter = week * 4 * per_week  # distinct details stay distinct across weeks
        total = 0
        while total < min(per_week, n_messages - counts["messages"]):
            total += synth.place(synth.rng.choice(units))
        part = f" [part {week + 1}]" if weeks > 1 else ""
        counts["files"] += synth.write(Path(out_dir), part)
        counts["messages"] += total
        counts["threads"] += len(synth.thread_files)
        counts["users"] = len(synth.pool)
        all_labels.update(synth.labels_out)
    out = Path(out_dir)
    (out.parent / f"{out.name}.labels.json").write_text(
        json.dumps({"messages": all_labels}), encoding="utf-8")
    return counts


def main() -> None:
    """Command line: ``synth.py N OUT_DIR [--seed S]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_messages", type=int)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--distinct", action="store_true")
    parser.add_argument("--week-messages", type=int, default=None)
    args = parser.parse_args()
    print(json.dumps(generate(args.n_messages, args.out_dir, args.seed, distinct=args.distinct,
                              week_messages=args.week_messages)))


if __name__ == "__main__":
    main()
