"""`docloop eval --source`: measure the loop on a community's own messages.

The acceptance chat (`chat.py`) flattens labelled texts into top-level
messages, so it cannot measure what real history adds: threads, replies (the
answer other users gave), edits, the real timing. With `--source` the labels
name messages of the team's own export or channels by their ids, and the loop
runs over every message of the source in the window, labelled or not, as
`docloop run` would. The metrics count labelled messages only: an unlabelled
message is not in the gold, and an insight that holds no labelled message is
left out of the figures (its count is reported as `unlabelled_insights`).

Every label must name a message docloop reads; otherwise the figures would
silently measure fewer messages than labelled, so that is an InputError before
the loop runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from docloop.config import Settings
from docloop.errors import InputError
from docloop.evaluation.labels import LabelledMessage
from docloop.evaluation.metrics import Predicted, predicted
from docloop.jsonl import named
from docloop.models import Insight, Message
from docloop.pipeline import RunOptions, run_pipeline
from docloop.registry import open_stores
from docloop.stages.ingest import ingest, parse_since

SHOWN_IDS = 5  # unknown label ids named in the error


@dataclass(frozen=True)
class SourceWindow:
    """The sources read into eval's home, every label checked against them."""

    settings: Settings  # eval's settings with the sources
    start: datetime | None  # the window's start (None: all history)
    found: dict[str, Message]  # label id -> the stored (redacted) message
    analysed: int  # messages in the window, labelled or not


@dataclass(frozen=True)
class SourceRun:
    """What the loop made of the sources, in label terms."""

    insights: list[Predicted]  # the insights that hold a labelled message
    messages: list[LabelledMessage]  # the labels with the source's text and author
    analysed: int  # messages in the window, labelled or not
    unlabelled_insights: int  # insights of unlabelled messages only (not scored)


def read_sources(settings: Settings, labels: Path, messages: Sequence[LabelledMessage],
                 sources: Sequence[str], since: str | None) -> SourceWindow:
    """Store the sources' messages in eval's home and check every label names one of the
    window's (before the docs are indexed: a wrong id is found in seconds)."""
    run_settings = settings.model_copy(update={"sources": list(sources)})
    start = parse_since(since or "all", datetime.now(UTC))
    with open_stores(run_settings) as stores:
        window = ingest(run_settings, stores, start)
        found = {m.id: m for m in window.store.get([m.id for m in messages])
                 if start is None or m.timestamp >= start}
        analysed = window.window_size
    _check_found(labels, messages, found, since)
    return SourceWindow(run_settings, start, found, analysed)


def run_sources(window: SourceWindow, messages: Sequence[LabelledMessage]) -> SourceRun:
    """Run the loop over the window as `docloop run` would; map its insights to labels."""
    # read_sources stored the window's messages already: the run reads them back
    report = run_pipeline(window.settings, RunOptions(since=window.start,
                                                      read_sources=False))
    ids = {m.id: m.id for m in messages}
    scored = [predicted(insight, ids) for insight in report.insights if _labelled(insight, ids)]
    return SourceRun(scored, [_from_source(m, window.found[m.id]) for m in messages],
                     window.analysed, len(report.insights) - len(scored))


def _check_found(labels: Path, messages: Sequence[LabelledMessage],
                 found: dict[str, Message], since: str | None) -> None:
    unknown = [m.id for m in messages if m.id not in found]
    if not unknown:
        return
    shown = ", ".join(map(repr, unknown[:SHOWN_IDS])) + (" …" if len(unknown) > SHOWN_IDS
                                                          else "")
    window = f" of the last {since} days" if since and since.lower() != "all" else ""
    none = (" None of them is: are these labels of another export or channel? (A tool that "
            "read the ids as numbers may also have rounded them; keep ids as strings.)"
            if len(unknown) == len(messages) else "")
    raise InputError(
        f"{named(labels)}: {len(unknown)} of {len(messages)} labelled messages are not among the "
        f"messages docloop reads from the sources{window}: {shown}.{none} Label each message "
        "by its id in the source (a DiscordChatExporter message's `id`); bots' and system "
        "messages are not read" + (", and --since leaves older ones out" if window else ""))


def _labelled(insight: Insight, ids: dict[str, str]) -> bool:
    return any(m in ids for m in insight.message_ids)


def _from_source(label: LabelledMessage, message: Message) -> LabelledMessage:
    """The label with what the source says: its (redacted) text is what docloop searched."""
    return replace(label, text=message.content or label.text,
                   author=message.author_id or label.author)
