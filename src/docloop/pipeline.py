"""The loop, as an ordered list of stage calls (DESIGN §1).

ingest → extract → embed + cluster → significance → match → suggest → file →
records. Each insight is enriched and filed on its own: a failure in one is
recorded on that insight and in the report (exit 1), and the run goes on.
A dry run works on an in-memory copy of the database and files nothing.
A real run holds the home's run lock from start to end (`docloop.lock`), so
two runs never both file the same ticket, and starts by removing the
temporary files a killed run left in the outbox and reports.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from docloop import db, registry
from docloop.backends.analyzers.base import Analyzer
from docloop.backends.docs_index.rerank import HYBRID_ORDER, RankSettings
from docloop.backends.trackers.base import Tracker
from docloop.config import Settings
from docloop.errors import BackendError, ConfigError, StageError
from docloop.files import remove_stale_temps
from docloop.lock import DEFAULT_WAIT_S, hold_home
from docloop.models import Insight, RunReport
from docloop.quality import SHIPPED, QualitySettings
from docloop.stages import reuse
from docloop.stages.analyse import AnalysisResult, analyse
from docloop.stages.enrich import enrich_insight, open_docs, run_reference
from docloop.stages.ingest import (
    IMPLAUSIBLE_TIME,
    NO_SOURCES,
    IngestResult,
    ingest,
    parse_since,
)
from docloop.stages.preflight import preflight_run
from docloop.stages.verdict import VerdictSettings
from docloop.storage.analysis_memo import Memo

log = logging.getLogger("docloop.pipeline")


@dataclass
class RunOptions:
    """Per-run choices that are not settings."""

    since: datetime | None = None
    dry_run: bool = False
    retry_failed: bool = False
    lock_wait_s: float = DEFAULT_WAIT_S
    quality: QualitySettings = SHIPPED
    rank: RankSettings = HYBRID_ORDER  # members' votes use the hybrid order (see rerank.py)
    verdict: VerdictSettings = field(default_factory=VerdictSettings)  # `missing` thresholds

    @classmethod
    def build(cls, since: str | None, dry_run: bool = False, retry_failed: bool = False,
              lock_wait_s: float = DEFAULT_WAIT_S) -> RunOptions:
        return cls(since=parse_since(since, datetime.now(UTC)), dry_run=dry_run,
                   retry_failed=retry_failed, lock_wait_s=lock_wait_s)


def run_pipeline(settings: Settings, options: RunOptions) -> RunReport:
    """Run the whole loop once and return its report."""
    _check_sources(settings)
    tracker = preflight_run(settings, options.dry_run)  # a wrong key or id: exit 2, no write
    with _hold(settings, options), _database(settings, options.dry_run) as conn:
        report = RunReport(run_id=_run_id(), started_at=datetime.now(UTC))  # once it holds
        if not options.dry_run and settings.tracker == "local":
            _repair_outbox(settings, conn)
        log.info("ingest - reading %d source(s)", len(settings.sources))
        ingested = ingest(settings, conn, options.since)
        report.stats.messages = ingested.stored
        report.stats.window_messages = ingested.window_size
        report.warnings.extend(f"{count} message(s) skipped: {reason}"
                               for reason, count in sorted(ingested.skipped.items())
                               if reason == IMPLAUSIBLE_TIME)
        analyzer = _analyzer(settings, conn, options)
        prior = reuse.check(settings, conn, options.since, _knobs(options), options.retry_failed)
        if prior.insights is not None and prior.memo is not None:
            _file_reused(settings, conn, prior.memo, prior.insights, prior.reason, report,
                         tracker)
        else:
            _analyse_and_file(settings, conn, analyzer, ingested, report, options, tracker,
                              prior)
        report.stats.llm = analyzer.stats
        report.warnings.extend(analyzer.warnings)
    report.finished_at = datetime.now(UTC)
    return report


def _analyse_and_file(settings: Settings, conn: sqlite3.Connection, analyzer: Analyzer,
                      ingested: IngestResult, report: RunReport, options: RunOptions,
                      tracker: Tracker | None, prior: reuse.Reuse) -> None:
    """Analyse the window afresh, match, suggest and file; keep it for the next run."""
    report.stats.conversations = len(ingested.conversations)
    analysis = analyse(settings, conn, analyzer, ingested.conversations, ingested.window,
                       options.quality, release_window=True)
    report.stats.problems = len(analysis.problems)
    report.stats.embedded = analysis.embedded
    report.stats.embedding_cache_hits = analysis.embedding_cache_hits
    report.insights = analysis.insights
    report.stats.insights = len(analysis.insights)
    _enrich_all(settings, conn, analyzer, analysis, report, options)
    # kept for reuse only when nothing is left to try again: no insight failed its match or
    # suggestion (filing adds its own errors next), no model batch failed or ran out of budget
    complete = not any(i.error for i in analysis.insights) and not analyzer.warnings
    _file_all(settings, conn, analysis.insights, report, tracker)
    analysis.save(registry.build_insights(settings, conn))
    reuse.remember(settings, conn, prior, report.run_id, analysis.insights,
                   report.stats.conversations, report.stats.problems, complete)


def _file_reused(settings: Settings, conn: sqlite3.Connection, memo: Memo,
                 insights: list[Insight], reason: str, report: RunReport,
                 tracker: Tracker | None) -> None:
    """Report and file the last analysis's insights (tickets re-checked, status fresh)."""
    report.stats.conversations = memo.conversations
    report.stats.problems = memo.problems
    report.stats.analysis_reused = reason
    report.insights = insights
    report.stats.insights = len(insights)
    _file_all(settings, conn, insights, report, tracker)
    registry.build_insights(settings, conn).save_snapshots(insights)


def _knobs(options: RunOptions) -> tuple[object, ...]:
    """The run's tuning choices that shape an analysis (part of its fingerprint)."""
    return (options.quality, options.rank, options.verdict)


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
    """Hold the home's run lock, first clearing what an interrupted run left behind.

    Under the lock no other docloop process is mid-write, so every temporary
    file in the outbox and reports is a killed writer's and can go.
    """
    with hold_home(settings.home, lock_wait_s):
        for folder in (settings.outbox_dir, settings.reports_dir):
            for path in remove_stale_temps(folder):
                log.warning("removed %s, left by an interrupted run", path)
        yield


def _repair_outbox(settings: Settings, conn: sqlite3.Connection) -> None:
    """Settle what an interrupted run or `set-status` left between outbox and records."""
    from docloop.backends.trackers.local import repair_outbox

    for line in repair_outbox(settings.outbox_dir, registry.build_records(settings, conn).all()):
        log.warning("outbox: %s", line)


def _analyzer(settings: Settings, conn: sqlite3.Connection, options: RunOptions) -> Analyzer:
    fallback = registry.build_analyzer(settings, "offline", quality=options.quality)
    if settings.analyzer == "offline":
        return fallback
    return registry.build_analyzer(settings, conn=conn, fallback=fallback,
                                   retry_failed=options.retry_failed)


def _enrich_all(settings: Settings, conn: sqlite3.Connection, analyzer: Analyzer,
                analysis: AnalysisResult, report: RunReport, options: RunOptions) -> None:
    log.info("match - %d insight(s)", len(analysis.insights))
    docs = open_docs(settings, conn, options.rank)
    reference = run_reference(analysis, docs, options.verdict)
    for insight in analysis.insights:
        try:
            enrich_insight(insight, analysis, analyzer, docs, reference, options.verdict)
        except Exception as exc:  # one insight's failure must not end the run
            _record_failure(insight, "match/suggest", exc, report)


def _file_all(settings: Settings, conn: sqlite3.Connection, insights: list[Insight],
              report: RunReport, tracker: Tracker | None) -> None:
    """File the chosen insights with the tracker preflight proved (None: file nothing)."""
    cap = settings.max_insights or len(insights)
    chosen = [i for i in insights if i.error is None][:cap]
    if tracker is None or not chosen:
        return
    from docloop.stages.file import file_insight

    records = registry.build_records(settings, conn)
    log.info("file - %d ticket(s) to %s", len(chosen), settings.tracker)
    now = datetime.now(UTC)
    for insight in chosen:
        try:
            insight.ticket = file_insight(insight, tracker, records, now)
        except Exception as exc:  # recorded on the insight and in the report (exit 1)
            _record_failure(insight, "file", exc, report)


def _record_failure(insight: Insight, stage: str, exc: Exception, report: RunReport) -> None:
    message = f"{stage} failed for insight {insight.id} ({insight.title}): {exc}"
    if isinstance(exc, StageError | BackendError):
        log.error(message)
    else:
        log.exception(message)
    insight.error = message
    report.errors.append(message)


@contextmanager
def _database(settings: Settings, dry_run: bool) -> Iterator[sqlite3.Connection]:
    """The real database, or for a dry run an in-memory copy of it."""
    if not dry_run:
        conn = db.connect(settings.db_path)
    else:
        conn = db.memory()
        if settings.db_path.is_file():
            source = db.open_read_only(settings.db_path)
            source.backup(conn)
            source.close()
    try:
        yield conn
    finally:
        conn.close()


def _run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]

