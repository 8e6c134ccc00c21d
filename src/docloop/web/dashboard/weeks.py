"""Weeks: the unit every dashboard chart counts in.

A conversation is dated by its id when that is a Discord snowflake (the id
carries its creation time), so counting conversations per week needs no
message lookup; other ids are dated by their stored root message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from docloop.backends.sources.discord_map import DISCORD_EPOCH_MS

#: smaller numbers (dated in Discord's first month, before it launched) are not snowflakes
_MIN_SNOWFLAKE = (30 * 86_400_000) << 22


def snowflake_time(conversation_id: str) -> datetime | None:
    """When a Discord id was made, or None for an id that is not a snowflake."""
    if not conversation_id.isdigit() or int(conversation_id) < _MIN_SNOWFLAKE:
        return None
    millis = (int(conversation_id) >> 22) + DISCORD_EPOCH_MS
    try:
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def week_start(moment: datetime) -> date:
    """The Monday of the ISO week `moment` falls in."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


def weekly_counts(moments: Iterable[datetime], weeks: int, until: datetime) -> list[int]:
    """How many `moments` fall in each of the `weeks` weeks ending with `until`'s week."""
    last = week_start(until)
    first = last - timedelta(weeks=weeks - 1)
    counts = Counter(week_start(m) for m in moments)
    return [counts.get(first + timedelta(weeks=i), 0) for i in range(weeks)]


def week_labels(weeks: int, until: datetime) -> list[str]:
    """`YYYY-MM-DD` of each week's Monday, oldest first (what charts print)."""
    last = week_start(until)
    return [(last - timedelta(weeks=weeks - 1 - i)).isoformat() for i in range(weeks)]
