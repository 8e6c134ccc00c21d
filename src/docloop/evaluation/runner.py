"""Run the acceptance evaluation: index-docs → run → docs search, in a scratch home.

The user's settings are kept for everything that is not state (embedder,
model folder, docs base URL); the home is a temporary folder, removed
afterwards, so the user's database, outbox and reports are never touched.
The run is the one `docloop run --since 7 --min-conversations 2
--max-insights 0 --tracker none` makes over the chat `chat.write_chat` builds.
With `--keep-home DIR` the home is DIR (new or empty) and stays, its tickets
filed to its local outbox, so the insights behind the figures can be read
(`DOCLOOP_HOME=DIR docloop tickets`, DIR/outbox); the figures are the same.
With `--source` the run reads the team's own sources instead of that chat
(evaluation.sources).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from docloop.config import Settings
from docloop.docs.loader import check_docs_folder
from docloop.errors import InputError
from docloop.evaluation.chat import write_chat
from docloop.evaluation.embedding_cache import (
    cache_named_in_errors,
    check_cache_file,
    keep_embeddings,
    seed_embeddings,
)
from docloop.evaluation.labels import (
    LabelledMessage,
    gold_of,
    lone_groups_warning,
    read_labels,
    template_warning,
)
from docloop.evaluation.metrics import Predicted, hit_rates, predicted, score_insights
from docloop.evaluation.pages import page_warning, unindexed_pages, written_pages
from docloop.evaluation.sources import read_sources, run_sources
from docloop.pipeline import RunOptions, run_pipeline
from docloop.registry import open_stores
from docloop.stages.index_docs import index_docs, open_index
from docloop.stages.ingest import parse_since
from docloop.stages.search import run_search

log = logging.getLogger("docloop.eval")

SINCE_DAYS = 7
SEARCH_TOP = 10


@dataclass(frozen=True)
class EvalRequest:
    """What `docloop eval` was asked to measure."""

    labels: Path
    docs: Path
    doc_prefix: tuple[str, ...] = ()  # removed from the labels' pages (the longest matching)
    #: run in this new folder and keep it (its tickets in the local outbox) instead of a
    #: scratch home removed afterwards
    keep_home: Path | None = None
    #: measure on these sources' messages (labels name them by id) instead of the acceptance
    #: chat built from the labels' texts (evaluation.sources)
    sources: tuple[str, ...] = ()
    since: str | None = None  # with sources: days to look back, or 'all' (the default)
    #: further folders of the same site, each indexed under its prefix (index-docs --mount)
    mounts: tuple[tuple[str, Path], ...] = ()
    #: embeddings carried between evals: read before the run, added to after it
    #: (evaluation.embedding_cache)
    cache: Path | None = None


def evaluate_labels(settings: Settings, request: EvalRequest) -> dict[str, Any]:
    """Read the labels, run the loop in a scratch home (or the kept one) and score it."""
    if request.sources:
        parse_since(request.since or "all", datetime.now(UTC))  # a bad --since before any work
    messages = read_labels(request.labels, request.doc_prefix, bool(request.sources))
    check_docs_folder(request.docs)
    if request.cache is not None:
        check_cache_file(request.cache)
    if request.keep_home is not None:
        check_new_home(request.keep_home)
        request.keep_home.mkdir(parents=True, exist_ok=True)
        try:
            with cache_named_in_errors(request.cache):
                return _evaluate_in(scratch_settings(settings, request.keep_home, "local"),
                                    request, messages)
        except BaseException:
            # the folder was new or empty: leave it so (a bad input, a crash, Ctrl-C), and
            # the corrected command can reuse it; a half-built home is no measurement
            empty_folder(request.keep_home)
            raise
    with tempfile.TemporaryDirectory(prefix="docloop-eval-") as scratch, \
            cache_named_in_errors(request.cache):
        return _evaluate_in(scratch_settings(settings, Path(scratch)), request, messages)


def _evaluate_in(settings: Settings, request: EvalRequest,
                 messages: list[LabelledMessage]) -> dict[str, Any]:
    window = (read_sources(settings, request.labels, messages, request.sources, request.since)
              if request.sources else None)
    if request.cache is not None:
        seed_embeddings(settings.db_path, request.cache)
    index_docs(settings, request.docs, [], mounts=request.mounts)
    warnings = label_page_warnings(settings, request, messages)
    found = [lone_groups_warning(messages),
             None if request.sources else template_warning(request.labels, messages)]
    warnings += [warning for warning in found if warning]
    for warning in warnings:
        log.warning("%s", warning)
    if window is not None:
        run = run_sources(window, messages)
        insights, messages = run.insights, run.messages
        measured = {"sources": list(request.sources), "messages_analysed": run.analysed,
                    "unlabelled_insights": run.unlabelled_insights}
    else:
        insights = run_chat(settings, messages, settings.home / "chat")
        measured = {"sources": [], "messages_analysed": len(messages), "unlabelled_insights": 0}
    search = search_metrics(settings, messages, settings.home / "queries.jsonl")
    result = score_insights(gold_of(messages), insights)
    result["search"] = search
    result["warnings"] = warnings
    result.update(measured)
    if request.cache is not None:
        keep_embeddings(settings.db_path, request.cache)
    return result


def label_page_warnings(settings: Settings, request: EvalRequest,
                        messages: Sequence[LabelledMessage]) -> list[str]:
    """A warning when labelled pages are not pages of the index just built (evaluation.pages)."""
    with open_stores(settings) as stores:
        indexed = set(open_index(settings, stores).known_hashes())
    missing = unindexed_pages(messages, indexed)
    if not missing:
        return []
    labelled = len({m.page for m in messages if m.page is not None})
    return [page_warning(missing, labelled, indexed, request.docs, request.doc_prefix,
                         written_pages(messages, missing))]


def check_new_home(folder: Path) -> None:
    """`--keep-home` takes a new or empty folder: eval's home is never mixed with another."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--keep-home {folder}: is a file, not a folder; eval builds a new "
                         "home there, so give it a new or empty folder")
    if folder.exists() and any(folder.iterdir()):
        raise InputError(f"--keep-home {folder}: not an empty folder; eval builds a new home "
                         "there, so give it a new or empty folder")


def empty_folder(folder: Path) -> None:
    """Remove what eval wrote into `folder` (`check_new_home` made sure it was empty)."""
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


#: what eval keeps local whatever the user's settings say: a team's docloop.toml may store
#: in DynamoDB and index into Pinecone, and eval must not write its runs and its docs there
LOCAL_ONLY = {"store": "sqlite", "docs_index": "sqlite", "review": False,
              "discord_reply_on_done": False}


def scratch_settings(settings: Settings, home: Path, tracker: str = "none") -> Settings:
    """The user's settings (analyzer, embedder, model, docs base URL) with eval's home, local
    stores and docs index, and no cap; tickets only in a kept home (its local outbox), so a
    scratch run writes nothing anywhere but its home."""
    return settings.model_copy(update={"home": home, "tracker": tracker, "max_insights": 0,
                                       "min_conversations": 2, "sources": [], **LOCAL_ONLY})


def run_chat(settings: Settings, messages: Sequence[LabelledMessage],
             folder: Path) -> list[Predicted]:
    """Write the chat, run the loop over it, and map insights back to label ids."""
    now = datetime.now(UTC)
    ids = write_chat(messages, folder, now)
    run_settings = settings.model_copy(update={"sources": [f"discord-export:{folder}"]})
    report = run_pipeline(run_settings, RunOptions(since=now - timedelta(days=SINCE_DAYS)))
    return [predicted(insight, ids) for insight in report.insights]


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
