"""Shape and coverage checks for the hand-written example and benchmark data.

The bundled Tidepool example and the labelled FastAPI conversation set are the inputs of
the demo and of the quality benchmark; a malformed export or a stale label would silently
skew every figure measured on them. These tests check that each file has the real
DiscordChatExporter shape, that labels cover every human message, and that the minimum
counts promised in the issues hold. They also check that the committed exports are what
``examples/build_export.py`` produces from the chat scripts, and that the synthetic week
generator is deterministic and writes the same shape.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TIDEPOOL = REPO / "examples" / "tidepool"
FASTAPI_CONV = REPO / "benchmarks" / "data" / "fastapi_conv"
FASTAPI_HOLDOUT = REPO / "benchmarks" / "data" / "fastapi_holdout"
TSESLINT_CONV = REPO / "benchmarks" / "data" / "tseslint_conv"
LABELLED_SETS = pytest.mark.parametrize(
    ("folder", "corpus"),
    [(FASTAPI_CONV, "fastapi-docs"), (FASTAPI_HOLDOUT, "fastapi-docs"),
     (TSESLINT_CONV, "typescript-eslint-docs")],
    ids=["fastapi", "fastapi-holdout", "tseslint"])
DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
SYSTEM_TYPES = {"GuildMemberJoin", "ThreadCreated", "ChannelPinnedMessage"}
MESSAGE_TYPES = SYSTEM_TYPES | {"Default", "Reply"}
TOP_KEYS = {"guild", "channel", "dateRange", "exportedAt", "messages", "messageCount"}
CHANNEL_KEYS = {"id", "type", "categoryId", "category", "name", "topic"}
MESSAGE_KEYS = {
    "id", "type", "timestamp", "timestampEdited", "callEndedTimestamp", "isPinned",
    "content", "author", "attachments", "embeds", "stickers", "reactions", "mentions",
}  # fmt: skip
AUTHOR_KEYS = {"id", "name", "discriminator", "nickname", "color", "isBot", "avatarUrl"}

Doc = dict[str, Any]


def load_module(path: Path, name: str) -> ModuleType:
    """Import a script that is not part of the package (examples/, benchmarks/)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_exports(folder: Path) -> list[Doc]:
    """Every DCE JSON file in a folder, parsed."""
    paths = sorted(folder.glob("*.json"))
    assert paths, f"no exports in {folder}"
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths]


def is_human(msg: Doc) -> bool:
    """A message a person wrote: not a bot, not a system notice."""
    return not msg["author"]["isBot"] and msg["type"] not in SYSTEM_TYPES


def check_message(msg: Doc, where: str) -> None:
    """One message has every DCE field, a snowflake matching its timestamp, a valid type."""
    assert msg.keys() >= MESSAGE_KEYS, f"{where}: missing {MESSAGE_KEYS - msg.keys()}"
    assert msg["author"].keys() >= AUTHOR_KEYS, f"{where}: author fields"
    assert msg["type"] in MESSAGE_TYPES, f"{where}: type {msg['type']}"
    assert msg["id"].isdigit(), f"{where}: id {msg['id']!r}"
    stamp = datetime.fromisoformat(msg["timestamp"])
    assert stamp.utcoffset() is not None, f"{where}: timestamp without offset"
    id_ms = int(msg["id"]) >> 22
    assert id_ms == (stamp - DISCORD_EPOCH) // timedelta(milliseconds=1), f"{where}: id time"
    if msg["type"] == "Reply":
        assert msg.get("reference", {}).get("messageId"), f"{where}: reply without reference"
    if not msg["content"]:
        assert msg["attachments"] or msg["stickers"] or msg["type"] in SYSTEM_TYPES, where


def check_exports(docs: list[Doc]) -> None:
    """Whole-export invariants: headers, unique ids, time order, replies and thread parents."""
    all_ids: set[str] = set()
    by_channel = {d["channel"]["id"]: d for d in docs}
    for doc in docs:
        name = doc["channel"]["name"]
        assert doc.keys() >= TOP_KEYS, f"{name}: missing {TOP_KEYS - doc.keys()}"
        assert doc["channel"].keys() >= CHANNEL_KEYS, f"{name}: channel fields"
        assert doc["messageCount"] == len(doc["messages"]), name
        ids = [m["id"] for m in doc["messages"]]
        assert len(ids) == len(set(ids)), f"{name}: duplicate ids"
        assert ids == sorted(ids, key=int), f"{name}: messages not in time order"
        assert not all_ids & set(ids), f"{name}: ids shared with another file"
        all_ids |= set(ids)
        for msg in doc["messages"]:
            check_message(msg, f"{name}/{msg['id']}")
            target = (msg.get("reference") or {}).get("messageId")
            if target and msg["type"] != "ChannelPinnedMessage":
                assert target in ids, f"{name}/{msg['id']}: reply target not in channel"
        if doc["channel"]["type"] == "GuildPublicThread":
            parent = by_channel.get(doc["channel"]["categoryId"])
            assert parent is not None, f"thread {name}: parent channel missing"
            assert parent["channel"]["name"] == doc["channel"]["category"], name
            starters = {m["id"] for m in parent["messages"]}
            assert doc["channel"]["id"] in starters, f"thread {name}: no starter message"


def check_labels(docs: list[Doc], labels: Doc) -> dict[str, list[Doc]]:
    """Every human message labelled, labels point at real messages; messages per group."""
    messages = {m["id"]: m for d in docs for m in d["messages"]}
    human = {i for i, m in messages.items() if is_human(m)}
    assert human == set(labels["messages"]), "labels must cover exactly the human messages"
    per_group: dict[str, list[Doc]] = defaultdict(list)
    for msg_id, group in labels["messages"].items():
        if group is not None:
            assert group in labels["groups"], f"{msg_id}: unknown group {group}"
            per_group[group].append(messages[msg_id])
    for gid, group in labels["groups"].items():
        assert group["title"] and group["verdict_expected"] in {"covered", "partial", "missing"}
        assert (group["page"] is None) == (group["verdict_expected"] == "missing"), gid
        assert per_group[gid], f"group {gid} has no messages"
    return per_group


def askers_per_group(docs: list[Doc], labels: Doc) -> dict[str, set[str]]:
    """Authors of conversation roots (no reply reference, not inside a thread) per group."""
    askers: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        if doc["channel"]["type"] == "GuildPublicThread":
            continue
        for msg in doc["messages"]:
            group = labels["messages"].get(msg["id"])
            if group and not msg.get("reference"):
                askers[group].add(msg["author"]["id"])
    return askers


def users_and_days(msgs: list[Doc]) -> tuple[int, int]:
    """Distinct authors and distinct calendar days among messages."""
    users = {m["author"]["id"] for m in msgs}
    days = {datetime.fromisoformat(m["timestamp"]).date() for m in msgs}
    return len(users), len(days)


@pytest.mark.parametrize("folder", [TIDEPOOL, FASTAPI_CONV, FASTAPI_HOLDOUT, TSESLINT_CONV],
                         ids=["tidepool", "fastapi", "fastapi-holdout", "tseslint"])
def test_exports_have_the_dce_shape(folder: Path) -> None:
    docs = load_exports(folder / "discord")
    check_exports(docs)
    check_labels(docs, json.loads((folder / "labels.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("folder", [TIDEPOOL, FASTAPI_CONV, FASTAPI_HOLDOUT, TSESLINT_CONV],
                         ids=["tidepool", "fastapi", "fastapi-holdout", "tseslint"])
def test_committed_exports_match_the_chat_script(folder: Path, tmp_path: Path) -> None:
    builder = load_module(REPO / "examples" / "build_export.py", "build_export")
    for name in ("meta.json", "chat.txt"):
        shutil.copy(folder / name, tmp_path / name)
    builder.build(tmp_path)
    built = sorted(p.name for p in (tmp_path / "discord").glob("*.json"))
    assert built == sorted(p.name for p in (folder / "discord").glob("*.json"))
    for name in built:
        assert (tmp_path / "discord" / name).read_text(encoding="utf-8") == (
            folder / "discord" / name
        ).read_text(encoding="utf-8"), f"{name} is stale: rerun examples/build_export.py"
    assert (tmp_path / "labels.json").read_text() == (folder / "labels.json").read_text()
    assert (tmp_path / "labels.jsonl").read_text() == (folder / "labels.jsonl").read_text()


def test_tidepool_example_meets_the_issue_minimums() -> None:
    docs = load_exports(TIDEPOOL / "discord")
    labels = json.loads((TIDEPOOL / "labels.json").read_text(encoding="utf-8"))
    per_group = check_labels(docs, labels)
    messages = [m for d in docs for m in d["messages"]]
    channels = [d for d in docs if d["channel"]["type"] == "GuildTextChat"]
    threads = [d for d in docs if d["channel"]["type"] == "GuildPublicThread"]
    assert len(messages) >= 150 and len(channels) >= 3 and len(threads) >= 3
    assert {m["type"] for m in messages} >= MESSAGE_TYPES
    assert any(m["author"]["isBot"] for m in messages)
    assert any(not m["content"] and m["attachments"] for m in messages)
    assert any(m["type"] == "Default" and m.get("reference") for m in messages)
    assert len({datetime.fromisoformat(m["timestamp"]).utcoffset() for m in messages}) >= 2
    assert len(per_group) >= 6
    for gid, msgs in per_group.items():
        users, days = users_and_days(msgs)
        assert users >= 3 and days >= 2, f"{gid}: {users} users over {days} days"
    for gid, askers in askers_per_group(docs, labels).items():
        assert len(askers) >= 3, f"{gid}: raised by {len(askers)} user(s) only"
    assert any(g["verdict_expected"] == "missing" for g in labels["groups"].values())
    texts = " ".join(m["content"] for m in messages)
    assert "Bearer tp_sk_live_" in texts, "a secret-looking string for redaction"
    assert "@quantflow.io" in texts, "an e-mail address for redaction"


@LABELLED_SETS
def test_labelled_sets_meet_the_benchmark_minimums(folder: Path, corpus: str) -> None:
    docs = load_exports(folder / "discord")
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    per_group = check_labels(docs, labels)
    messages = [m for d in docs for m in d["messages"]]
    assert len(messages) >= 120
    assert any(d["channel"]["type"] == "GuildPublicThread" for d in docs)
    assert any(m.get("reference") and m["type"] in ("Default", "Reply") for m in messages)
    assert len(per_group) >= 15
    for gid, msgs in per_group.items():
        users, _ = users_and_days(msgs)
        assert 2 <= len(msgs) <= 8 and users >= 2, f"{gid}: {len(msgs)} msgs, {users} users"
    for gid, askers in askers_per_group(docs, labels).items():
        assert len(askers) >= 2, f"{gid}: raised by {len(askers)} user(s) only"
    noise = [i for i, g in labels["messages"].items() if g is None]
    assert len(noise) >= 20
    missing = [g for g in labels["groups"].values() if g["verdict_expected"] == "missing"]
    assert len(missing) >= 2


def test_tidepool_docs_are_a_real_docs_folder() -> None:
    docs_dir = TIDEPOOL / "docs"
    pages = sorted(docs_dir.rglob("*.md"))
    assert len(pages) >= 15 and (docs_dir / "index.md").is_file()
    assert (docs_dir / "changelog.md").is_file()
    assert any(p.parent != docs_dir for p in pages), "nested folders"
    texts = [p.read_text(encoding="utf-8") for p in pages]
    assert sum(t.startswith("---\ntitle:") for t in texts) >= 5
    assert all("\n# " in "\n" + t for t in texts), "every page has a heading"
    assert any("\n!!! " in t for t in texts) and any("```python" in t for t in texts)
    labels = json.loads((TIDEPOOL / "labels.json").read_text(encoding="utf-8"))
    for gid, group in labels["groups"].items():
        if group["page"] is not None:
            assert (docs_dir / group["page"]).is_file(), f"{gid}: no page {group['page']}"


@LABELLED_SETS
def test_labels_point_at_real_corpus_pages(folder: Path, corpus: str, shared_dir: Path) -> None:
    pages = shared_dir / "corpora" / corpus
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    for gid, group in labels["groups"].items():
        if group["page"] is not None:
            assert (pages / group["page"]).is_file(), f"{gid}: no page {group['page']}"


def synth_module() -> ModuleType:
    """benchmarks/synth.py, imported by path."""
    return load_module(REPO / "benchmarks" / "synth.py", "synth")


def read_tree(folder: Path) -> dict[str, str]:
    """File name -> content for every file in a folder."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def test_synthetic_week_is_deterministic_and_well_formed(tmp_path: Path) -> None:
    synth = synth_module()
    stats = synth.generate(600, tmp_path / "a", seed=3)
    synth.generate(600, tmp_path / "b", seed=3)
    synth.generate(600, tmp_path / "c", seed=4)
    assert read_tree(tmp_path / "a") == read_tree(tmp_path / "b")
    assert read_tree(tmp_path / "a") != read_tree(tmp_path / "c")
    docs = load_exports(tmp_path / "a")
    check_exports(docs)
    messages = [m for d in docs for m in d["messages"]]
    assert len(messages) == stats["messages"] >= 600
    assert stats["threads"] == sum(d["channel"]["type"] == "GuildPublicThread" for d in docs)
    days = {datetime.fromisoformat(m["timestamp"]).astimezone(synth.UTC).date() for m in messages}
    week = synth.current_week_start()
    assert days <= {(week + synth.timedelta(days=i)).date() for i in range(7)}
    labels = json.loads((tmp_path / "a.labels.json").read_text(encoding="utf-8"))["messages"]
    human = {m["id"] for m in messages if is_human(m)}
    assert set(labels) == human
    per_group: dict[str, set[str]] = defaultdict(set)
    for m in messages:
        if labels.get(m["id"]):
            per_group[labels[m["id"]]].add(m["author"]["id"])
    assert len(per_group) >= 6 and all(len(users) >= 3 for users in per_group.values())


def test_synthetic_week_rewords_copies(tmp_path: Path) -> None:
    synth = synth_module()
    synth.generate(2000, tmp_path / "w", seed=1)
    originals = {m["content"] for d in load_exports(TIDEPOOL / "discord") for m in d["messages"]}
    copies = [m["content"] for d in load_exports(tmp_path / "w") for m in d["messages"]]
    changed = [c for c in copies if c not in originals]
    assert len(changed) > len(copies) // 10, "copies should not all be verbatim"


def test_synthetic_weeks_end_before_now(tmp_path: Path) -> None:
    """docloop skips messages dated in the future, so no synthetic week may reach past now."""
    synth = synth_module()
    now = synth.datetime.now(synth.UTC)
    synth.generate(300, tmp_path / "w", seed=2, week_messages=100)
    stamps = [datetime.fromisoformat(m["timestamp"])
              for d in load_exports(tmp_path / "w") for m in d["messages"]]
    assert max(stamps) <= now
    assert max(stamps) >= now - synth.timedelta(days=8)
    assert synth.current_week_start(now) + synth.timedelta(days=7) <= now


def test_synth_rejects_an_empty_week(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        synth_module().generate(0, tmp_path / "x")
