"""The loop as four steps with JSON payloads, shared by the CLI and the AWS Lambdas.

ingest_step → analyse_step → insight_step (once per insight) → report_step.
Each step takes the previous step's output, a pydantic model that can be
written to S3 and read back by another process (DESIGN §2), and a
`StepContext`: the settings, the open store and the backends the step uses,
built lazily. The CLI (`pipeline.run_pipeline`) runs the four in one process
with one context; the AWS adapter (`docloop.aws.handlers`) runs each in its
own Lambda, with a context per invocation, and passes S3 keys between them.

Which insights are filed is decided once, in analyse_step, by rank: the
`max_insights` highest-scoring (DESIGN §5), so an insight's task carries
whether to file it and needs nothing from the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from docloop import registry
from docloop.backends.analyzers.base import Analyzer
from docloop.backends.docs_index.rerank import HYBRID_ORDER, RankSettings
from docloop.backends.trackers.base import Tracker
from docloop.config import Settings
from docloop.errors import BackendError, StageError, TransientError
from docloop.llm_stats import merge_llm_stats
from docloop.lock import DEFAULT_WAIT_S
from docloop.models import DocMatch, Insight, LLMStats, Problem, RunReport, RunStats
from docloop.quality import SHIPPED, QualitySettings
from docloop.stages import reuse
from docloop.stages.analyse import AnalysisResult, analyse, fold_insights
from docloop.stages.enrich import enrich_insight, match_members, open_docs, run_reference
from docloop.stages.ingest import IMPLAUSIBLE_TIME, IngestResult, ingest, parse_since
from docloop.stages.match import MAX_VOTERS
from docloop.stages.propose import propose_for_review, run_review_stats
from docloop.stages.settle import Placed, fold_targets, may_fold
from docloop.stages.verdict import (
    FIT_FLOORS,
    ChatWords,
    VerdictSettings,
    fit_warning,
    held_reference,
)
from docloop.stages.window import MessageWindow
from docloop.stores import Stores

if TYPE_CHECKING:
    from docloop.backends.docs_index.hybrid import HybridDocsIndex

log = logging.getLogger("docloop.steps")


@dataclass
class RunOptions:
    """Per-run choices that are not settings."""

    since: datetime | None = None
    dry_run: bool = False
    retry_failed: bool = False
    lock_wait_s: float = DEFAULT_WAIT_S
    quality: QualitySettings = SHIPPED
    rank: RankSettings = HYBRID_ORDER  # members' votes use the hybrid order (see rerank.py)
    #: the joined members' query is re-ranked as `docs search` ranks (the shipped weights)
    group_rank: RankSettings = field(default_factory=RankSettings)
    verdict: VerdictSettings = field(default_factory=VerdictSettings)  # `missing` thresholds
    #: False when the caller has just stored the sources' messages itself (`docloop eval
    #: --source` reads them to check its labels first): the window is read from the
    #: store instead of parsing an export a second time
    read_sources: bool = True

    @classmethod
    def build(cls, since: str | None, dry_run: bool = False, retry_failed: bool = False,
              lock_wait_s: float = DEFAULT_WAIT_S) -> RunOptions:
        return cls(since=parse_since(since, datetime.now(UTC)), dry_run=dry_run,
                   retry_failed=retry_failed, lock_wait_s=lock_wait_s)


@dataclass
class StepContext:
    """What a step works with: settings, the open store, and backends built on first use.

    `tracker` is the tracker preflight proved (None: the run files nothing);
    `ingested` what ingest stored, kept for analyse in the same process (its window
    is grouped only when analysed).
    """

    settings: Settings
    stores: Stores
    options: RunOptions = field(default_factory=RunOptions)
    tracker: Tracker | None = None
    ingested: IngestResult | None = None

    @cached_property
    def analyzer(self) -> Analyzer:
        fallback = registry.build_analyzer(self.settings, "offline",
                                           quality=self.options.quality)
        if self.settings.analyzer == "offline":
            return fallback
        return registry.build_analyzer(self.settings, llm_cache=self.stores.llm_cache,
                                       fallback=fallback, retry_failed=self.options.retry_failed)

    @cached_property
    def docs(self) -> HybridDocsIndex | None:
        return open_docs(self.settings, self.stores, self.options.rank)


class AnalyzerUsage(BaseModel):
    """What one context's analyzer spent and noted (summed over contexts in the report)."""

    llm: LLMStats = Field(default_factory=LLMStats)
    warnings: list[str] = Field(default_factory=list)


def usage_of(analyzer: Analyzer) -> AnalyzerUsage:
    return AnalyzerUsage(llm=analyzer.stats.model_copy(deep=True),
                         warnings=list(analyzer.warnings))


class IngestRequest(BaseModel):
    """Start of a run: its id and the window's start (None: all history)."""

    run_id: str
    since: datetime | None = None


class IngestOutput(BaseModel):
    run_id: str
    started_at: datetime
    since: datetime | None
    stats: RunStats
    warnings: list[str] = Field(default_factory=list)


class InsightTask(BaseModel):
    """Everything one insight's match, suggest and file need from the run's analysis."""

    run_id: str
    rank: int
    insight: Insight
    problems: list[Problem]  # the members, in `insight.problem_ids` order
    vectors: list[list[float]]  # embeddings of the first MAX_VOTERS members
    centroid: list[float]
    reference: float | None = None  # the run's `missing` reference (held_reference)
    #: how many of the run's problems write each word the members write (verdict.ChatWords)
    chat: ChatWords | None = None
    file: bool = False  # among the `max_insights` highest-scoring
    reused: bool = False  # the last analysis's insight, matched and suggested then
    #: its match, made before the fold (steps._settle); None: match it here
    matched: DocMatch | None = None


class AnalyseOutput(BaseModel):
    run_id: str
    started_at: datetime
    stats: RunStats
    warnings: list[str] = Field(default_factory=list)
    tasks: list[InsightTask] = Field(default_factory=list)
    usage: AnalyzerUsage = Field(default_factory=AnalyzerUsage)
    #: what this analysis depended on, to keep it for reuse (None: reused or not kept)
    fingerprint: str | None = None
    #: the analysis's own warnings (also in `warnings`), kept with it for reuse
    notes: list[str] = Field(default_factory=list)


class InsightOutcome(BaseModel):
    """One insight after match, suggest and file: its ticket, or the error that stopped it."""

    run_id: str
    rank: int
    insight: Insight
    errors: list[str] = Field(default_factory=list)
    retryable: bool = False  # the failure was transient (a host may run the task again)
    analysis_failed: bool = False  # match or suggest failed: the analysis is not kept
    usage: AnalyzerUsage = Field(default_factory=AnalyzerUsage)


def ingest_step(ctx: StepContext, request: IngestRequest) -> IngestOutput:
    """Read every source into the store; count the window later steps analyse."""
    started = datetime.now(UTC)
    if not ctx.options.dry_run and ctx.settings.tracker == "local":
        _repair_outbox(ctx)
    if ctx.options.read_sources:
        log.info("ingest - reading %d source(s)", len(ctx.settings.sources))
        ingested = ingest(ctx.settings, ctx.stores, request.since)
    else:
        ingested = IngestResult(stored=0, store=ctx.stores.messages, since=request.since)
    ctx.ingested = ingested
    # conversations are counted by analyse_step: grouping the window is work a run that
    # reuses the last analysis never does
    stats = RunStats(messages=ingested.stored, window_messages=ingested.window_size)
    warnings = [f"{count} message(s) skipped: {reason}"
                for reason, count in sorted(ingested.skipped.items())
                if reason == IMPLAUSIBLE_TIME]
    return IngestOutput(run_id=request.run_id, started_at=started, since=request.since,
                        stats=stats, warnings=warnings)


def analyse_step(ctx: StepContext, ingested: IngestOutput) -> AnalyseOutput:
    """Extract, embed, cluster and score; one task per significant insight.

    When nothing the last complete analysis depended on changed (`stages.reuse`),
    its insights are the tasks, marked reused, and nothing is analysed. Otherwise
    the window is the one ingest built in this process, else read back from the
    store (ingest stored it). Insight identities are saved here, so the tasks
    can run anywhere.
    """
    prior = _prior_analysis(ctx, ingested.since)
    if prior is not None and prior.memo is not None and prior.insights is not None:
        return _reused_output(ctx, ingested, prior)
    window = ctx.ingested.window if ctx.ingested is not None else None
    if window is None:
        window = MessageWindow(ctx.stores.messages, ingested.since)
    analysis = analyse(ctx.settings, ctx.stores, ctx.analyzer, window.conversations, window,
                       ctx.options.quality, release_window=True)
    median = run_reference([analysis.centroids[i.id] for i in analysis.insights],
                           ctx.docs, ctx.options.verdict)
    model = ctx.docs.embedder.name if ctx.docs is not None else ""
    reference = held_reference(median, model, ctx.options.verdict)
    unfit = fit_warning(median, model, ctx.options.verdict)
    if unfit:
        log.warning("match - %s", unfit)
    chat = ChatWords.of_run([problem.body or problem.text for problem in analysis.problems])
    log.info("match - %d insight(s)", len(analysis.insights))
    analysis, matched, settled = _settle(ctx, analysis, window, reference, chat)
    analysis.save_identities(ctx.stores.insights)
    stats = ingested.stats.model_copy(update={
        "conversations": len(window.conversations),
        "problems": len(analysis.problems), "insights": len(analysis.insights),
        "embedded": analysis.embedded, "embedding_cache_hits": analysis.embedding_cache_hits})
    cap = ctx.settings.max_insights or len(analysis.insights)
    tasks = [_task(ingested.run_id, rank, insight, analysis, reference, chat, rank < cap,
                   matched.get(insight.id))
             for rank, insight in enumerate(analysis.insights)]
    return AnalyseOutput(run_id=ingested.run_id, started_at=ingested.started_at, stats=stats,
                         warnings=[*ingested.warnings, *([unfit] if unfit else [])],
                         notes=[unfit] if unfit else [],
                         tasks=tasks, usage=usage_of(ctx.analyzer),
                         # an analysis whose fold missed an insight is not kept for reuse
                         fingerprint=prior.fingerprint if prior is not None and settled
                         else None)


def _settle(ctx: StepContext, analysis: AnalysisResult, window: MessageWindow,
            reference: float | None, chat: ChatWords
            ) -> tuple[AnalysisResult, dict[str, DocMatch], bool]:
    """Match every insight as its task would, and fold each small one into the largest
    insight matched to the same docs section (stages.settle), before identities are
    saved and anything is filed. Returns the analysis and the matches of the insights the
    fold left as they were (their tasks keep them instead of matching again); an insight
    whose match fails stays as it is, and the run is then not kept for reuse (the last
    value: whether every insight was placed). `reference` and `chat` are the run's, taken
    before the fold: every task matches with them, so a kept match is the one it would
    make."""
    docs = ctx.docs
    if docs is None or len(analysis.insights) < 2 or \
            not may_fold(len(insight.message_ids) for insight in analysis.insights):
        return analysis, {}, True
    matches = {insight.id: _match(ctx, docs, analysis, insight, reference, chat)
               for insight in analysis.insights}
    placed = [Placed(insight.id, len(insight.message_ids), _section(matches[insight.id]))
              for insight in analysis.insights]
    targets = fold_targets(placed, lambda iid: ctx.stores.records.by_insight(iid) is not None)
    changed = set(targets) | set(targets.values())
    kept = {i: m for i, m in matches.items() if m is not None and i not in changed}
    placed_all = all(match is not None for match in matches.values())
    return fold_insights(analysis, targets, window), kept, placed_all


def _match(ctx: StepContext, docs: HybridDocsIndex, analysis: AnalysisResult,
           insight: Insight, reference: float | None, chat: ChatWords) -> DocMatch | None:
    """The insight's match as its task would make it (None when it fails: the task
    matches again and records the failure)."""
    problems, vectors = _members(analysis, insight)
    try:
        match, _ = match_members(insight, problems, vectors, analysis.centroids[insight.id],
                                 docs, reference, ctx.options.verdict,
                                 chat.of_members([p.body or p.text for p in problems]),
                                 ctx.options.group_rank)
    except Exception as exc:  # one insight's failure must not end the run
        log.warning("insight %s: not matched before filing (%s); it is not folded",
                    insight.id, exc)
        return None
    return match


def _section(match: DocMatch | None) -> tuple[str, str] | None:
    """The (page, anchor) a match names; None when it failed or no page covers it."""
    if match is None or match.path is None or match.verdict == "missing":
        return None
    return match.path, match.anchor or ""


def _prior_analysis(ctx: StepContext, since: datetime | None) -> reuse.Reuse | None:
    """This run's fingerprint and the last analysis when it can stand in; None where the
    store keeps no memo."""
    if not reuse.supported(ctx.settings):
        return None
    return reuse.check(ctx.settings, ctx.stores, since, _knobs(ctx.options),
                       ctx.options.retry_failed)


def _knobs(options: RunOptions) -> tuple[object, ...]:
    """The run's tuning choices that shape an analysis (part of its fingerprint), the
    models' fit floors among them (verdict.FIT_FLOORS, which no setting names)."""
    return (options.quality, options.rank, options.verdict, sorted(FIT_FLOORS.items()))


def _reused_output(ctx: StepContext, ingested: IngestOutput, prior: reuse.Reuse) -> AnalyseOutput:
    """The last analysis's insights as this run's tasks: filed again (idempotently),
    not matched or suggested again."""
    assert prior.memo is not None and prior.insights is not None
    stats = ingested.stats.model_copy(update={
        "conversations": prior.memo.conversations, "problems": prior.memo.problems,
        "insights": len(prior.insights), "analysis_reused": prior.reason})
    cap = ctx.settings.max_insights or len(prior.insights)
    tasks = [InsightTask(run_id=ingested.run_id, rank=rank, insight=insight, problems=[],
                         vectors=[], centroid=[], file=rank < cap, reused=True)
             for rank, insight in enumerate(prior.insights)]
    return AnalyseOutput(run_id=ingested.run_id, started_at=ingested.started_at, stats=stats,
                         warnings=[*ingested.warnings, *prior.memo.notes], tasks=tasks)


def _task(run_id: str, rank: int, insight: Insight, analysis: AnalysisResult,
          reference: float | None, chat: ChatWords, file: bool,
          matched: DocMatch | None = None) -> InsightTask:
    problems, vectors = _members(analysis, insight)
    return InsightTask(run_id=run_id, rank=rank, insight=insight, problems=problems,
                       chat=chat.of_members([p.body or p.text for p in problems]),
                       vectors=vectors.tolist(),
                       centroid=analysis.centroids[insight.id].tolist(),
                       reference=reference, file=file, matched=matched)


def _members(analysis: AnalysisResult, insight: Insight) -> tuple[list[Problem], np.ndarray]:
    """The insight's problems in `problem_ids` order and the vectors of the first
    `MAX_VOTERS` of them: what its match reads from the run's analysis."""
    rows = [analysis.position[pid] for pid in insight.problem_ids]
    return [analysis.problems[i] for i in rows], analysis.vectors[rows[:MAX_VOTERS]]


def insight_step(ctx: StepContext, task: InsightTask) -> InsightOutcome:
    """Match, suggest and (when chosen and a tracker is set) file one insight.

    A failure is recorded on the insight and in the outcome's errors; it never
    raises, so one insight cannot stop the others.
    """
    insight = task.insight
    outcome = InsightOutcome(run_id=task.run_id, rank=task.rank, insight=insight)
    try:
        if not task.reused:
            enrich_insight(insight, task.problems, np.asarray(task.vectors, dtype=np.float32),
                           np.asarray(task.centroid, dtype=np.float32), ctx.analyzer,
                           ctx.docs, task.reference, ctx.options.verdict, task.chat,
                           ctx.options.group_rank, task.matched)
    except Exception as exc:  # one insight's failure must not end the run
        _record_failure(outcome, "match/suggest", exc)
        outcome.analysis_failed = True
    if insight.error is None and task.file and ctx.tracker is not None:
        _file(ctx, outcome, ctx.tracker)
    outcome.usage = usage_of(ctx.analyzer)
    return outcome


def _file(ctx: StepContext, outcome: InsightOutcome, tracker: Tracker) -> None:
    """File the insight; with `review` on, only update a ticket it already has, and
    otherwise leave it proposed (or rejected) for a person (`stages.propose`)."""
    from docloop.stages.file import file_insight

    records = ctx.stores.records
    try:
        if ctx.settings.review and not propose_for_review(
                [outcome.insight], records, ctx.stores.reviews,
                ctx.settings.review_regrow_factor, datetime.now(UTC)).to_file:
            return
        outcome.insight.ticket = file_insight(outcome.insight, tracker, records,
                                              datetime.now(UTC))
    except Exception as exc:  # recorded on the insight and in the report (exit 1)
        _record_failure(outcome, "file", exc)


def report_step(ctx: StepContext, analysed: AnalyseOutput, outcomes: list[InsightOutcome],
                usage: list[AnalyzerUsage]) -> RunReport:
    """The run report: every insight in rank order, its failures, stats and model usage.

    `usage` holds each context's analyzer usage once (the CLI's one context; a
    Lambda run's analyse and insight invocations). Saves the insights' latest state.
    """
    ordered = sorted(outcomes, key=lambda o: o.rank)
    report = RunReport(run_id=analysed.run_id, started_at=analysed.started_at,
                       stats=analysed.stats.model_copy(deep=True),
                       insights=[o.insight for o in ordered],
                       errors=[e for o in ordered for e in o.errors],
                       warnings=list(analysed.warnings))
    ctx.stores.insights.save_snapshots(report.insights)
    if ctx.settings.review:
        report.stats.review = run_review_stats(ctx.stores.reviews, ctx.stores.insights,
                                               report.insights, report.started_at)
    report.stats.llm = merge_llm_stats([u.llm for u in usage])
    report.warnings.extend(w for u in usage for w in u.warnings)
    if analysed.fingerprint is not None:
        # kept for reuse only when nothing is left to try again: no insight failed its
        # match or suggestion, no model batch failed or ran out of budget
        complete = not any(o.analysis_failed for o in ordered) and \
            not any(u.warnings for u in usage)
        reuse.remember(ctx.stores, analysed.fingerprint, report, complete, analysed.notes)
    report.finished_at = datetime.now(UTC)
    return report


def failure_message(insight: Insight, stage: str, error: object) -> str:
    """The one line a failed insight carries and the report lists."""
    return f"{stage} failed for insight {insight.id} ({insight.title}): {error}"


def _record_failure(outcome: InsightOutcome, stage: str, exc: Exception) -> None:
    message = failure_message(outcome.insight, stage, exc)
    if isinstance(exc, StageError | BackendError):
        log.error(message)
    else:
        log.exception(message)
    outcome.insight.error = message
    outcome.errors.append(message)
    outcome.retryable = isinstance(exc, TransientError)


def _repair_outbox(ctx: StepContext) -> None:
    """Settle what an interrupted run or `set-status` left between outbox and records."""
    from docloop.backends.trackers.local import repair_outbox

    for line in repair_outbox(ctx.settings.outbox_dir, ctx.stores.records.all()):
        log.warning("outbox: %s", line)
