"""Conversation building: threads, reply chains, split questions, answers by ping."""

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


def test_an_answer_that_pings_the_asker_joins_the_question() -> None:
    # a help channel: "@asker try ..." is how many answers come, without Discord's reply
    messages = [msg("q", 0, "asker"), msg("noise", 300, "other"),
                msg("ans", 600, "helper", mentions=["asker"]),
                msg("ans2", 660, "helper"),  # the helper's next line continues the answer
                msg("next", 4000, "other2")]
    assert groups(messages) == [("q", ["q", "ans", "ans2"]), ("noise", ["noise"]),
                                ("next", ["next"])]


def test_a_ping_answers_the_askers_latest_question_within_a_day() -> None:
    day = 24 * 3600
    messages = [msg("old", 0, "asker"), msg("q", 600, "asker"),
                msg("ans", 600 + day, "helper", mentions=["asker"]),
                msg("late", 600 + 2 * day, "helper2", mentions=["asker"])]
    assert groups(messages) == [("old", ["old"]), ("q", ["q", "ans"]), ("late", ["late"])]


def test_pinging_someone_who_was_answering_is_a_question_of_ones_own() -> None:
    # "@helper I get this too: ..." must stay a problem of its own, not vanish into the
    # conversation the helper was answering in
    messages = [msg("q", 0, "asker"), msg("ans", 60, "helper", mentions=["asker"]),
                msg("mine", 120, "newcomer", mentions=["helper"])]
    assert groups(messages) == [("q", ["q", "ans"]), ("mine", ["mine"])]


def test_the_asker_pinging_back_the_helper_stays_in_the_question() -> None:
    messages = [msg("q", 0, "asker"), msg("ans", 60, "helper", mentions=["asker"]),
                msg("back", 900, "asker", mentions=["helper"]),
                msg("other", 1000, "x"), msg("ans2", 1100, "helper", mentions=["x"]),
                msg("again", 1200, "asker", mentions=["helper"])]  # the helper moved on
    assert groups(messages) == [("q", ["q", "ans", "back"]), ("other", ["other", "ans2"]),
                                ("again", ["again"])]


def test_of_several_pinged_askers_the_latest_is_answered() -> None:
    messages = [msg("q1", 0, "a"), msg("q2", 60, "b"), msg("q3", 90, "c", channel="d"),
                msg("ans", 120, "helper", mentions=["c", "b", "a", "helper", "nobody"])]
    assert groups(messages) == [("q1", ["q1"]), ("q2", ["q2", "ans"]), ("q3", ["q3"])]


def test_a_ping_in_another_channel_or_of_oneself_answers_nothing() -> None:
    messages = [msg("q", 0, "asker"), msg("there", 60, "helper", channel="d",
                                          mentions=["asker"]),
                msg("self", 120, "asker2", mentions=["asker2"])]
    assert groups(messages) == [("q", ["q"]), ("there", ["there"]), ("self", ["self"])]


def test_threads_and_replies_win_over_pings() -> None:
    messages = [msg("t", 0, "a"), msg("q", 10, "b"),
                msg("in", 60, "c", thread_id="t", mentions=["b"]),
                msg("r", 120, "d", reply_to="t", mentions=["b"])]
    assert groups(messages) == [("t", ["t", "in", "r"]), ("q", ["q"])]


def test_an_answer_in_the_middle_of_its_authors_own_lines_goes_to_the_pinged_asker() -> None:
    # the real export's "@Thomas that is a little bit off topic" came 54 s after its
    # author's previous line of a walkthrough of his own
    messages = [msg("q", 0, "thomas"), msg("own", 30, "adam"),
                msg("ans", 60, "adam", mentions=["thomas"])]
    assert groups(messages) == [("q", ["q", "ans"]), ("own", ["own"])]


def test_an_asker_typing_on_a_new_question_who_pings_the_helper_stays_on_it() -> None:
    messages = [msg("q0", 0, "a"), msg("h", 60, "helper", mentions=["a"]),
                msg("q1", 3600, "a"), msg("nudge", 3660, "a", mentions=["helper"])]
    assert groups(messages) == [("q0", ["q0", "h"]), ("q1", ["q1", "nudge"])]


def test_a_reply_to_a_message_outside_the_data_stands_alone_whoever_it_pings() -> None:
    # Discord lists the replied-to author in `mentions`; the reply's target is not here
    messages = [msg("q0", 0, "a"), msg("r", 600, "b", reply_to="gone", mentions=["a"])]
    assert groups(messages) == [("q0", ["q0"]), ("r", ["r"])]


def test_a_ping_follows_the_pinged_users_latest_message_of_any_kind() -> None:
    hour = 3600
    messages = [msg("q0", 0, "u"), msg("t", 7 * hour, "u"),
                msg("in", 7 * hour + 60, "u", thread_id="t"),
                msg("x", 7 * hour + 120, "x"), msg("r", 8 * hour, "u", reply_to="x"),
                msg("p1", 8 * hour + 60, "h", mentions=["u"]),  # u last replied in x's
                msg("in2", 8 * hour + 120, "u", thread_id="t"),
                msg("p2", 8 * hour + 180, "h", mentions=["u"])]  # u is back in u's thread
    assert groups(messages) == [("q0", ["q0"]), ("t", ["t", "in", "in2", "p2"]),
                                ("x", ["x", "r"]), ("p1", ["p1"])]


def test_pings_do_not_chain_a_conversation_past_a_day_from_its_start() -> None:
    hour = 3600
    messages = [msg("q", 0, "a"), msg("h", 60, "helper", mentions=["a"]),
                msg("back", 20 * hour, "a", mentions=["helper"]),
                msg("h2", 20 * hour + 60, "helper", mentions=["a"]),
                msg("again", 25 * hour, "a", mentions=["helper"])]
    assert groups(messages) == [("q", ["q", "h", "back", "h2"]), ("again", ["again"])]


def test_duplicate_ids_keep_the_latest_edit() -> None:
    old = msg("1", 0)
    new = old.model_copy(update={"content": "edited", "edited_at": T0 + timedelta(hours=1)})
    (conversation,) = build_conversations([new, old])
    assert [m.content for m in conversation.messages] == ["edited"]


def test_no_messages_no_conversations() -> None:
    assert build_conversations([]) == []
