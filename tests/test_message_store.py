"""The message store: idempotent upserts, newer edits, windows and watermarks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from docloop import db
from docloop.models import Message
from docloop.storage.messages import MIGRATIONS, MessageStore, content_hash

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))


def msg(message_id: str, minutes: int = 0, content: str = "hi",
        edited: int | None = None, **extra: object) -> Message:
    return Message(
        id=message_id, channel_id="c1", author_id="a1", content=content,
        timestamp=T0 + timedelta(minutes=minutes),
        edited_at=T0 + timedelta(minutes=edited) if edited is not None else None, **extra,
    )


@pytest.fixture
def store() -> MessageStore:
    return MessageStore(db.memory())


def test_new_messages_count_and_an_identical_reimport_counts_zero(store: MessageStore) -> None:
    batch = [msg("1"), msg("2", 1), msg("3", 2, thread_id="t", thread_name="T")]
    assert store.upsert(batch) == 3
    assert store.upsert(batch) == 0
    assert store.count() == 3


def test_round_trip_keeps_every_field_and_the_offset(store: MessageStore) -> None:
    original = msg("1", content="x", edited=5, guild_id="g", channel_name="help",
                   thread_id="t", thread_name="T", author_name="Al", reply_to="0",
                   attachments=2, has_sticker=True, reactions={"😂": 9, "kekw": 2},
                   mentions=["u2", "u3"])
    store.upsert([original])
    (loaded,) = store.get(["1"])
    assert loaded == original
    assert loaded.timestamp.utcoffset() == timedelta(hours=2)


def test_newer_edit_replaces_older_never_the_reverse(store: MessageStore) -> None:
    store.upsert([msg("1", content="first", edited=5)])
    assert store.upsert([msg("1", content="older edit", edited=3)]) == 0
    assert store.upsert([msg("1", content="unedited copy")]) == 0
    assert store.upsert([msg("1", content="same edit time", edited=5)]) == 0
    assert store.get(["1"])[0].content == "first"
    assert store.upsert([msg("1", content="latest", edited=9)]) == 1
    assert store.get(["1"])[0].content == "latest"


def test_edit_replaces_an_unedited_copy(store: MessageStore) -> None:
    store.upsert([msg("1", content="typo")])
    assert store.upsert([msg("1", content="fixed", edited=1)]) == 1
    assert store.get(["1"])[0].content == "fixed"


def test_duplicates_inside_one_upsert_keep_the_newest(store: MessageStore) -> None:
    changed = store.upsert([msg("1", content="a"), msg("1", content="b", edited=2),
                            msg("1", content="c", edited=1)])
    assert changed == 2
    assert store.get(["1"])[0].content == "b"


def test_window_filters_by_time_across_offsets_oldest_first(store: MessageStore) -> None:
    store.upsert([msg("3", 30), msg("1", 0), msg("2", 10)])
    assert [m.id for m in store.window(None)] == ["1", "2", "3"]
    since_utc = (T0 + timedelta(minutes=10)).astimezone(UTC)
    assert [m.id for m in store.window(since_utc)] == ["2", "3"]
    assert store.window(T0 + timedelta(days=1)) == []


def test_get_keeps_requested_order_and_skips_unknown(store: MessageStore) -> None:
    store.upsert([msg(str(i), i) for i in range(600)])
    wanted = ["599", "nope", "3", "0", "3"]
    assert [m.id for m in store.get(wanted)] == ["599", "3", "0"]
    assert len(store.get([str(i) for i in range(600)])) == 600


def test_watermarks_by_prefix_and_update(store: MessageStore) -> None:
    store.set_watermark("discord:channel:1", "100")
    store.set_watermark("discord:channel:2", "200")
    store.set_watermark("other:x", "7")
    store.set_watermark("discord:channel:1", "150")
    assert store.watermarks("discord:") == {"discord:channel:1": "150",
                                            "discord:channel:2": "200"}
    assert len(store.watermarks()) == 3


def test_content_hash_column_matches_the_text(store: MessageStore) -> None:
    store.upsert([msg("1", content="abc")])
    row = store.conn.execute("SELECT content_hash FROM messages WHERE id = '1'").fetchone()
    assert row[0] == content_hash(msg("9", content="abc")) != content_hash(msg("9", content="x"))


def test_schema_is_created_once_on_a_file_database(tmp_path: Path) -> None:
    path = tmp_path / "home" / "docloop.db"
    first = MessageStore(db.connect(path))
    first.upsert([msg("1")])
    first.conn.close()
    again = MessageStore(db.connect(path))
    assert [m.id for m in again.window(None)] == ["1"]


def store_from_before(path: Path, migrations: int) -> MessageStore:
    """A store over a database made by the first `migrations` migrations, holding message
    "1" as that schema stored it."""
    old = db.connect(path)
    db.ensure_schema(old, "messages", MIGRATIONS[:migrations])
    old.execute("INSERT INTO messages (id, source, channel_id, author_id, timestamp, ts_epoch, "
                "content_hash) VALUES ('1', 'discord', 'c1', 'a1', ?, 0, 'h')",
                (T0.isoformat(),))
    old.commit()
    old.close()
    return MessageStore(db.connect(path))


def test_a_database_from_before_reactions_gains_the_column(tmp_path: Path) -> None:
    store = store_from_before(tmp_path / "docloop.db", 1)
    (kept,) = store.get(["1"])
    assert kept.reactions == {}
    store.upsert([msg("2", reactions={"👀": 3})])
    assert store.get(["2"])[0].reactions == {"👀": 3}


def test_a_reimport_refreshes_reaction_counts_without_counting_a_change(
        store: MessageStore) -> None:
    store.upsert([msg("1", reactions={"😂": 2})])
    assert store.upsert([msg("1", reactions={"😂": 9, "👀": 1})]) == 0
    assert store.get(["1"])[0].reactions == {"😂": 9, "👀": 1}
    assert store.upsert([msg("1")]) == 0  # a copy without reactions keeps the stored ones
    assert store.get(["1"])[0].reactions == {"😂": 9, "👀": 1}



def test_the_outline_carries_who_each_message_pings(store: MessageStore) -> None:
    store.upsert([msg("1"), msg("2", 1, mentions=["a1", "u9"])])
    assert [(o.id, o.mentions) for o in store.outline(None)] == [("1", ()), ("2", ("a1", "u9"))]


def test_a_database_from_before_mentions_gains_the_column_and_a_reimport_fills_it(
        tmp_path: Path) -> None:
    store = store_from_before(tmp_path / "docloop.db", 3)
    assert store.get(["1"])[0].mentions == []
    before = store.window_digest(None)
    # the same message read again (the REST API, a fresh export) now brings its mentions
    assert store.upsert([msg("1", mentions=["u2"])]) == 0
    assert store.get(["1"])[0].mentions == ["u2"]
    assert store.window_digest(None) != before  # the next run groups it afresh
    assert store.upsert([msg("1", mentions=["u3"])]) == 0  # only an edit changes them later
    assert store.get(["1"])[0].mentions == ["u2"]
