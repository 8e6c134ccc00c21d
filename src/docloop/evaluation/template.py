"""`docloop sources labels`: a labelling template of the messages docloop reads.

Measuring docloop on a community's own history (`docloop eval --source`) needs
labels that name messages by their ids in the source. Writing those ids out of
a DiscordChatExporter JSON by hand is where a team would give up, so this lists
every message docloop would analyse, oldest first, one JSON line each: its id,
channel, thread and the message it replies to (to read it in context), its
author id and text, and `group` and `doc_path` left null for the labeller.
Lines left null are skipped by eval, so a partly labelled file is measured as
it is.

The text is what docloop stores: secrets and personal data redacted, bots'
and system messages left out. The messages are read into a scratch home, so
the user's home is never touched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docloop.config import Settings
from docloop.evaluation.runner import scratch_settings
from docloop.models import Message
from docloop.registry import open_stores
from docloop.stages.ingest import ingest, parse_since


def label_template(settings: Settings, sources: Sequence[str],
                   since: str | None) -> list[dict[str, Any]]:
    """One unlabelled line per message the sources hold in the window, oldest first."""
    start = parse_since(since or "all", datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="docloop-labels-") as scratch:
        local = scratch_settings(settings, Path(scratch)).model_copy(
            update={"sources": list(sources) or settings.sources})
        with open_stores(local) as stores:
            window = ingest(local, stores, start)
            return [template_line(m) for m in window.store.iter_window(start)]


def template_line(message: Message) -> dict[str, Any]:
    """A message as a labels line: context first, the two fields to fill last."""
    line: dict[str, Any] = {"id": message.id, "channel": message.channel_name}
    if message.thread_name:
        line["thread"] = message.thread_name
    if message.reply_to:
        line["reply_to"] = message.reply_to
    line.update(author=message.author_id, text=message.content, group=None, doc_path=None)
    return line
