"""Run the acceptance evaluation: index-docs → run → docs search, in a scratch home.

The user's settings are kept for everything that is not state (embedder,
model folder, docs base URL); the home is a temporary folder, removed
afterwards, so the user's database, outbox and reports are never touched.
The run is the one `docloop run --since 7 --min-conversations 2
--max-insights 0 --tracker none` makes over the chat `chat.write_chat` builds.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from docloop.config import Settings
from docloop.evaluation.chat import write_chat
from docloop.evaluation.labels import LabelledMessage, gold_of, read_labels
from docloop.evaluation.metrics import Predicted, hit_rates, score_insights
from docloop.models import Insight
from docloop.pipeline import RunOptions, run_pipeline
from docloop.stages.index_docs import index_docs
from docloop.stages.search import run_search

SINCE_DAYS = 7
SEARCH_TOP = 10


@dataclass(frozen=True)
class EvalRequest:
    """What `docloop eval` was asked to measure."""

    labels: Path
    docs: Path
    doc_prefix: str = ""


def evaluate_labels(settings: Settings, request: EvalRequest) -> dict[str, Any]:
    """Read the labels, run the loop in a scratch home and score it."""
    messages = read_labels(request.labels, request.doc_prefix)
    with tempfile.TemporaryDirectory(prefix="docloop-eval-") as scratch:
        home = Path(scratch)
        run_settings = scratch_settings(settings, home)
        index_docs(run_settings, request.docs, [])
        insights = run_chat(run_settings, messages, home / "chat")
        search = search_metrics(run_settings, messages, home / "queries.jsonl")
    result = score_insights(gold_of(messages), insights)
    result["search"] = search
    return result


def scratch_settings(settings: Settings, home: Path) -> Settings:
    """The user's settings with a scratch home, no tracker and no cap."""
    return settings.model_copy(update={"home": home, "tracker": "none", "max_insights": 0,
                                       "min_conversations": 2, "sources": []})


def run_chat(settings: Settings, messages: Sequence[LabelledMessage],
             folder: Path) -> list[Predicted]:
    """Write the chat, run the loop over it, and map insights back to label ids."""
    now = datetime.now(UTC)
    ids = write_chat(messages, folder, now)
    run_settings = settings.model_copy(update={"sources": [f"discord-export:{folder}"]})
    report = run_pipeline(run_settings, RunOptions(since=now - timedelta(days=SINCE_DAYS)))
    return [predicted(insight, ids) for insight in report.insights]


def predicted(insight: Insight, ids: dict[str, str]) -> Predicted:
    """An insight in label ids, with its page and verdict (no match = `missing`)."""
    doc = insight.doc
    return Predicted([ids[m] for m in insight.message_ids if m in ids],
                     doc.path if doc else None, doc.verdict if doc else "missing")


def search_metrics(settings: Settings, messages: Sequence[LabelledMessage],
                   queries_file: Path) -> dict[str, float]:
    """hit@1/3 of one query per message and one per group (texts joined by newlines)."""
    with_page = [m for m in messages if m.group is not None and m.page is not None]
    groups: dict[str, list[LabelledMessage]] = {}
    for message in with_page:
        groups.setdefault(message.group or "", []).append(message)
    queries = [(m.text, m.page or "") for m in with_page]
    queries += [("\n".join(m.text for m in members), members[0].page or "")
                for members in groups.values()]
    queries_file.write_text("".join(json.dumps({"id": str(i), "text": text}) + "\n"
                                    for i, (text, _) in enumerate(queries)), encoding="utf-8")
    results = run_search(settings, None, queries_file, SEARCH_TOP) if queries else []
    ranked = [[hit.path for hit in result.hits] for result in results]
    expected = [page for _, page in queries]
    split = len(with_page)
    per_message = hit_rates(expected[:split], ranked[:split])
    per_group = hit_rates(expected[split:], ranked[split:])
    return {"group_hit1": per_group[1], "group_hit3": per_group[3],
            "message_hit1": per_message[1], "message_hit3": per_message[3]}
