"""The desk's reads through the storage families, for stores without SQL (DynamoDB).

`queries.Desk` answers the list, its counts and the coverage ranking with SQL over
docloop.db. A store without SQL offers the same read model through its `runs`
family (`aws/dynamodb_runs.py`: one summary per insight, each run's rows, each
insight's runs), and this desk computes the views from it in Python: statuses and
trends exactly as `queries._STATUS_SQL` and `_TREND_SQL` state them.

What a list view reads: the newest run (one Query, one item) and, when that or the
cache's age says the cached state is stale, every summary, review and ticket (one
Query of each partition). The state is cached per app for `STATE_TTL_S` seconds and
while the newest run stays the same, so a review or webhook change shows in the list
within that time; an insight's own page always reads its ticket and review afresh.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from docloop.config import Settings
from docloop.models import ReviewRecord, TicketRecord
from docloop.review_doc import shown_page
from docloop.storage.runs import RunRow
from docloop.stores import RunHistory, Stores
from docloop.web.dashboard.queries import (
    PAGE_SIZE,
    SPARK_WEEKS,
    Coverage,
    Desk,
    Filters,
    InsightDetail,
    InsightList,
    ListRow,
    RunChanges,
)
from docloop.web.dashboard.weeks import week_start, weekly_counts

#: how long a list view may show statuses older than the stores' (seconds)
STATE_TTL_S = 30.0
_DAY_S = 86_400


class DeskReadModel(RunHistory, Protocol):
    """The run history with the reads the desk needs (`aws.dynamodb_runs.DynamoRunStore`)."""

    def latest_seq(self) -> int: ...
    def previous(self, seq: int) -> RunRow | None: ...
    def summaries(self) -> list[dict[str, Any]]: ...
    def summary(self, insight_id: str) -> dict[str, Any] | None: ...
    def run_insights(self, seq: int) -> list[dict[str, Any]]: ...
    def insight_runs(self, insight_id: str, limit: int = 50) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class DeskState:
    """Every insight's summary with its latest ticket and its review, as of run `latest`."""

    latest: int
    summaries: list[dict[str, Any]]
    tickets: dict[str, TicketRecord]  # each insight's newest ticket
    reviews: dict[str, ReviewRecord]
    every_ticket: list[TicketRecord]

    def status(self, insight_id: str) -> str:
        return desk_status(self.tickets.get(insight_id), self.reviews.get(insight_id))

    def trend(self, summary: dict[str, Any]) -> str:
        return desk_trend(summary, self.tickets.get(summary["insight_id"]), self.latest)

    def listed(self) -> list[dict[str, Any]]:
        """The summaries the list shows: merged-away insights live on in another."""
        return [s for s in self.shown()
                if not (r := self.reviews.get(s["insight_id"])) or r.merged_into is None]

    def shown(self) -> list[dict[str, Any]]:
        """The summaries with each reviewer's page choice applied to page, verdict and URL
        (review_doc.shown_page; the SQLite desk's _SHOWN_* expressions)."""
        return [_shown(s, self.reviews.get(s["insight_id"])) for s in self.summaries]


def _shown(summary: dict[str, Any], review: ReviewRecord | None) -> dict[str, Any]:
    choice = review.page if review else None
    doc_path, verdict = shown_page(summary["doc_path"], summary["verdict"], choice)
    if (doc_path, verdict) == (summary["doc_path"], summary["verdict"]):
        return summary
    url = review.page_url if review and doc_path else None
    return summary | {"doc_path": doc_path, "verdict": verdict, "doc_url": url or None}


class StateCache:
    """One app's cached `DeskState`, shared by its worker threads."""

    def __init__(self, ttl_s: float = STATE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._entry: tuple[int, float, DeskState] | None = None

    def get(self, latest: int) -> DeskState | None:
        with self._lock:
            if self._entry is None:
                return None
            seq, loaded, state = self._entry
            fresh = seq == latest and time.monotonic() - loaded < self.ttl_s
            return state if fresh else None

    def put(self, state: DeskState) -> None:
        with self._lock:
            self._entry = (state.latest, time.monotonic(), state)

    def clear(self) -> None:
        """Forget the state: the desk itself just changed a review or filed a ticket."""
        with self._lock:
            self._entry = None


def desk_status(ticket: TicketRecord | None, review: ReviewRecord | None) -> str:
    """The ticket's status once one is filed, else the review's (queries._STATUS_SQL)."""
    if ticket is not None:
        return ticket.status if ticket.status in ("done", "regressed") else "filed"
    if review is not None and review.state in ("accepted", "rejected"):
        return review.state
    return "proposed"


def desk_trend(summary: dict[str, Any], ticket: TicketRecord | None, latest: int) -> str:
    """How an insight moved between the last runs that saw it (queries._TREND_SQL)."""
    previous = summary.get("previous_conversations")
    if ticket is not None and ticket.status == "regressed":
        return "regressed"
    if summary["first_run_seq"] == latest:
        return "new"
    if summary["last_run_seq"] < latest:
        return "fading"
    if previous is None:
        return "new"
    if summary["conversations"] != previous:
        return "growing" if summary["conversations"] > previous else "fading"
    return "steady"


class StoreDesk(Desk):
    """`queries.Desk`'s views over the storage families (no SQL connection)."""

    def __init__(self, settings: Settings, stores: Stores, state_cache: StateCache) -> None:
        # not Desk.__init__: there is no connection; the family reads below replace its SQL
        self.settings = settings
        self.stores = stores
        self.state_cache = state_cache
        self.runs: DeskReadModel = stores.runs  # type: ignore[assignment]
        self.records = stores.records
        self.insights = stores.insights
        self.messages = stores.messages
        self.reviews = stores.reviews

    def state(self) -> DeskState:
        """The cached state while fresh, else every summary, ticket and review read again."""
        latest = self.runs.latest_seq()
        cached = self.state_cache.get(latest)
        if cached is not None:
            return cached
        every_ticket = sorted(self.records.all(), key=lambda t: t.created_at)
        tickets = {t.insight_id: t for t in every_ticket if t.insight_id}  # the newest wins
        state = DeskState(latest, self.runs.summaries(), tickets, self.reviews.all(),
                          every_ticket)
        self.state_cache.put(state)
        return state

    def latest_run_seq(self) -> int:
        return self.runs.latest_seq()

    def insight_list(self, filters: Filters, now: datetime) -> InsightList:
        state = self.state()
        chosen = [s for s in state.listed() if _matches(s, filters)]
        counts = dict(Counter(state.status(s["insight_id"]) for s in chosen))
        if filters.status:
            chosen = [s for s in chosen if state.status(s["insight_id"]) == filters.status]
        total = len(chosen)
        pages = max(1, -(-total // PAGE_SIZE))
        start = (min(filters.number, pages) - 1) * PAGE_SIZE
        page = sorted(chosen, key=lambda s: (-s["score"], s["insight_id"]))[start:start + PAGE_SIZE]
        rows = [self._list_row(state, s, now) for s in page]
        channels = sorted({c for s in state.summaries for c in s["channels"]})
        doc_paths = sorted({s["doc_path"] for s in state.shown() if s["doc_path"]})
        return InsightList(rows, total, pages, filters, channels, doc_paths, counts)

    def _list_row(self, state: DeskState, summary: dict[str, Any], now: datetime) -> ListRow:
        insight_id = summary["insight_id"]
        ticket, review = state.tickets.get(insight_id), state.reviews.get(insight_id)
        return ListRow(id=insight_id, title=(review.title if review and review.title
                                             else summary["title"]),
                       score=summary["score"], status=state.status(insight_id),
                       trend=state.trend(summary), conversations=summary["conversations"],
                       users=summary["users"], verdict=summary["verdict"],
                       doc_path=summary["doc_path"], channels=summary["channels"],
                       ticket_id=ticket.id if ticket else None,
                       ticket_status=ticket.status if ticket else None,
                       weeks=weekly_counts(_days(summary), SPARK_WEEKS, now))

    def status_and_trend(self, insight_id: str) -> tuple[str, str]:
        summary = self.runs.summary(insight_id)
        if summary is None:
            return "proposed", "new"
        ticket = self.records.by_insight(insight_id)
        return (desk_status(ticket, self.reviews.get(insight_id)),
                desk_trend(summary, ticket, self.runs.latest_seq()))

    def conversation_times(self, insight_ids: Sequence[str]) -> dict[str, list[datetime]]:
        """From each insight's summary (the days its conversations started)."""
        dated = {}
        for insight_id in insight_ids:
            summary = self.runs.summary(insight_id)
            if summary is not None:
                dated[insight_id] = _days(summary)
        return dated

    def new_insights_per_week(self, weeks: int, now: datetime) -> dict[str, int]:
        since = week_start(now) - timedelta(weeks=weeks - 1)
        firsts = (datetime.fromisoformat(s["first_seen"]) for s in self.state().summaries
                  if s.get("first_seen"))
        return dict(Counter(week_start(f).isoformat() for f in firsts if f.date() >= since))

    def insight(self, insight_id: str, now: datetime) -> InsightDetail | None:
        return self._detail(insight_id, now, self.runs.summary(insight_id),
                            self.runs.insight_runs(insight_id))

    def merge_candidates(self, insight_id: str, limit: int = 200) -> list[dict[str, Any]]:
        state = self.state()
        own = next((s["doc_url"] for s in state.summaries if s["insight_id"] == insight_id),
                   None)
        found = [s | {"same_section": int(own is not None and s["doc_url"] == own)}
                 for s in state.listed()
                 if s["insight_id"] != insight_id and s["insight_id"] not in state.tickets]
        return sorted(found, key=lambda s: (-s["same_section"], -s["score"]))[:limit]

    def _snapshot_of(self, insight_id: str) -> Any:
        return self.insights.snapshot(insight_id)

    def run_changes(self, run: RunRow) -> RunChanges:
        before = self.runs.previous(run.seq)
        return self._changes(before, self.runs.run_insights(run.seq),
                             self.runs.run_insights(before.seq) if before else [])

    def coverage(self, limit: int = 200) -> Coverage:
        summaries = self.state().shown()
        by_page: dict[str, list[dict[str, Any]]] = {}
        for s in summaries:
            if s["doc_path"] and s["verdict"] != "missing":
                by_page.setdefault(s["doc_path"], []).append(s)
        pages = [{"doc_path": path, "doc_url": max((s["doc_url"] or "") for s in rows) or None,
                  "insights": len(rows), "conversations": sum(s["conversations"] for s in rows),
                  "users": sum(s["users"] for s in rows),
                  "partial": sum(s["verdict"] == "partial" for s in rows),
                  "covered": sum(s["verdict"] == "covered" for s in rows)}
                 for path, rows in by_page.items()]
        pages.sort(key=lambda p: (-p["conversations"], -p["insights"]))
        missing = sorted((s for s in summaries if s["verdict"] == "missing" or not s["doc_path"]),
                         key=lambda s: -s["score"])
        return Coverage(pages[:limit], missing[:limit])

    def days_filed_to_done(self) -> list[float]:
        days = []
        for ticket in self.state().every_ticket:
            done = [c.changed_at or c.at for c in ticket.history
                    if c.status == "done" and c.applied]
            if done:
                days.append(max(0.0, (min(done) - ticket.created_at).total_seconds() / _DAY_S))
        return days


def _matches(summary: dict[str, Any], filters: Filters) -> bool:
    return ((not filters.verdict or summary["verdict"] == filters.verdict)
            and (not filters.page or summary["doc_path"] == filters.page)
            and (not filters.channel or filters.channel in summary["channels"]))


def _days(summary: dict[str, Any]) -> list[datetime]:
    return [datetime.fromtimestamp(day * _DAY_S, UTC) for day in summary.get("days", [])]
