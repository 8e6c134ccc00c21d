"""Significance: how much an insight deserves a docs writer's time.

    score = (2.0·log2(1 + users) + 1.5·log2(1 + conversations) + 0.5·(channels − 1))
            × (0.5 + 0.5·recency) × (1 + 0.25·clamp(log2(growth), −1, 2))

    recency = exp(−days since last seen / 14), measured from the newest message
              in the analysed window (so the same data always scores the same);
    growth  = (conversations in the last 7 days + 1) / (conversations in the 7 days
              before + 1).

Distinct users weigh most (one person repeating a question is not a pattern),
then distinct conversations, then spread across channels. The inputs and a
sentence per factor are stored with the insight and shown in tickets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from docloop.models import Problem, ScoreBreakdown

RECENCY_DAYS = 14.0
WEEK = timedelta(days=7)


def significance(problems: Sequence[Problem], channels: int, messages: int,
                 reference: datetime) -> ScoreBreakdown:
    """Score one insight from its member problems."""
    users = len({a for p in problems for a in p.author_ids})
    conversations = len({p.conversation_id for p in problems})
    last_seen = max(p.timestamp for p in problems)
    age_days = max(0.0, (reference - last_seen).total_seconds() / 86400)
    recency = math.exp(-age_days / RECENCY_DAYS)
    recent = sum(1 for p in problems if reference - p.timestamp <= WEEK)
    previous = sum(1 for p in problems if WEEK < reference - p.timestamp <= 2 * WEEK)
    growth = (recent + 1) / (previous + 1)
    base = 2.0 * math.log2(1 + users) + 1.5 * math.log2(1 + conversations)
    base += 0.5 * max(0, channels - 1)
    trend = 1 + 0.25 * min(2.0, max(-1.0, math.log2(growth)))
    score = base * (0.5 + 0.5 * recency) * trend
    return ScoreBreakdown(
        users=users, conversations=conversations, channels=channels, messages=messages,
        recency_days=round(age_days, 2), growth=round(growth, 2), score=round(score, 3),
        reasons=_reasons(users, conversations, channels, age_days, recent, previous),
    )


def _reasons(users: int, conversations: int, channels: int, age_days: float,
             recent: int, previous: int) -> list[str]:
    reasons = [
        f"{users} distinct user{'s' if users != 1 else ''}",
        f"{conversations} conversation{'s' if conversations != 1 else ''}"
        f" in {channels} channel{'s' if channels != 1 else ''}",
        f"last seen {age_days:.1f} days before the newest message",
    ]
    if recent > previous:
        reasons.append(f"growing: {recent} in the last 7 days vs {previous} the week before")
    elif recent < previous:
        reasons.append(f"fading: {recent} in the last 7 days vs {previous} the week before")
    else:
        reasons.append(f"steady: {recent} in each of the last two weeks")
    return reasons
