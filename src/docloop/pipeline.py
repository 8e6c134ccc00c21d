"""The loop for the CLI: the four steps of `docloop.steps` in one process (DESIGN §1).

ingest → extract → embed + cluster → significance → match → suggest → file →
records. Each insight is enriched and filed on its own: a failure in one is
recorded on that insight and in the report (exit 1), and the run goes on.
A dry run works on a throw-away copy of the stores and files nothing.
A real run holds the home's run lock from start to end (`docloop.lock`), so
two runs never both file the same ticket, and starts by removing the
temporary files a killed run left in the outbox and reports. The AWS
workflow runs the same steps, one Lambda each (`docloop.aws.handlers`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime

from docloop import registry
from docloop.backends.replies.base import Replier
from docloop.config import Settings
from docloop.errors import ConfigError
from docloop.files import remove_stale_temps
from docloop.impact import done_impacts
from docloop.lock import DEFAULT_WAIT_S
from docloop.models import RunReport
from docloop.stages.ingest import NO_SOURCES
from docloop.stages.preflight import preflight_run
from docloop.steps import (
    IngestRequest,
    RunOptions,
    StepContext,
    analyse_step,
    ingest_step,
    insight_step,
    report_step,
    usage_of,
)
from docloop.stores import Stores
from docloop.writers import holding_writes

__all__ = ["RunOptions", "holding_home", "new_run_id", "run_pipeline"]
log = logging.getLogger("docloop.pipeline")


def run_pipeline(settings: Settings, options: RunOptions) -> RunReport:
    """Run the whole loop once and return its report."""
    _check_sources(settings)
    tracker = preflight_run(settings, options.dry_run)  # a wrong key or id: exit 2, no write
    replier = _replier(settings, options)  # a missing bot token too
    with _hold(settings, options), registry.open_stores(settings, options.dry_run) as stores:
        ctx = StepContext(settings, stores, options, tracker)
        ingested = ingest_step(ctx, IngestRequest(run_id=new_run_id(), since=options.since))
        analysed = analyse_step(ctx, ingested)
        outcomes = [insight_step(ctx, task) for task in analysed.tasks]
        report = report_step(ctx, analysed, outcomes, [usage_of(ctx.analyzer)])
        _close_the_loop(stores, replier, report)
        _record_run(settings, stores, report)  # the review desk's run pages
        return report


def _replier(settings: Settings, options: RunOptions) -> Replier | None:
    """What posts Discord replies for done tickets (`discord_reply_on_done`, real runs)."""
    if not settings.discord_reply_on_done or options.dry_run:
        return None
    return registry.build_replier(settings)


def _close_the_loop(stores: Stores, replier: Replier | None, report: RunReport) -> None:
    """Impact of done tickets for the report; send the Discord replies they owe.

    Done by the CLI's run only (a Lambda run has no bot token to reply with).
    """
    report.impact = done_impacts(stores, datetime.now(UTC))
    if replier is None:
        return
    from docloop.stages.reply import deliver_replies

    try:
        outcome = deliver_replies(stores, replier)
    finally:
        replier.close()
    log.info("%s", outcome.summary())
    report.warnings.extend(f"Discord reply: {error}" for error in outcome.errors)


def _record_run(settings: Settings, stores: Stores, report: RunReport) -> None:
    """Keep the run's summary for the review desk (its list, runs and trends), where the
    store has a run history (SQLite and DynamoDB both do)."""
    if settings.store in registry.BACKENDS["runs"]:
        stores.runs.record(report)


def _check_sources(settings: Settings) -> None:
    """Bad or missing source specs fail before the database is even created."""
    if not settings.sources:
        raise ConfigError(NO_SOURCES)
    for spec in settings.sources:
        registry.build_source(spec, settings)


@contextmanager
def _hold(settings: Settings, options: RunOptions) -> Iterator[None]:
    """The run lock for a real run (a dry run writes nothing, so it needs none)."""
    with ExitStack() as stack:
        if not options.dry_run:
            stack.enter_context(holding_home(settings, options.lock_wait_s))
        yield


@contextmanager
def holding_home(settings: Settings, lock_wait_s: float = DEFAULT_WAIT_S) -> Iterator[None]:
    """Hold the home's run lock (and the store's run guard, `writers`), first clearing
    what an interrupted run left behind.

    Under the lock no other docloop process is mid-write, so every temporary
    file in the outbox and reports is a killed writer's and can go.
    """
    with holding_writes(settings, lock_wait_s):
        for folder in (settings.outbox_dir, settings.reports_dir):
            for path in remove_stale_temps(folder):
                log.warning("removed %s, left by an interrupted run", path)
        yield


def new_run_id() -> str:
    """A sortable, unique run id: the start time and six random hex digits."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]

