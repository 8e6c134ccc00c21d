"""Group messages into conversations, the same way for every source.

A conversation is what one person asked plus the answers: a thread (with the
channel message that started it), a reply chain, a question typed over
several lines, or an answer that pings the asker by name. Later stages extract
one or more problems per conversation, so grouping decides what counts as "the
same question" once versus twice, and which answer a question got.

In a busy help channel many answers are not Discord replies: the helper writes
"@asker set `allow_origins` ..." (a real export's "@Thomas that is a little bit
off topic, let me create a thread for you"). Such a channel message joins the
conversation of the pinged user's latest message in that channel, when either of
the two asked in that conversation and it began at most `MENTION_WINDOW` before: the
helper's "@asker try ..." and the asker's "@helper thanks, but now ..." both belong to
the question. The answer is the evidence the analyzer keeps beside the question
(`Problem.context`; benchmarks/answer_ablation.py measures what it is worth,
benchmarks/ping_answers.py this rule). When it pings several people, the one who
wrote last is the one answered. An answer goes to the pinged asker's question even in
the middle of its author's own lines; an asker typing on a new question of their own
who pings a helper ("... @helper any idea?") stays on it; a ping of someone who was
answering another user ("@helper I get this error too: ...") is a question of one's
own; a reply whose target is not in the data stands alone, as before, whoever it pings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from docloop.models import Conversation, Message
from docloop.storage.messages import Outline

#: Lines by one author in one channel this close together form one message.
CONTINUATION_GAP = timedelta(minutes=3)
#: An "@user" channel message joins a conversation that began at most this long before
#: (help channels answer across time zones: the next morning's answer still counts), so
#: an asker and a helper pinging each other do not chain one conversation for ever.
MENTION_WINDOW = timedelta(hours=24)


def build_conversations(messages: Iterable[Message]) -> list[Conversation]:
    """Group `messages` into conversations ordered by their first message."""
    ordered = sorted(_unique(messages), key=lambda m: (m.timestamp, m.id))
    return _assemble(ordered, group_ids([Outline.of(m) for m in ordered]))


def group_ids(ordered: Sequence[Outline]) -> dict[str, str]:
    """Message id -> conversation id, for distinct messages sorted by (timestamp, id).

    Reads only ids, channel, author, time and reply target (`Outline` rows), so a
    large window is grouped without loading every message.
    """
    by_id = {m.id: m for m in ordered}
    thread_ids = {m.thread_id for m in ordered if m.thread_id}
    conversation_of: dict[str, str] = {}
    last_plain: dict[tuple[str, str], Outline] = {}
    latest: dict[tuple[str, str], Outline] = {}  # anything, a thread's or a reply included
    for message in ordered:
        if message.id not in conversation_of:
            conversation_of[message.id] = _conversation_id(
                message, by_id, thread_ids, conversation_of, last_plain, latest
            )
        if _is_plain(message, by_id):
            last_plain[(message.author_id, message.channel_id)] = message
        latest[(message.author_id, message.channel_id)] = message
    return conversation_of


def _unique(messages: Iterable[Message]) -> list[Message]:
    """One copy per id: the later edit, else the later occurrence."""
    kept: dict[str, Message] = {}
    for message in messages:
        current = kept.get(message.id)
        if current is None or _edit_key(message) >= _edit_key(current):
            kept[message.id] = message
    return list(kept.values())


def _edit_key(message: Message) -> float:
    return message.edited_at.timestamp() if message.edited_at else float("-inf")


def _is_plain(message: Outline, by_id: Mapping[str, Outline]) -> bool:
    """A channel message (a thread starter included) that does not reply to another."""
    return message.thread_id is None and not (message.reply_to and message.reply_to in by_id)


def _conversation_id(message: Outline, by_id: Mapping[str, Outline], thread_ids: set[str],
                     conversation_of: dict[str, str],
                     last_plain: Mapping[tuple[str, str], Outline],
                     latest: Mapping[tuple[str, str], Outline]) -> str:
    """Thread, then reply root, then the question a ping answers, then same-author
    continuation, else its own (`_placed`)."""
    if message.thread_id:
        return message.thread_id
    if message.id in thread_ids:
        return message.id
    if message.reply_to and message.reply_to in by_id:
        return _reply_root(message, by_id, thread_ids, conversation_of)
    previous = last_plain.get((message.author_id, message.channel_id))
    continued = (conversation_of[previous.id] if previous is not None
                 and message.timestamp - previous.timestamp <= CONTINUATION_GAP else None)
    pinged = None if message.reply_to else _pinged(message, by_id, conversation_of, latest)
    return _placed(message, by_id, continued, pinged)


def _placed(message: Outline, by_id: Mapping[str, Outline], continued: str | None,
            pinged: tuple[str, bool] | None) -> str:
    """Where a channel message goes, given the conversation its author is typing on in
    (`continued`) and the one its pings lead to (`pinged`, and whether the pinged user
    asked there): an answer to the pinged asker goes to their question ("@Thomas that is
    a little bit off topic" in the middle of its author's own lines); an asker's ping
    back to a helper goes to that older question unless the asker is typing on a
    question of their own ("how do I X? ... @helper any idea?")."""
    if pinged is not None and (pinged[1] or continued is None
                               or _asker(continued, by_id) != message.author_id):
        return pinged[0]
    return continued or message.id


def _pinged(message: Outline, by_id: Mapping[str, Outline], conversation_of: Mapping[str, str],
            latest: Mapping[tuple[str, str], Outline]) -> tuple[str, bool] | None:
    """The conversation an "@user ..." channel message belongs to: that of the latest
    message in the channel of a user it pings, when the pinged user or the message's
    author asked in it and it began within MENTION_WINDOW (its author's own pings left
    out; of several, the latest), and whether the pinged user is who asked there; None
    when no ping is part of a question."""
    found: tuple[Outline, str, bool] | None = None
    for user in message.mentions:
        last = latest.get((user, message.channel_id))
        if user == message.author_id or last is None:
            continue
        conversation = conversation_of[last.id]
        root = by_id.get(conversation)
        if (root is None or root.author_id not in (user, message.author_id)
                or message.timestamp - root.timestamp > MENTION_WINDOW):
            continue
        if found is None or (last.timestamp, last.id) > (found[0].timestamp, found[0].id):
            found = (last, conversation, root.author_id == user)
    return (found[1], found[2]) if found is not None else None


def _asker(conversation_id: str, by_id: Mapping[str, Outline]) -> str | None:
    """Who opened a conversation: the author of its root (a thread's starter, whose id is
    the thread's), when that message is in the window."""
    root = by_id.get(conversation_id)
    return root.author_id if root is not None else None


def _reply_root(message: Outline, by_id: Mapping[str, Outline], thread_ids: set[str],
                conversation_of: dict[str, str]) -> str:
    """Follow `reply_to` to the first message whose conversation is known (cycle-safe).

    Targets are normally older and already placed. A chain through newer
    messages ends at its true root; a cycle has none, so the message being
    placed (the oldest on it) is used. Every message on the way is placed in
    that same conversation.
    """
    path = [message.id]
    current = message
    while current.reply_to and current.reply_to in by_id and current.reply_to not in path:
        current = by_id[current.reply_to]
        if current.id in conversation_of:
            root = conversation_of[current.id]
            break
        if current.thread_id or current.id in thread_ids:
            root = current.thread_id or current.id
            break
        path.append(current.id)
    else:
        cyclic = current.reply_to is not None and current.reply_to in path
        root = message.id if cyclic else current.id
    for member in path:
        conversation_of.setdefault(member, root)
    return root


def _assemble(ordered: list[Message], conversation_of: dict[str, str]) -> list[Conversation]:
    """Collect messages per conversation id in first-message order."""
    groups: dict[str, list[Message]] = {}
    for message in ordered:
        groups.setdefault(conversation_of[message.id], []).append(message)
    return [conversation(cid, members) for cid, members in groups.items()]


def conversation(conversation_id: str, members: list[Message]) -> Conversation:
    """A conversation from its messages in time order (the first one names the channel)."""
    first = members[0]
    thread_name = next((m.thread_name for m in members if m.thread_name), None)
    return Conversation(id=conversation_id, channel_id=first.channel_id,
                        channel_name=first.channel_name, thread_name=thread_name,
                        messages=members)
