"""Seeding a home the way runs leave it, for the review desk's tests and benchmark.

Everything goes through the registry's (SQLite) stores (insight identities and
snapshots, messages, run history, ticket records), as `docloop run` writes
them, so the desk reads exactly what production leaves behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from docloop import registry
from docloop.config import Settings
from docloop.models import (
    DocMatch,
    Insight,
    Message,
    Quote,
    RunReport,
    RunStats,
    Suggestion,
    TicketRecord,
)
from docloop.stores import Stores

GUILD = "1187342615530721280"
CHANNEL = "1187342617392545849"
DISCORD_EPOCH_MS = 1_420_070_400_000


def snowflake(moment: datetime, sequence: int = 0) -> str:
    """A Discord id made at `moment` (what real conversation ids look like)."""
    millis = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
    return str((millis << 22) | (sequence & 0x3FFFFF))


def insight(number: int, now: datetime, *, title: str = "", score: float = 1.0,
            conversations: int = 3, verdict: str = "partial", doc_path: str = "guide/auth.md",
            channels: Sequence[str] = ("help",), quote_text: str = "") -> Insight:
    """An insight as a run reports it, its conversations spread over the last weeks."""
    conversation_ids = [snowflake(now - timedelta(days=3 + 5 * k), number * 100 + k)
                        for k in range(conversations)]
    quote_id = conversation_ids[0]
    return Insight(
        id=f"ins_{number:05d}", title=title or f"Problem number {number}",
        summary=f"Users ask about problem {number}.", category="question",
        problem_ids=[f"p{number}-{k}" for k in range(conversations)],
        conversation_ids=conversation_ids, message_ids=conversation_ids,
        author_ids=[f"u{k}" for k in range(conversations)], channels=list(channels),
        users=conversations, score=score,
        quotes=[Quote(message_id=quote_id, author="dev_sam",
                      text=quote_text or f"How do I fix problem {number}?")],
        first_seen=now - timedelta(days=3 + 5 * (conversations - 1)),
        last_seen=now - timedelta(days=3),
        doc=DocMatch(path=None if verdict == "missing" else doc_path,
                     url=None if verdict == "missing" else f"https://docs.example/{doc_path}",
                     heading="Tokens", anchor="tokens", score=0.61, verdict=verdict),  # type: ignore[arg-type]
        suggestion=Suggestion(kind="edit", text="Say where the token goes.",
                              patch=f"--- a/{doc_path}\n+++ b/{doc_path}\n@@ -1,1 +1,2 @@\n"
                                    " # Auth\n+Put the token in TP_TOKEN.\n"),
    )


def messages_for(insights: Sequence[Insight]) -> list[Message]:
    """The stored root message of each quote (so quotes link back to Discord)."""
    out = []
    for item in insights:
        for quote in item.quotes:
            out.append(Message(id=quote.message_id, guild_id=GUILD, channel_id=CHANNEL,
                               channel_name="help", author_id="u0", author_name=quote.author,
                               content=quote.text, timestamp=item.last_seen or datetime.now(UTC)))
    return out


def record_run(settings: Settings, conn: sqlite3.Connection, insights: Sequence[Insight],
               run_id: str, started_at: datetime, **stats: int) -> RunReport:
    """Store what `docloop run` stores in a SQLite home (see `record_run_in`)."""
    return record_run_in(registry.sqlite_stores(conn), insights, run_id, started_at, **stats)


def record_run_in(stores: Stores, insights: Sequence[Insight], run_id: str,
                  started_at: datetime, **stats: int) -> RunReport:
    """Store what `docloop run` stores: identities, snapshots, messages and the run."""
    identities = stores.insights
    identities.save((i.id, np.ones(4, dtype=np.float32),
                     list(zip(i.problem_ids, i.conversation_ids, strict=True)))
                    for i in insights)
    identities.save_snapshots(insights)
    with stores.transaction():
        stores.messages.upsert(messages_for(insights))
    report = RunReport(run_id=run_id, started_at=started_at,
                       finished_at=started_at + timedelta(minutes=2),
                       stats=RunStats(insights=len(insights), **stats),
                       insights=list(insights))
    stores.runs.record(report)
    return report


def file_ticket(settings: Settings, conn: sqlite3.Connection, item: Insight, filed: datetime,
                statuses: Sequence[tuple[str, datetime, str]] = ()) -> TicketRecord:
    """A filed ticket in a SQLite home (see `file_ticket_in`)."""
    return file_ticket_in(registry.sqlite_stores(conn), item, filed, statuses)


def file_ticket_in(stores: Stores, item: Insight, filed: datetime,
                   statuses: Sequence[tuple[str, datetime, str]] = ()) -> TicketRecord:
    """A filed ticket for `item` and its status changes (status, when, source)."""
    records = stores.records
    record = TicketRecord(id=f"DL-{item.id[-5:]}", tracker="local", insight_id=item.id,
                          title=item.title, created_at=filed, updated_at=filed,
                          conversations=len(item.conversation_ids), users=item.users)
    records.put(record)
    for status, at, source in statuses:
        records.set_status(record.id, status, at, source)  # type: ignore[arg-type]
    return record
