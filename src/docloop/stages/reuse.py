"""Reuse the last run's analysis when nothing it was computed from has changed.

A run with nothing new would extract, embed and cluster its whole window
again (seconds per 10k messages) only to find the insights the last run
found. Instead the pipeline fingerprints what an analysis depends on — the
window's contents (`MessageRepository.window_digest`: count, row ids, first
and last time, in-place writes), every setting that is not about filing or
transport, the run's tuning knobs, the docs index (its `version`, read
without building it) and the docloop version — and when that matches the
fingerprint saved by the last complete analysis, takes that run's insights
(the snapshots the insight store keeps, with their page match and
suggestion) instead. Tickets are
still filed (idempotently) and their status read afresh from the records.

The window is compared by content, not by the `--since` value: `--since 7`
moves with the clock, and two windows with the same messages analyse alike.
A new or edited message, new reactions, a re-scrub, another setting, a
re-indexed docs set or `--retry-failed` each mean a fresh analysis.

The steps (`docloop.steps`) use it: analyse_step checks and emits the kept
insights as reused tasks, insight_step files them without matching again,
report_step keeps a complete analysis; the CLI and the AWS Lambdas run the
same steps. Every store with an `analysis_memo` family takes part (SQLite;
DynamoDB with the memo body in S3, its window digest from the day objects'
listed ETags), with either docs index: SQLite's version is a digest of its
tables in docloop's database; Pinecone's the same digest of the namespace's
keyword store, which index-docs rewrites after every change to the vectors
(on AWS, reading it costs one S3 HEAD, and a GET only when it changed since
the container's cached copy; Pinecone itself is not asked).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from docloop import __version__, registry
from docloop.backends.docs_index.base import DocsIndex
from docloop.config import Settings
from docloop.models import Insight, RunReport
from docloop.storage.analysis_memo import Memo
from docloop.stores import Stores

log = logging.getLogger("docloop.reuse")
#: bump when what an analysis stores or means changes without a docloop version change
REUSE_VERSION = 2  # 2: an "@asker" answer joins the asker's conversation
#: settings that change neither what is analysed nor how (filing, transport, limits, secrets)
NOT_ANALYSIS = frozenset({
    "home", "tracker", "store", "sources", "since_days", "max_insights", "discord_api_base",
    "linear_api_url", "linear_team_id", "linear_project_id", "linear_labels",
    "linear_reopen_policy", "llm_timeout_s", "llm_concurrency", "discord_bot_token",
    "linear_api_key", "linear_webhook_secret", "openai_api_key", "pinecone_api_key",
})


@dataclass
class Reuse:
    """This run's fingerprint, and the last run's insights when they can stand in."""

    fingerprint: str
    memo: Memo | None = None
    insights: list[Insight] | None = None
    reason: str = ""


def supported(settings: Settings) -> bool:
    """Whether this store keeps a memo (every docs index tells its version)."""
    return settings.store in registry.BACKENDS["analysis_memo"]


def fingerprint(settings: Settings, stores: Stores, since: datetime | None,
                knobs: Sequence[object]) -> str:
    """A digest of everything an analysis of the window since `since` depends on."""
    parts = {
        "reuse": REUSE_VERSION, "docloop": __version__,
        "window": stores.messages.window_digest(since),
        "settings": settings.model_dump(mode="json", exclude=set(NOT_ANALYSIS)),
        "knobs": [repr(k) for k in knobs], "docs": docs_version(settings, stores),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def docs_version(settings: Settings, stores: Stores) -> str:
    """The configured docs index's version, without building the index."""
    index: type[DocsIndex] = registry.backend_class("docs_index", settings.docs_index)
    return index.version(settings, stores)


def check(settings: Settings, stores: Stores, since: datetime | None,
          knobs: Sequence[object], retry_failed: bool = False) -> Reuse:
    """Whether the last analysis can be reused for this run, and why (or why not)."""
    current = Reuse(fingerprint(settings, stores, since, knobs))
    memo = stores.analysis_memo.load()
    if retry_failed:
        current.reason = "--retry-failed asks for a fresh analysis"
    elif memo is None:
        current.reason = "no earlier complete analysis is kept"
    elif memo.fingerprint != current.fingerprint:
        current.reason = ("the window's messages, a setting, the docs index or docloop "
                          "changed since the last analysis")
    else:
        kept = (stores.insights.snapshot(i) for i in memo.insight_ids)
        insights = [i for i in kept if i is not None]
        if len(insights) != len(memo.insight_ids):
            current.reason = "the last analysis's insights are no longer all stored"
        else:
            current.memo, current.insights = memo, [_unfiled(i) for i in insights]
            current.reason = (f"nothing changed since run {memo.run_id}: same window "
                              "messages, settings and docs index; its analysis is reused")
    log.info("analysis %s: %s", "reused" if current.insights is not None else "computed",
             current.reason)
    return current


def remember(stores: Stores, fingerprint: str, report: RunReport, complete: bool,
             notes: list[str] | None = None) -> None:
    """Save this run's analysis for the next run, or forget the old one when it is
    incomplete (an insight whose match or suggestion failed, or model work left
    undone, must be tried again). `notes`: what the analysis told the user, which a run
    that reuses it tells again."""
    if not complete:
        stores.analysis_memo.forget()
        return
    stores.analysis_memo.save(Memo(fingerprint, [i.id for i in report.insights],
                                   report.stats.conversations, report.stats.problems,
                                   report.run_id, datetime.now(UTC), list(notes or [])))


def _unfiled(insight: Insight) -> Insight:
    """A kept insight as analysis left it: filing sets the ticket again this run."""
    return insight.model_copy(update={"ticket": None, "error": None})
