"""Sum model usage recorded in several places (one process per step on AWS)."""

from __future__ import annotations

from collections.abc import Iterable

from docloop.models import LLMStats

_COUNTS = ("calls", "cached", "prompt_tokens", "completion_tokens", "conversations_sent",
           "conversations_unanalysed")


def merge_llm_stats(parts: Iterable[LLMStats]) -> LLMStats:
    """One `LLMStats` holding every part's counts, drops and per-stage usage added up.

    A single part comes back as an equal copy, so the CLI's one analyzer reports
    exactly what it counted.
    """
    total = LLMStats()
    for part in parts:
        _add(total, part)
    return total


def _add(total: LLMStats, part: LLMStats) -> None:
    for name in _COUNTS:
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.cost_usd += part.cost_usd
    for reason, count in part.dropped.items():
        total.dropped[reason] = total.dropped.get(reason, 0) + count
    for stage, stats in part.by_stage.items():
        _add(total.by_stage.setdefault(stage, LLMStats()), stats)
