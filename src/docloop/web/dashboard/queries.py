"""What the review desk reads: one module, so routes never hold SQL.

Entities come through the registry's stores (ticket records, messages, run
history, reviews: one SQLite `Stores` per request); the list, its filters,
the coverage ranking and the charts are aggregate reads over the run
summaries (`storage/runs.py`) that the stores have no reason to offer,
written here once, each bounded by an index or a page size so the insight
list stays fast with 10,000 insights and 100,000 status changes stored
(benchmarks/dashboard_bench.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from docloop import review as reviewing
from docloop.backends.sources.discord_map import snowflake_time_or_none
from docloop.config import Settings
from docloop.errors import InputError, NotFoundError
from docloop.models import (
    NO_PAGE,
    Decision,
    Insight,
    InsightImpact,
    Message,
    Reply,
    ReviewRecord,
    RunReport,
    RunStats,
    TicketRecord,
)
from docloop.stages.propose import edited_insight
from docloop.storage.runs import RunRow
from docloop.storage.sqlite_stores import SQLiteStores
from docloop.stores import Stores
from docloop.web.dashboard.weeks import week_start, weekly_counts

PAGE_SIZE = 50
ADOPTED_RUN = "before-run-history"
ADOPTED_NOTE = ("rebuilt from the insights stored before runs were recorded for the review "
                "desk; counts and costs of those runs were not kept")
SPARK_WEEKS = 8
STATUSES = ("proposed", "accepted", "rejected", "filed", "done", "regressed")
TRENDS = ("new", "growing", "steady", "fading", "regressed")
VERDICTS = ("covered", "partial", "missing")
#: a row the pages read by column name: sqlite3.Row here, a dict from a store's read model
Row = Mapping[str, Any] | sqlite3.Row

#: the desk's status of an insight: the ticket's when one is filed, else the review's
_STATUS_SQL = """CASE
    WHEN t.status = 'done' THEN 'done'
    WHEN t.status = 'regressed' THEN 'regressed'
    WHEN t.id IS NOT NULL THEN 'filed'
    WHEN r.state IN ('accepted', 'rejected') THEN r.state
    ELSE 'proposed' END"""
#: how an insight moved between the last runs that saw it
_TREND_SQL = """CASE
    WHEN t.status = 'regressed' THEN 'regressed'
    WHEN s.first_run_seq = :latest THEN 'new'
    WHEN s.last_run_seq < :latest THEN 'fading'
    WHEN s.previous_conversations IS NULL THEN 'new'
    WHEN s.conversations > s.previous_conversations THEN 'growing'
    WHEN s.conversations < s.previous_conversations THEN 'fading'
    ELSE 'steady' END"""
_LATEST_TICKET = ("LEFT JOIN tickets t ON t.id = (SELECT id FROM tickets WHERE insight_id = "
                  "s.insight_id ORDER BY created_at DESC, rowid DESC LIMIT 1)")
_REVIEW = "LEFT JOIN reviews r ON r.insight_id = s.insight_id"
#: the page, verdict and page URL a row shows: a reviewer's page choice over the run's match
#: (review_doc.shown_page, as store_desk applies it)
_KEPT = "r.page IS NULL OR r.page = s.doc_path"
_SHOWN_PATH = (f"CASE WHEN {_KEPT} THEN s.doc_path WHEN r.page = '{NO_PAGE}' THEN NULL "
               "ELSE r.page END")
_SHOWN_VERDICT = (f"CASE WHEN {_KEPT} THEN s.verdict WHEN r.page = '{NO_PAGE}' THEN 'missing' "
                  "ELSE 'partial' END")
_SHOWN_URL = f"CASE WHEN {_KEPT} THEN s.doc_url ELSE NULLIF(r.page_url, '') END"


@dataclass(frozen=True)
class Filters:
    """The list's query string: every field optional, each checked against what exists."""

    status: str = ""
    verdict: str = ""
    channel: str = ""
    page: str = ""
    number: int = 1

    @classmethod
    def parse(cls, params: dict[str, str]) -> Filters:
        """From a GET form; an unknown status or verdict or a bad page number is an InputError."""
        status, verdict = params.get("status", ""), params.get("verdict", "")
        if status and status not in STATUSES:
            raise InputError(f"status '{status}' is not one of {', '.join(STATUSES)}")
        if verdict and verdict not in VERDICTS:
            raise InputError(f"verdict '{verdict}' is not one of {', '.join(VERDICTS)}")
        raw = params.get("p", "1") or "1"
        if not raw.isdigit() or int(raw) < 1:
            raise InputError(f"page number '{raw}' must be a whole number from 1")
        return cls(status, verdict, params.get("channel", ""), params.get("page", ""), int(raw))

    def query(self, **change: str | int) -> str:
        """This filter's query string with some fields changed (pagination links)."""
        from urllib.parse import urlencode

        values = {"status": self.status, "verdict": self.verdict, "channel": self.channel,
                  "page": self.page, "p": self.number} | change
        return urlencode({k: v for k, v in values.items() if v not in ("", 1)})


@dataclass(frozen=True)
class ListRow:
    """One insight as the list shows it."""

    id: str
    title: str
    score: float
    status: str
    trend: str
    conversations: int
    users: int
    verdict: str | None
    doc_path: str | None
    channels: list[str]
    ticket_id: str | None
    ticket_status: str | None
    weeks: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class InsightList:
    """A page of the list, the totals behind it and what the filters can choose from."""

    rows: list[ListRow]
    total: int
    pages: int
    filters: Filters
    channels: list[str]
    doc_paths: list[str]
    status_counts: dict[str, int]


@dataclass(frozen=True)
class QuoteView:
    """A quote with where it was said and a link back to the Discord message."""

    message_id: str
    author: str
    text: str
    channel: str
    url: str | None


@dataclass(frozen=True)
class InsightDetail:
    """Everything the insight page shows that the stores hold."""

    insight: Insight  # with the reviewer's edits applied (what the ticket carries)
    original: Insight  # as the run reported it
    review: ReviewRecord | None
    decisions: list[Decision]
    summary: Row | None
    quotes: list[QuoteView]
    ticket: TicketRecord | None
    runs: Sequence[Row]
    conversation_times: list[datetime]
    impact: InsightImpact | None  # questions per week before/after its ticket was done
    replies: list[Reply]  # what it says (or will say) in Discord once done: a dry run


@dataclass(frozen=True)
class RunChanges:
    """What a run changed against the run before it."""

    previous: RunRow | None
    insights: Sequence[Row]
    new: Sequence[Row]
    gone: Sequence[Row]
    moved: Sequence[tuple[Row, int]]


@dataclass(frozen=True)
class Coverage:
    """Pages by the problems they attract, and the problems no page covers."""

    pages: Sequence[Row]
    missing: Sequence[Row]


class CountsCache:
    """Status counts of the list per filter, kept while `Desk.data_version` stays the same.

    Counting statuses reads every insight (about 25 ms at 10,000); the version
    is five index lookups. One cache per app, shared by its worker threads.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._counts: dict[tuple[object, ...], dict[str, int]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> dict[str, int] | None:
        with self._lock:
            return self._counts.get(key)

    def put(self, key: tuple[object, ...], counts: dict[str, int]) -> None:
        with self._lock:
            if len(self._counts) >= self.size:
                self._counts.clear()  # versions only move forward: old keys are dead
            self._counts[key] = counts


class Desk:
    """The desk's reads over one connection (one per request, closed by the caller)."""

    def __init__(self, settings: Settings, stores: SQLiteStores,
                 cache: CountsCache | None = None) -> None:
        self.settings = settings
        self.stores: Stores = stores
        self.conn = stores.conn
        self.cache = cache or CountsCache()
        # built through the registry, which also makes sure every table read here exists
        self.runs = stores.runs
        self.records = stores.records
        self.insights = stores.insights
        self.messages = stores.messages
        self.reviews = stores.reviews

    def adopt_snapshots(self, now: datetime) -> None:
        """A home whose runs predate the run history holds insights but no summaries:
        record them once, as one run made of the stored snapshots, so the desk lists them."""
        if self.latest_run_seq() or not (snapshots := self.insights.snapshots()):
            return
        self.runs.record(RunReport(run_id=ADOPTED_RUN, started_at=now, finished_at=now,
                                   stats=RunStats(insights=len(snapshots)),
                                   insights=snapshots, warnings=[ADOPTED_NOTE]))

    def latest_run_seq(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM runs").fetchone()
        return int(row[0])

    def insight_list(self, filters: Filters, now: datetime) -> InsightList:
        """One page of insights by score, filtered, with status, trend and weekly counts."""
        where, args = _where(filters)
        args["latest"] = self.latest_run_seq()
        base = f"FROM insight_summaries s {_LATEST_TICKET} {_REVIEW}"
        key = (self.data_version(), filters.verdict, filters.channel, filters.page)
        counts = self.cache.get(key)
        if counts is None:
            counts = dict(self.conn.execute(
                f"SELECT status, COUNT(*) FROM (SELECT {_STATUS_SQL} AS status {base} "
                f"{where.replace('{status}', 'TRUE')}) GROUP BY status", args).fetchall())
            self.cache.put(key, counts)
        total = (sum(counts.values()) if not filters.status
                 else counts.get(filters.status, 0))
        pages = max(1, -(-total // PAGE_SIZE))
        args |= {"status": filters.status, "limit": PAGE_SIZE,
                 "offset": (min(filters.number, pages) - 1) * PAGE_SIZE}
        status_clause = f"({_STATUS_SQL}) = :status" if filters.status else "TRUE"
        rows = self.conn.execute(
            f"SELECT s.*, COALESCE(r.title, s.title) AS shown_title, "
            f"{_SHOWN_PATH} AS shown_path, {_SHOWN_VERDICT} AS shown_verdict, "
            f"t.id AS ticket_id, "
            f"t.status AS ticket_status, {_STATUS_SQL} AS desk_status, {_TREND_SQL} AS trend "
            f"{base} {where.replace('{status}', status_clause)}"
            " ORDER BY s.score DESC, s.insight_id LIMIT :limit OFFSET :offset", args).fetchall()
        weeks = self.weekly_conversations([r["insight_id"] for r in rows], SPARK_WEEKS, now)
        return InsightList([_list_row(r, weeks.get(r["insight_id"], [])) for r in rows],
                           total, pages, filters, self._channels(), self._doc_paths(), counts)

    def data_version(self) -> tuple[object, ...]:
        """What changes whenever a status count can: runs, ticket changes, review decisions
        (a filing appends history; every review change logs a decision)."""
        row = self.conn.execute(
            "SELECT (SELECT MAX(seq) FROM runs), (SELECT MAX(rowid) FROM ticket_history), "
            "(SELECT MAX(seq) FROM review_decisions), (SELECT MAX(updated_at) FROM tickets), "
            "(SELECT COUNT(*) FROM tickets)").fetchone()
        return tuple(row)

    def status_and_trend(self, insight_id: str) -> tuple[str, str]:
        """One insight's desk status and trend, as the list computes them."""
        row = self.conn.execute(
            f"SELECT {_STATUS_SQL} AS status, {_TREND_SQL} AS trend FROM insight_summaries s "
            f"{_LATEST_TICKET} {_REVIEW} WHERE s.insight_id = :id",
            {"id": insight_id, "latest": self.latest_run_seq()}).fetchone()
        return (row["status"], row["trend"]) if row else ("proposed", "new")

    def weekly_conversations(self, insight_ids: Sequence[str], weeks: int,
                             now: datetime) -> dict[str, list[int]]:
        """Conversations per week of each insight over the last `weeks` weeks."""
        dated = self.conversation_times(insight_ids)
        return {i: weekly_counts(dated.get(i, []), weeks, now) for i in insight_ids}

    def conversation_times(self, insight_ids: Sequence[str]) -> dict[str, list[datetime]]:
        """When each conversation of these insights started (snowflake or root message)."""
        if not insight_ids:
            return {}
        marks = ", ".join("?" for _ in insight_ids)
        rows = self.conn.execute(
            "SELECT DISTINCT im.insight_id, im.conversation_id, m.timestamp "
            "FROM insight_members im LEFT JOIN messages m ON m.id = im.conversation_id "
            f"WHERE im.insight_id IN ({marks})", list(insight_ids)).fetchall()
        dated: dict[str, list[datetime]] = {}
        for row in rows:
            moment = snowflake_time_or_none(row["conversation_id"]) or _parse(row["timestamp"])
            if moment is not None:
                dated.setdefault(row["insight_id"], []).append(moment)
        return dated

    def new_insights_per_week(self, weeks: int, now: datetime) -> dict[str, int]:
        """Insights first seen in each of the last `weeks` weeks, by the week's Monday
        (`YYYY-MM-DD`); weeks with none are absent."""
        since = week_start(now) - timedelta(weeks=weeks - 1)
        rows = self.conn.execute(
            "SELECT date(first_seen, '-6 days', 'weekday 1') AS week, COUNT(*) "
            "FROM insight_summaries WHERE first_seen >= ? GROUP BY week",
            (since.isoformat(),))
        return {str(week): int(count) for week, count in rows}

    def insight(self, insight_id: str, now: datetime) -> InsightDetail | None:
        """One insight's latest reported state, evidence, ticket and runs; None if unknown."""
        summary = self.conn.execute("SELECT * FROM insight_summaries WHERE insight_id = ?",
                                    (insight_id,)).fetchone()
        runs = self.conn.execute(
            "SELECT r.run_id, r.started_at, ri.* FROM run_insights ri JOIN runs r "
            "ON r.seq = ri.run_seq WHERE ri.insight_id = ? ORDER BY ri.run_seq DESC LIMIT 50",
            (insight_id,)).fetchall()
        return self._detail(insight_id, now, summary, runs)

    def _detail(self, insight_id: str, now: datetime, summary: Row | None,
                runs: Sequence[Row]) -> InsightDetail | None:
        """The insight page's reads that go through the families (every store's)."""
        insight = self._reported(insight_id)
        if insight is None:
            return None
        review = self.reviews.get(insight_id)
        return InsightDetail(edited_insight(insight, review), insight, review,
                             self.reviews.decisions(insight_id), summary,
                             self._quotes(insight),
                             self.records.by_insight(insight_id), runs,
                             self.conversation_times([insight_id]).get(insight_id, []),
                             *self._aftermath(insight_id, now))

    def _aftermath(self, insight_id: str, now: datetime) -> tuple[InsightImpact | None,
                                                                  list[Reply]]:
        """Impact and the Discord reply preview, through the review API (the CLI's too);
        an insight known only from its ticket (no snapshot) has neither."""
        try:
            return (reviewing.impact(self.settings, self.stores, insight_id, now=now),
                    reviewing.reply_preview(self.settings, self.stores, insight_id, now=now))
        except NotFoundError:
            return None, []

    def merged_into(self, insight_id: str) -> str | None:
        """The insight that absorbed this one, if a reviewer merged it."""
        review = self.reviews.get(insight_id)
        return review.merged_into if review else None

    def merge_candidates(self, insight_id: str, limit: int = 200) -> Sequence[Row]:
        """Insights that can be merged into this one: not merged, no ticket. Those matched
        to the same docs section come first (`same_section`: often one problem the
        clustering split in two), then by score."""
        return self.conn.execute(
            "SELECT s.insight_id, s.title, s.score, COALESCE(s.doc_url = (SELECT doc_url FROM "
            f"insight_summaries WHERE insight_id = ?), 0) AS same_section "
            f"FROM insight_summaries s {_REVIEW} "
            "WHERE s.insight_id != ? AND r.merged_into IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM tickets t WHERE t.insight_id = s.insight_id) "
            "ORDER BY same_section DESC, s.score DESC LIMIT ?",
            (insight_id, insight_id, limit)).fetchall()

    def _reported(self, insight_id: str) -> Insight | None:
        """The insight as its last run reported it; from its ticket alone when no
        snapshot was kept (tickets filed before snapshots existed)."""
        snapshot = self._snapshot_of(insight_id)
        if snapshot is not None:
            return snapshot
        ticket = self.records.by_insight(insight_id)
        if ticket is None:
            return None
        return Insight(id=insight_id, title=ticket.title, summary="", users=ticket.users,
                       conversation_ids=ticket.conversation_ids,
                       message_ids=ticket.message_ids)

    def _snapshot_of(self, insight_id: str) -> Insight | None:
        row = self.conn.execute("SELECT snapshot FROM insights WHERE id = ?",
                                (insight_id,)).fetchone()
        return Insight.model_validate_json(row["snapshot"]) if row and row["snapshot"] else None

    def _quotes(self, insight: Insight) -> list[QuoteView]:
        stored = {m.id: m for m in self.messages.get([q.message_id for q in insight.quotes])}
        views = []
        for quote in insight.quotes:
            message = stored.get(quote.message_id)
            channel = (message.thread_name or message.channel_name) if message else ""
            url = quote.url or (discord_url(message) if message else None)
            if url and not url.startswith(("https://", "http://")):
                url = None  # only web links become hrefs (never javascript: or data:)
            views.append(QuoteView(quote.message_id, quote.author, quote.text, channel, url))
        return views

    def run_changes(self, run: RunRow) -> RunChanges:
        """A run's insights and how they differ from the run before it."""
        previous = self.conn.execute("SELECT run_id FROM runs WHERE seq < ? ORDER BY seq DESC "
                                     "LIMIT 1", (run.seq,)).fetchone()
        before = self.runs.run(previous["run_id"]) if previous else None
        return self._changes(before, self._run_insights(run.seq),
                             self._run_insights(before.seq) if before else [])

    @staticmethod
    def _changes(before: RunRow | None, now_rows: Sequence[Row],
                 before_rows: Sequence[Row]) -> RunChanges:
        """New, gone and moved insights between a run's rows and the run before's."""
        old_rows = {r["insight_id"]: r for r in before_rows}
        current = {r["insight_id"] for r in now_rows}
        moved = [(r, r["conversations"] - old_rows[r["insight_id"]]["conversations"])
                 for r in now_rows if r["insight_id"] in old_rows
                 and r["conversations"] != old_rows[r["insight_id"]]["conversations"]]
        return RunChanges(before, now_rows,
                          [r for r in now_rows if r["insight_id"] not in old_rows],
                          [r for i, r in old_rows.items() if i not in current], moved)

    def _run_insights(self, seq: int) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM run_insights WHERE run_seq = ? "
                                 "ORDER BY score DESC", (seq,)).fetchall()

    def coverage(self, limit: int = 200) -> Coverage:
        """Pages ranked by the conversations their problems hold; topics with no page."""
        shown = (f"(SELECT s.insight_id, s.title, s.score, s.conversations, s.users, "
                 f"{_SHOWN_PATH} AS doc_path, {_SHOWN_VERDICT} AS verdict, "
                 f"{_SHOWN_URL} AS doc_url FROM insight_summaries s {_REVIEW})")
        pages = self.conn.execute(
            "SELECT doc_path, MAX(doc_url) AS doc_url, COUNT(*) AS insights, "
            "SUM(conversations) AS conversations, SUM(users) AS users, "
            "SUM(verdict = 'partial') AS partial, SUM(verdict = 'covered') AS covered "
            f"FROM {shown} WHERE doc_path IS NOT NULL AND verdict != 'missing' "
            "GROUP BY doc_path ORDER BY conversations DESC, insights DESC LIMIT ?",
            (limit,)).fetchall()
        missing = self.conn.execute(
            f"SELECT * FROM {shown} WHERE verdict = 'missing' OR doc_path IS NULL "
            "ORDER BY score DESC LIMIT ?", (limit,)).fetchall()
        return Coverage(pages, missing)

    def days_filed_to_done(self) -> list[float]:
        """For each ticket that reached done, the days from filing to its first done."""
        rows = self.conn.execute(
            "SELECT julianday(MIN(COALESCE(h.changed_at, h.at))) - julianday(t.created_at) "
            "FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id "
            "WHERE h.status = 'done' AND h.applied = 1 GROUP BY h.ticket_id")
        return [max(0.0, float(days)) for (days,) in rows if days is not None]

    def _channels(self) -> list[str]:
        rows = self.conn.execute("SELECT DISTINCT channel FROM insight_channels ORDER BY 1")
        return [str(value) for (value,) in rows]

    def _doc_paths(self) -> list[str]:
        rows = self.conn.execute(f"SELECT DISTINCT {_SHOWN_PATH} AS path FROM insight_summaries s "
                                 f"{_REVIEW} WHERE path IS NOT NULL ORDER BY 1")
        return [str(value) for (value,) in rows]


def _where(filters: Filters) -> tuple[str, dict[str, str | int]]:
    """The WHERE clause of the list (status left as a `{status}` slot) and its arguments."""
    clauses: list[str] = ["{status}", "r.merged_into IS NULL"]  # merged ones live on in another
    args: dict[str, str | int] = {}
    if filters.verdict:
        clauses.append(f"({_SHOWN_VERDICT}) = :verdict")
        args["verdict"] = filters.verdict
    if filters.page:
        clauses.append(f"({_SHOWN_PATH}) = :page")
        args["page"] = filters.page
    if filters.channel:
        clauses.append("EXISTS (SELECT 1 FROM insight_channels c WHERE c.channel = :channel "
                       "AND c.insight_id = s.insight_id)")
        args["channel"] = filters.channel
    return "WHERE " + " AND ".join(clauses), args


def _list_row(row: sqlite3.Row, weeks: list[int]) -> ListRow:
    return ListRow(id=row["insight_id"], title=row["shown_title"], score=row["score"],
                   status=row["desk_status"], trend=row["trend"],
                   conversations=row["conversations"], users=row["users"],
                   verdict=row["shown_verdict"], doc_path=row["shown_path"],
                   channels=json.loads(row["channels"]), ticket_id=row["ticket_id"],
                   ticket_status=row["ticket_status"], weeks=weeks)


def _parse(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


def discord_url(message: Message) -> str:
    """The link that opens a message in Discord (a thread's messages live in the thread)."""
    channel = message.thread_id or message.channel_id
    return f"https://discord.com/channels/{message.guild_id or '@me'}/{channel}/{message.id}"
