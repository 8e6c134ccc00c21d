"""The run's analysis window, kept in the store and read in blocks.

A million-message window as `Message` objects costs gigabytes. The window is
instead grouped into conversations from light outline rows (ids, channel,
author, time, reply target); the messages themselves are read back from the
store a block of conversations at a time, for the analyzer, and then only
those that a reported insight quotes or links. Memory follows the block size,
not the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import TypeVar

from docloop.models import Conversation, Message
from docloop.stages.conversations import conversation, group_ids
from docloop.stores import MessageRepository

#: Conversations read (and analysed) at a time.
BLOCK_CONVERSATIONS = 5_000
T = TypeVar("T")


class MessageWindow:
    """Stored messages at or after `since`, grouped into conversations (ids only in memory)."""

    def __init__(self, store: MessageRepository, since: datetime | None) -> None:
        self.store = store
        self.since = since
        outline = store.outline(since)
        self.size = len(outline)
        self.newest = max((m.timestamp for m in outline), default=None)
        outline.sort(key=lambda m: (m.timestamp, m.id))
        conversation_of = group_ids(outline)
        groups: dict[str, list[str]] = {}
        for row in outline:
            groups.setdefault(conversation_of[row.id], []).append(row.id)
        self.groups: list[tuple[str, list[str]]] | None = list(groups.items())
        self.conversation_count = len(self.groups)
        self.conversations = WindowConversations(self)

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[Message]:
        return self.store.iter_window(self.since)

    def release_groups(self) -> None:
        """Drop the conversation outline once extraction has read it.

        At a million messages it is every message id (about 100 MB), held
        otherwise through embedding and clustering; the messages stay readable
        by id (`lookup`), but the conversations cannot be iterated again.
        """
        self.groups = None

    def lookup(self, ids: Iterable[str]) -> dict[str, Message]:
        """The window's messages with these ids, by id."""
        return {m.id: m for m in self.store.get(list(dict.fromkeys(ids)))}


class WindowConversations:
    """The window's conversations in order of their first message, built a block at a time."""

    def __init__(self, window: MessageWindow) -> None:
        self.window = window

    def __len__(self) -> int:
        return self.window.conversation_count

    def __iter__(self) -> Iterator[Conversation]:
        groups = self.window.groups
        if groups is None:
            raise RuntimeError("the window's conversations were released after extraction")
        for block in chunks(groups, BLOCK_CONVERSATIONS):
            messages = self.window.lookup(i for _, ids in block for i in ids)
            yield from (conversation(cid, [messages[i] for i in ids]) for cid, ids in block)


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while block := list(islice(iterator, size)):
        yield block

