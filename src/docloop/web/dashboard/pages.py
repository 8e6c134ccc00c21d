"""The desk's read-only pages: insights, one insight, runs, one run, coverage, login.

Each handler reads through a desk over stores of its own (in a worker thread:
SQLite and boto3 are blocking): `queries.Desk` (SQL) on the SQLite store,
`store_desk.StoreDesk` (the families' read model) on DynamoDB; and renders a template; nothing here
writes except the login cookie. Templates escape everything (autoescape on);
the only markup handed to them is the server-drawn SVG of `charts`.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from docloop import registry
from docloop.config import Settings
from docloop.errors import DocloopError
from docloop.models import NEAREST, NO_PAGE, Insight, section_label
from docloop.review_doc import page_choices
from docloop.stages.reply import done_at as ticket_done_at
from docloop.storage.sqlite_stores import SQLiteStores
from docloop.web.dashboard import charts
from docloop.web.dashboard.actions import notice
from docloop.web.dashboard.auth import SESSION_COOKIE, Gate
from docloop.web.dashboard.guard import cookie, csrf_form
from docloop.web.dashboard.queries import (
    PAGE_SIZE,
    STATUSES,
    VERDICTS,
    CountsCache,
    Desk,
    Filters,
    InsightDetail,
)
from docloop.web.dashboard.store_desk import StateCache, StoreDesk
from docloop.web.dashboard.weeks import week_labels, week_start, weekly_counts

T = TypeVar("T")
log = logging.getLogger("docloop.web")
CHART_WEEKS = 12
SESSION_DAYS = 30
_WHY = {
    "covered": "The page answers this, yet users keep asking: they do not find or understand "
               "the answer where it is.",
    "partial": "The page is on topic but does not say what users asked.",
    "missing": "No page comes close enough to what users asked: a new page or section is "
               "suggested.",
}
_FILED_TO_DONE = ((1, "<1d"), (3, "1-3d"), (7, "3-7d"), (14, "1-2w"), (28, "2-4w"),
                  (float("inf"), ">4w"))


def templates() -> Jinja2Templates:
    """The packaged templates, autoescaped, with the sparkline helper."""
    env = Environment(loader=PackageLoader("docloop.web.dashboard", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.globals["spark"] = charts.sparkline
    return Jinja2Templates(env=env)


class Pages:
    """Read-only handlers over settings, a clock, the gate and the templates."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime], gate: Gate,
                 views: Jinja2Templates, state_cache: StateCache) -> None:
        self.settings = settings
        self.clock = clock
        self.gate = gate
        self.views = views
        self.counts = CountsCache()
        self.state_cache = state_cache

    def render(self, request: Request, name: str, http_status: int = 200,
               **context: Any) -> Response:
        """A template with what every page needs (who, CSRF field, whether to show sign-out)."""
        base = {"actor": request.state.actor, "csrf": request.state.csrf,
                "gate_open": self.gate.open, "notice": notice(request.query_params.get("done"))}
        return self.views.TemplateResponse(request, name, base | context, status_code=http_status)

    async def read(self, work: Callable[[Desk], T]) -> T:
        """Run `work` on a desk over freshly opened stores, in a worker thread."""
        def run() -> T:
            with registry.open_stores(self.settings) as stores:
                if isinstance(stores, SQLiteStores):
                    return work(Desk(self.settings, stores, self.counts))
                return work(StoreDesk(self.settings, stores, self.state_cache))

        try:
            return await run_in_threadpool(run)
        except DocloopError as exc:  # e.g. a file at docloop.db that is not ours
            log.error("database unavailable: %s", exc)
            raise HTTPException(503, str(exc)) from None

    async def insights(self, request: Request) -> Response:
        filters = Filters.parse(dict(request.query_params))
        now = self.clock()

        def work(desk: Desk) -> tuple[Any, dict[str, int]]:
            desk.adopt_snapshots(now)
            return desk.insight_list(filters, now), desk.new_insights_per_week(CHART_WEEKS, now)

        listing, per_week_counts = await self.read(work)
        per_week = charts.bar_chart([charts.Bar(week, per_week_counts.get(week, 0))
                                     for week in week_labels(CHART_WEEKS, now)],
                                    "new insights per week")
        return self.render(request, "insights.html", nav="insights", list=listing,
                           statuses=STATUSES, verdicts=VERDICTS, page_size=PAGE_SIZE,
                           per_week_chart=per_week)

    async def insight(self, request: Request) -> Response:
        insight_id = request.path_params["insight_id"]
        keep = await self.read(lambda desk: desk.merged_into(insight_id))
        if keep:
            return RedirectResponse(f"/insights/{quote(keep, safe='')}", status_code=303)
        detail, candidates = await self.read(
            lambda desk: (desk.insight(insight_id, self.clock()),
                          desk.merge_candidates(insight_id)))
        if detail is None:
            raise HTTPException(404, f"no insight {insight_id} (it may have been merged)")
        status, trend = await self.read(lambda desk: desk.status_and_trend(insight_id))
        done_at = ticket_done_at(detail.ticket) if detail.ticket else None
        weeks = _around(done_at, self.clock())
        chart = charts.bar_chart(
            [charts.Bar(label, count, mark=bool(done_at and label >= week_start(done_at)
                                                .isoformat()))
             for label, count in zip(week_labels(CHART_WEEKS, weeks),
                                     weekly_counts(detail.conversation_times, CHART_WEEKS,
                                                   weeks), strict=True)],
            "conversations per week")
        return self.render(request, "insight.html", nav="insights", d=detail, status=status,
                           trend=trend, done_at=done_at, weekly_chart=chart,
                           verdict_why=_verdict_why(detail.insight),
                           next_pages=_next_pages(detail.insight),
                           page_options=_page_options(detail), candidates=candidates,
                           regrow=_regrow_at(detail, self.settings.review_regrow_factor),
                           replies_on=self.settings.discord_reply_on_done)

    async def runs(self, request: Request) -> Response:
        def work(desk: Desk) -> tuple[Any, list[float]]:
            return desk.runs.runs(), desk.days_filed_to_done()

        runs, days = await self.read(work)
        buckets = Counter(next(label for top, label in _FILED_TO_DONE if d < top) for d in days)
        chart = charts.bar_chart([charts.Bar(label, buckets.get(label, 0))
                                  for _, label in _FILED_TO_DONE], "days from filing to done")
        return self.render(request, "runs.html", nav="runs", runs=runs,
                           filed_to_done_chart=chart, done_count=len(days))

    async def run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]

        def work(desk: Desk) -> Any:
            run = desk.runs.run(run_id)
            return (run, desk.run_changes(run)) if run else None

        found = await self.read(work)
        if found is None:
            raise HTTPException(404, f"no recorded run {run_id}")
        run, changes = found
        actions = Counter(r["ticket_action"] for r in changes.insights if r["ticket_action"])
        return self.render(request, "run.html", nav="runs", run=run, changes=changes,
                           actions=actions)

    async def coverage(self, request: Request) -> Response:
        coverage = await self.read(lambda desk: desk.coverage())
        return self.render(request, "coverage.html", nav="coverage", coverage=coverage)

    def login_page(self, request: Request, status: int = 200, error: str = "",
                   next_path: str = "/") -> Response:
        return self.render(request, "login.html", status, error=error, next=next_path)

    async def login_form(self, request: Request) -> Response:
        next_path = _safe_next(request.query_params.get("next"))
        if self.gate.open:  # no token configured (loopback): nothing to sign in to
            return RedirectResponse(next_path, status_code=303)
        return self.login_page(request, next_path=next_path)

    async def login(self, request: Request) -> Response:
        form = await csrf_form(request, self.gate)
        token = self.gate.login(str(form.get("token", "")))
        next_path = _safe_next(str(form.get("next", "/")))
        if token is None:
            return self.login_page(request, 401, "That token is not one of this desk's.",
                                   next_path)
        response = RedirectResponse(next_path, status_code=303)
        response.headers.append("set-cookie", cookie(SESSION_COOKIE, token.session,
                                                     SESSION_DAYS * 86400))
        return response

    async def logout(self, request: Request) -> Response:
        await csrf_form(request, self.gate)
        response = RedirectResponse("/login", status_code=303)
        response.headers.append("set-cookie", cookie(SESSION_COOKIE, "", 0))
        return response


def _safe_next(raw: str | None) -> str:
    """Only a root-relative path of this site (never `//host` or a scheme)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    return raw


def _around(done_at: datetime | None, now: datetime) -> datetime:
    """The last week a before/after chart shows: now, or half the window after the fix."""
    if done_at is None:
        return now
    return min(now, done_at + timedelta(weeks=CHART_WEEKS // 2))


def _regrow_at(detail: InsightDetail, factor: float) -> int | None:
    """The conversation count at which a rejected insight is proposed again (as
    `stages.propose` decides it)."""
    review = detail.review
    if review is None or review.state != "rejected" or review.rejected_size is None:
        return None
    return math.ceil(factor * max(review.rejected_size, 1))


def _verdict_why(insight: Insight) -> str:
    doc = insight.doc
    if doc is None:
        return ""
    return _WHY.get(doc.verdict, "")


def _page_options(detail: InsightDetail) -> list[tuple[str, str, bool]]:
    """The edit form's page choices (value, label, selected): docloop's page, the pages the
    match ranked after it, and "no page"; the reviewer's current choice selected."""
    doc = detail.original.doc
    if doc is None:
        return []
    current = detail.review.page if detail.review and detail.review.page else (
        doc.path or NO_PAGE)
    options = [(doc.path, f"{section_label(doc.path, doc.heading)} (docloop's page)")] \
        if doc.path else []
    options += [(hit.path, hit.label) for hit in page_choices(detail.original)]
    options.append((NO_PAGE, "no page covers this (suggest a new page)"))
    if current not in {value for value, _ in options}:  # a page typed in, kept on resave
        options.insert(0, (current, f"{current} (the reviewer's page)"))
    return [(value, label, value == current) for value, label in options]


def _next_pages(insight: Insight) -> list[tuple[str, str]]:
    """The pages the insight's ticket names after its own (`path › heading`, section URL):
    the next candidates, or for `missing` the nearest pages (ticket_text does the same)."""
    doc = insight.doc
    if doc is None:
        return []
    hits = doc.runners_up() if doc.path else doc.runners_up(NEAREST)
    return [(h.label, h.section_url) for h in hits]
