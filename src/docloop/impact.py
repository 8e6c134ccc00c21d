"""Did the fix help? Questions per week before and after an insight's ticket was done.

An insight's questions are its conversations: every conversation any of its
members (problems) came from, ever — not only the latest window's — dated by
their first message (or, for a conversation whose first message is not
stored, by its Discord snowflake id). The ticket is done at its last applied
change to `done` (`stages.reply.done_at`). Weeks are counted back from that
moment (`before`, oldest first) and forward from it (`after`, only weeks that
have begun by `now`). A ticket not done yet has `done_at` None and `before`
counted back from `now`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from docloop.backends.sources.discord_map import snowflake_time_or_none
from docloop.models import InsightImpact
from docloop.stages.reply import done_at
from docloop.stores import InsightIdentities, MessageRepository, RecordStore, Stores

WEEK = timedelta(days=7)
DEFAULT_WEEKS = 4
#: done tickets whose impact a run report shows, most recently done first
REPORTED = 20


def insight_impact(records: RecordStore, insights: InsightIdentities,
                   messages: MessageRepository, insight_id: str, weeks: int,
                   now: datetime) -> InsightImpact:
    """Questions per week around the moment the insight's newest ticket was done."""
    record = records.by_insight(insight_id)
    finished = done_at(record) if record is not None else None
    snapshot = insights.snapshot(insight_id)
    conversation_ids = list(dict.fromkeys(insights.conversations(insight_id) + (
        snapshot.conversation_ids if snapshot else [])))
    times = conversation_times(messages, conversation_ids)
    pivot = finished or now
    before = [_count(times, pivot - (k + 1) * WEEK, pivot - k * WEEK)
              for k in reversed(range(weeks))]
    after = ([_count(times, pivot + k * WEEK, pivot + (k + 1) * WEEK)
              for k in range(weeks) if pivot + k * WEEK <= now] if finished else [])
    return InsightImpact(insight_id=insight_id, done_at=finished, weeks=weeks, before=before,
                         after=after)


def conversation_times(messages: MessageRepository,
                       conversation_ids: list[str]) -> list[datetime]:
    """When each conversation began: its stored first message, else its snowflake's time."""
    stored = {m.id: m.timestamp for m in messages.get(conversation_ids)}
    times = []
    for conversation_id in conversation_ids:
        moment = stored.get(conversation_id) or snowflake_time_or_none(conversation_id)
        if moment is not None:
            times.append(moment)
    return times


def _count(times: Iterable[datetime], start: datetime, end: datetime) -> int:
    return sum(1 for t in times if start <= t < end)


def done_impacts(stores: Stores, now: datetime,
                 weeks: int = DEFAULT_WEEKS) -> list[InsightImpact]:
    """The impact of the most recently done tickets, for the run report."""
    done = sorted(((finished, r.insight_id) for r in stores.records.all()
                   if (finished := done_at(r)) is not None), reverse=True)
    chosen = list(dict.fromkeys(insight_id for _, insight_id in done))[:REPORTED]
    return [insight_impact(stores.records, stores.insights, stores.messages, insight_id, weeks,
                           now) for insight_id in chosen]
