"""Conversation building: threads, reply chains, split questions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from docloop.models import Message
from docloop.stages.conversations import build_conversations

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def msg(message_id: str, seconds: int, author: str = "a", channel: str = "c",
        **extra: object) -> Message:
    return Message(id=message_id, channel_id=channel, channel_name=f"#{channel}",
                   author_id=author, content=f"text {message_id}",
                   timestamp=T0 + timedelta(seconds=seconds), **extra)


def groups(messages: list[Message]) -> list[tuple[str, list[str]]]:
    return [(c.id, [m.id for m in c.messages]) for c in build_conversations(messages)]


def test_thread_forms_one_conversation_with_its_starter() -> None:
    messages = [
        msg("t1", 0, "asker"),
        msg("x", 60, "other"),
        msg("r1", 120, "helper", thread_id="t1", thread_name="Install fails"),
        msg("r2", 180, "asker", thread_id="t1", thread_name="Install fails", reply_to="r1"),
    ]
    conversations = build_conversations(messages)
    assert [(c.id, [m.id for m in c.messages]) for c in conversations] == [
        ("t1", ["t1", "r1", "r2"]), ("x", ["x"])]
    assert conversations[0].thread_name == "Install fails"
    assert conversations[0].channel_id == "c"


def test_thread_without_its_starter_still_groups() -> None:
    messages = [msg("r1", 0, "b", thread_id="t9"), msg("r2", 10, "c", thread_id="t9")]
    assert groups(messages) == [("t9", ["r1", "r2"])]


def test_reply_chain_joins_its_root_transitively() -> None:
    messages = [msg("q", 0, "a"), msg("a1", 600, "b", reply_to="q"),
                msg("a2", 1200, "a", reply_to="a1"), msg("a3", 1800, "c", reply_to="a2"),
                msg("other", 2400, "d")]
    assert groups(messages) == [("q", ["q", "a1", "a2", "a3"]), ("other", ["other"])]


def test_reply_to_a_thread_message_joins_the_thread() -> None:
    messages = [msg("t", 0, "a"), msg("in", 10, "b", thread_id="t"),
                msg("late", 900, "c", reply_to="in")]
    assert groups(messages) == [("t", ["t", "in", "late"])]


def test_dangling_reply_starts_its_own_conversation() -> None:
    messages = [msg("q", 0, "a"), msg("orphan", 600, "b", reply_to="gone")]
    assert groups(messages) == [("q", ["q"]), ("orphan", ["orphan"])]


def test_reply_cycles_terminate() -> None:
    messages = [msg("x", 0, "a", reply_to="y"), msg("y", 600, "b", reply_to="x"),
                msg("self", 1200, "c", reply_to="self")]
    assert groups(messages) == [("x", ["x", "y"]), ("self", ["self"])]


def test_reply_to_a_newer_message_is_grouped_with_it() -> None:
    messages = [msg("early", 0, "a", reply_to="later"), msg("later", 600, "b")]
    assert groups(messages) == [("later", ["early", "later"])]


def test_question_split_over_lines_joins_within_three_minutes() -> None:
    messages = [
        msg("l1", 0, "a"), msg("l2", 60, "a"), msg("l3", 60 + 180, "a"),
        msg("late", 60 + 180 + 181, "a"),
        msg("b1", 30, "b"), msg("elsewhere", 90, "a", channel="d"),
    ]
    assert groups(messages) == [("l1", ["l1", "l2", "l3"]), ("b1", ["b1"]),
                                ("elsewhere", ["elsewhere"]), ("late", ["late"])]


def test_a_reply_is_not_a_continuation_anchor() -> None:
    messages = [msg("q", 0, "b"), msg("ans", 600, "a", reply_to="q"), msg("new", 660, "a")]
    assert groups(messages) == [("q", ["q", "ans"]), ("new", ["new"])]


def test_order_and_ids_are_deterministic_regardless_of_input_order() -> None:
    messages = [msg(str(i), i * 50, author=str(i % 3), reply_to=str(i - 4) if i % 5 == 0 else None)
                for i in range(40)]
    expected = groups(messages)
    for seed in range(5):
        shuffled = messages[:]
        random.Random(seed).shuffle(shuffled)
        assert groups(shuffled) == expected
    firsts = [c.messages[0].timestamp for c in build_conversations(messages)]
    assert firsts == sorted(firsts)


def test_duplicate_ids_keep_the_latest_edit() -> None:
    old = msg("1", 0)
    new = old.model_copy(update={"content": "edited", "edited_at": T0 + timedelta(hours=1)})
    (conversation,) = build_conversations([new, old])
    assert [m.content for m in conversation.messages] == ["edited"]


def test_no_messages_no_conversations() -> None:
    assert build_conversations([]) == []
