"""A guild whose questions a ticket answers: what the reply tests start from.

One thread conversation and one channel conversation on the local Discord
fake, and in the home what a run leaves behind for them: the messages, the
insight (members and snapshot, with its doc link) and the ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from docloop.backends.replies.base import Replier
from docloop.models import DocMatch, Insight, Message, Reply, TicketRecord
from docloop.stores import Stores
from tests.fake_discord import FakeDiscord

NOW = datetime.now(UTC).replace(microsecond=0)
DOC_URL = "https://docs.example/cors/"


@dataclass
class Guild:
    """The ids a reply test checks posts against."""

    thread_id: str
    channel_id: str
    root_id: str
    starter: dict[str, Any]
    root: dict[str, Any]


def add_conversations(fake: FakeDiscord) -> Guild:
    """A thread started from a question, and a question asked in the channel itself."""
    help_ = fake.add_channel("help")
    asker, other = fake.user("Asker"), fake.user("Other")
    starter = fake.add_message(help_["id"], asker, "How do I set CORS origins?")
    thread = fake.add_thread(help_["id"], "CORS origins", from_message=starter)
    fake.add_message(thread["id"], asker, "I get a CORS error from the browser")
    root = fake.add_message(help_["id"], other, "CORS error on my frontend, which origin?")
    return Guild(thread["id"], help_["id"], root["id"], starter, root)


def ticket(tracker: str = "local", external_id: str | None = None) -> TicketRecord:
    """The ticket filed for the CORS insight three days ago, still open."""
    return TicketRecord(id="DL-1", tracker=tracker, external_id=external_id,
                        insight_id="ins_cors", title="CORS origins", doc_url=DOC_URL,
                        created_at=NOW - timedelta(days=3), updated_at=NOW - timedelta(days=3))


def remember(stores: Stores, guild: Guild, record: TicketRecord) -> None:
    """What a run leaves: the messages, the insight (members, snapshot) and its ticket."""
    def message(raw: dict[str, Any]) -> Message:
        return Message(id=raw["id"], channel_id=guild.channel_id, guild_id="1",
                       author_id=raw["author"]["id"], content=raw["content"],
                       timestamp=NOW - timedelta(days=10))

    thread_id = guild.thread_id
    in_thread = Message(id=f"{thread_id}9", channel_id=guild.channel_id, thread_id=thread_id,
                        author_id="a", content="I get a CORS error", timestamp=NOW)
    stores.messages.upsert([message(guild.starter), message(guild.root), in_thread])
    insight = Insight(id="ins_cors", title="CORS origins", summary="s",
                      conversation_ids=[thread_id, guild.root_id],
                      message_ids=[guild.starter["id"], in_thread.id, guild.root_id],
                      doc=DocMatch(path="cors.md", url=DOC_URL))
    stores.insights.save([("ins_cors", np.array([1.0], dtype=np.float32),
                           [("p1", thread_id), ("p2", guild.root_id)])])
    stores.insights.save_snapshots([insight])
    stores.records.put(record)


class CrashAfterSend(Replier):
    """Posts for real, then dies before docloop can record the message id."""

    def __init__(self, inner: Replier) -> None:
        self.inner = inner

    def send(self, reply: Reply) -> str:
        self.inner.send(reply)
        raise KeyboardInterrupt("killed between send and record")

    def find_sent(self, reply: Reply) -> str | None:
        return self.inner.find_sent(reply)
