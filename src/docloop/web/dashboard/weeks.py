"""Weeks: the unit every dashboard chart counts in.

A conversation is dated by its id when that is a Discord snowflake (the id
carries its creation time), so counting conversations per week needs no
message lookup; other ids are dated by their stored root message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta


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
