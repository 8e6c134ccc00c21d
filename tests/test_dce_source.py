"""The DiscordChatExporter source against real exports and malformed ones."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from docloop import db
from docloop.backends.sources.dce import ExportSource, read_export
from docloop.config import Settings
from docloop.errors import InputError
from docloop.models import Message
from docloop.stages.conversations import build_conversations
from docloop.storage.messages import MessageStore
from tests.dce_helpers import author, channel, export, message, write


def fixture(shared_dir: Path, name: str) -> Path:
    return shared_dir / "fixtures" / "discord-exports" / name


def read_all(path: Path) -> list[Message]:
    source = ExportSource.from_spec("discord-export", str(path), Settings())
    return [m for batch in source.batches(None, {}) for m in batch.messages]


def stored(path: Path) -> list[Message]:
    """What the store keeps of the source's batches (it collapses copies of one message)."""
    store = MessageStore(db.memory())
    store.upsert(read_all(path))
    return store.window(None)


def by_id(messages: list[Message]) -> dict[str, Message]:
    return {m.id: m for m in messages}


@pytest.mark.parametrize("name", ["1.json", "2.json", "3.json", "4.json", "5.json"])
def test_every_fixture_parses_with_aware_timestamps(shared_dir: Path, name: str) -> None:
    parsed = read_export(fixture(shared_dir, name))
    assert parsed.messages
    assert all(m.timestamp.utcoffset() == timedelta(0) for m in parsed.messages)
    assert all(m.author_id and m.channel_id for m in parsed.messages)


def test_general_channel_drops_system_messages_and_keeps_media(shared_dir: Path) -> None:
    parsed = read_export(fixture(shared_dir, "1.json"))
    messages = by_id(parsed.messages)
    assert len(parsed.messages) == 31
    assert parsed.skipped == {"system": 4}
    assert "1060927310439657577" not in messages  # ThreadCreated notice
    assert "1045178587575242785" not in messages  # GuildMemberJoin
    sticker = messages["1045179638760091709"]
    assert (sticker.content, sticker.has_sticker) == ("", True)
    attachment_only = messages["1060926845832409158"]
    assert (attachment_only.content, attachment_only.attachments) == ("", 1)


def test_reply_detected_by_reference_even_with_type_default(shared_dir: Path) -> None:
    messages = by_id(read_export(fixture(shared_dir, "1.json")).messages)
    assert messages["1060926346089476176"].reply_to == "1060926317920538735"
    assert messages["1060926395313827840"].reply_to == "1060926346089476176"
    assert messages["1060926197556588725"].reply_to is None


def test_a_recorded_answer_by_ping_joins_the_pinged_users_conversation(
        shared_dir: Path) -> None:
    """The real export's "@Thomas that is a little bit off topic, ..." has no reference:
    its `mentions` name Thomas, whose question it answers."""
    messages = read_export(fixture(shared_dir, "1.json")).messages
    answer = by_id(messages)["1060927310439657532"]
    assert answer.reply_to is None and answer.mentions == ["896568767994532880"]
    assert all(m.mentions == [] for m in messages if m.id != answer.id)
    (joined,) = [c for c in build_conversations(messages)
                 if answer.id in [m.id for m in c.messages]]
    assert joined.messages[0].author_id == "896568767994532880"  # Thomas asked
    assert joined.id == "1060927108362289223"


def test_thread_file_maps_to_parent_channel(shared_dir: Path) -> None:
    parsed = read_export(fixture(shared_dir, "2.json"))
    assert len(parsed.messages) == 5
    for m in parsed.messages:
        assert (m.thread_id, m.thread_name) == ("1060927310439657577", "Thomas is Thomas")
        assert (m.channel_id, m.channel_name) == ("1012224565567721552", "general")
    assert by_id(parsed.messages)["1060927583467876363"].reply_to == "1060927555093413928"


def test_dangling_reply_is_kept_with_its_target_id(shared_dir: Path) -> None:
    messages = by_id(read_export(fixture(shared_dir, "4.json")).messages)
    assert messages["1060954094627463198"].reply_to == "1060954094627463098"
    assert "1060954094627463098" not in messages


def test_duplicate_id_in_one_file_is_counted_and_collapses_in_the_store(
        shared_dir: Path) -> None:
    source = ExportSource.from_spec("discord-export", str(fixture(shared_dir, "5.json")),
                                    Settings())
    batches = [b for b in source.batches(None, {}) if b.messages]  # not the file's stat
    assert len(batches) == 1 and len(batches[0].messages) == 5
    assert batches[0].skipped == {"duplicate": 1}
    assert batches[0].watermark_key and batches[0].watermark_key.startswith(
        "discord-export:sha256:")
    kept = stored(fixture(shared_dir, "5.json"))
    assert len(kept) == len({m.id for m in kept}) == 4
    assert by_id(kept)["447793085255123004"].author_name == "mlomb"


@pytest.mark.parametrize("order", [("a.json", "b.json"), ("b.json", "a.json")])
def test_edited_copy_wins_across_files_in_either_order(
    shared_dir: Path, tmp_path: Path, order: tuple[str, str]
) -> None:
    shutil.copy(fixture(shared_dir, "3.json"), tmp_path / order[0])
    shutil.copy(fixture(shared_dir, "4.json"), tmp_path / order[1])
    messages = by_id(stored(tmp_path))
    assert len(messages) == 6
    edited = messages["1060954419862188072"]
    assert edited.content == ":pepeheart: :pepeheart: :pepeheart:"
    assert edited.edited_at is not None


def test_whole_fixture_folder_counts_channels_and_yields_a_batch_per_file(
        shared_dir: Path) -> None:
    source = ExportSource.from_spec(
        "discord-export", str(shared_dir / "fixtures" / "discord-exports"), Settings()
    )
    counts = {c.id: c for c in source.check()}
    assert counts["1060927310439657577"].kind == "thread"
    assert counts["1060927310439657577"].parent_id == "1012224565567721552"
    assert counts["1012224565567721552"].messages == 31
    assert counts["1012224565567875236"].messages == 6
    assert len(counts) == 4
    assert len([b for b in source.batches(None, {}) if b.messages]) == 5


def test_message_types_are_filtered_explicitly(tmp_path: Path) -> None:
    kinds: list[Any] = ["Default", "Reply", "0", 19, "GuildMemberJoin", "ChannelPinnedMessage",
                        "ThreadCreated", "RecipientAdd", "RecipientRemove", "Call",
                        "ChannelNameChange", "ChannelIconChange", "7", 20, "46"]
    raw = [message(str(1000 + i), kind=kind, minute=i) for i, kind in enumerate(kinds)]
    raw.append(message("2000", user=author("9", "helper-bot", bot=True)))
    parsed = read_export(write(tmp_path / "types.json", export(raw)))
    assert [m.id for m in parsed.messages] == ["1000", "1001", "1002", "1003"]
    assert parsed.skipped == {"system": 11, "bot": 1}


def test_tolerates_missing_optional_keys_and_odd_values(tmp_path: Path) -> None:
    raw = message("1", "hi", reactions=[{"emoji": {"id": "", "name": "👀"}, "count": 1}])
    del raw["stickers"]
    raw["author"].pop("nickname")
    numeric = message("2", minute=1)
    numeric["id"] = 2
    numeric["author"]["id"] = 100
    data = export([raw, numeric], channel(kind="11", parent=("500", "help")))
    data["messageCount"] = 99
    parsed = read_export(write(tmp_path / "odd.json", data))
    assert [m.id for m in parsed.messages] == ["1", "2"]
    assert parsed.messages[0].author_name == "alice"
    assert parsed.messages[0].thread_id == "500" and parsed.messages[0].channel_id == "500"
    assert parsed.messages[0].timestamp.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d.pop("messages"), "messages"),
    (lambda d: d.update(messages={"0": {}}), "messages"),
    (lambda d: d.pop("channel"), "channel"),
    (lambda d: d["channel"].pop("id"), "channel.id"),
    (lambda d: d["messages"][1].pop("id"), "messages[1].id"),
    (lambda d: d["messages"][1].update(id=""), "messages[1].id"),
    (lambda d: d["messages"][2].pop("timestamp"), "messages[2].timestamp"),
    (lambda d: d["messages"][2].update(timestamp="yesterday"), "messages[2].timestamp"),
    (lambda d: d["messages"][2]["author"].pop("id"), "messages[2].author.id"),
    (lambda d: d["messages"][0].pop("author"), "messages[0].author.id"),
    (lambda d: d["messages"].__setitem__(1, "text"), "messages[1]"),
    (lambda d: d.update(channel=channel(kind="GuildPublicThread", parent=("", ""))),
     "channel.categoryId"),
])
def test_malformed_export_names_file_and_field(tmp_path: Path, mutate: Any,
                                               expected: str) -> None:
    data = export([message(str(i), minute=i) for i in range(3)])
    mutate(data)
    path = write(tmp_path / "bad export.json", data)
    with pytest.raises(InputError) as caught:
        read_export(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_truncated_json_and_non_object_are_rejected(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.json"
    truncated.write_text('{"guild": {"id": "1"}, "channel": {"id": "2", "messages": [', "utf-8")
    with pytest.raises(InputError, match=r"cut\.json: not valid JSON.*truncated"):
        read_export(truncated)
    with pytest.raises(InputError, match="top level"):
        read_export(write(tmp_path / "list.json", [1, 2]))


def test_one_bad_file_in_a_folder_fails_the_source_naming_it(tmp_path: Path) -> None:
    write(tmp_path / "a" / "good.json", export([message("1")]))
    (tmp_path / "z" / "bad.json").parent.mkdir()
    (tmp_path / "z" / "bad.json").write_text("{", encoding="utf-8")
    source = ExportSource.from_spec("discord-export", str(tmp_path), Settings())
    assert source.atomic  # ingest stores it in one transaction: nothing from good.json stays
    with pytest.raises(InputError, match=r"bad\.json"):
        list(source.batches(None, {}))


def test_a_file_imported_before_is_not_read_again(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", export([message("1")]))
    source = ExportSource.from_spec("discord-export", str(path), Settings())
    (batch,) = source.batches(None, {})
    assert batch.watermark_key is not None and batch.watermark == str(path)
    assert list(source.batches(None, {batch.watermark_key: str(path)})) == []
    write(path, export([message("1"), message("2", minute=1)]))
    assert [m.id for b in source.batches(None, {batch.watermark_key: str(path)})
            for m in b.messages] == ["1", "2"]


def test_missing_path_and_empty_folder_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_all(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no \*\.json"):
        read_all(tmp_path / "empty")


def test_forwards_are_not_replies_and_odd_media_fields_count_zero(tmp_path: Path) -> None:
    forward = message("1", "look at this")
    forward["reference"] = {"type": "Forward", "messageId": "77", "channelId": "8",
                            "guildId": "9"}
    odd = message("2", "", minute=1, attachments=None, stickers={"format": "Png"})
    parsed = read_export(write(tmp_path / "fwd.json", export([forward, odd])))
    assert parsed.messages[0].reply_to is None
    assert (parsed.messages[1].attachments, parsed.messages[1].has_sticker) == (0, False)


def test_same_channel_in_two_files_is_counted_once_with_its_files(tmp_path: Path) -> None:
    write(tmp_path / "part1.json", export([message("1"), message("2", minute=1)]))
    write(tmp_path / "part2.json", export([message("2", minute=1), message("3", minute=2)]))
    source = ExportSource.from_spec("discord-export", str(tmp_path), Settings())
    (count,) = source.check()
    assert (count.messages, count.note) == (3, "2 file(s)")
    first, second = source.batches(None, {})
    assert [m.id for m in first.messages + second.messages] == ["1", "2", "2", "3"]
    assert second.skipped == {"duplicate": 1}
    assert [m.id for m in stored(tmp_path)] == ["1", "2", "3"]


def test_an_empty_channel_is_a_valid_export(tmp_path: Path) -> None:
    parsed = read_export(write(tmp_path / "quiet.json", export([])))
    assert parsed.messages == [] and parsed.channel.id == "500"


def test_messages_before_the_channel_still_map_to_it(tmp_path: Path) -> None:
    data = export([message("1"), message("2", minute=1)])
    reordered = {"messages": data["messages"], "channel": data["channel"], "guild": data["guild"]}
    parsed = read_export(write(tmp_path / "reordered.json", reordered))
    assert [(m.id, m.channel_id) for m in parsed.messages] == [("1", "500"), ("2", "500")]
