"""Ticket bodies in Markdown (placeholder until the Linear branch lands)."""

from __future__ import annotations

from docloop.backends.trackers.base import EvidenceDelta
from docloop.models import Insight


def render_ticket(insight: Insight) -> str:
    """The ticket body."""
    lines = [f"# {insight.title}", "", insight.summary, ""]
    lines += [f"> {q.text}" for q in insight.quotes]
    if insight.suggestion:
        lines += ["", insight.suggestion.text]
    return "\n".join(lines) + "\n"


def render_update(insight: Insight, delta: EvidenceDelta) -> str:
    """A comment with new evidence."""
    return "\n".join(f"> {q.text}" for q in delta.new_quotes) + "\n"
