"""The desk's review actions: accept, reject, edit, merge — forms that call `docloop.review`.

Each action checks the form's CSRF field first (403 otherwise), then calls
the same review function the CLI calls, as the signed-in token's name, in a
worker thread (it takes the home's run lock and may file a ticket through
the tracker). Success redirects back to the insight page (POST, redirect,
GET), so a reload never repeats a decision; a refused decision is an error
page saying why (404 unknown, 409 contradicts the state, 400 bad input).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from docloop import registry, review
from docloop.config import Settings
from docloop.errors import InputError
from docloop.stores import Stores
from docloop.web.dashboard.auth import Gate
from docloop.web.dashboard.guard import csrf_form
from docloop.web.dashboard.store_desk import StateCache

MAX_FIELD_CHARS = 20_000

#: a review call made with the form's fields
Call = Callable[[Settings, Stores, str, str, datetime, FormData], Any]


def _accept(settings: Settings, stores: Stores, insight_id: str, actor: str,
            now: datetime, form: FormData) -> Any:
    return review.accept(settings, stores, insight_id, actor, now)


def _reject(settings: Settings, stores: Stores, insight_id: str, actor: str,
            now: datetime, form: FormData) -> Any:
    return review.reject(settings, stores, insight_id, actor, now, reason=_text(form, "reason"))


def _edit(settings: Settings, stores: Stores, insight_id: str, actor: str,
          now: datetime, form: FormData) -> Any:
    title = _text(form, "title") or None
    suggestion = _text(form, "suggestion") or None
    page = _text(form, "other_page") or _text(form, "page") or None  # a typed page wins
    return review.edit(settings, stores, insight_id, actor, now, title=title,
                       suggestion=suggestion, page=page)


def _merge(settings: Settings, stores: Stores, insight_id: str, actor: str,
           now: datetime, form: FormData) -> Any:
    other = _text(form, "other")
    if not other:
        raise InputError("pick the insight to merge into this one")
    return review.merge(settings, stores, insight_id, other, actor, now)


#: action name -> (its review call, the notice the page shows after it: fixed text, never
#: taken from the query string, so a link cannot make the desk say something else)
ACTIONS: dict[str, tuple[Call, str]] = {
    "accept": (_accept, "Accepted: the ticket is filed."),
    "reject": (_reject, "Rejected."),
    "edit": (_edit, "Saved: the ticket will carry the new title, suggestion and page."),
    "merge": (_merge, "Merged."),
}


def notice(action: str | None) -> str | None:
    """What the page says after `action` succeeded (None for anything else)."""
    return ACTIONS[action][1] if action in ACTIONS else None


class Actions:
    """POST /insights/{id}/{action} for the actions above."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime], gate: Gate,
                 state_cache: StateCache) -> None:
        self.settings = settings
        self.clock = clock
        self.gate = gate
        self.state_cache = state_cache  # the list's cached state, stale after a decision

    async def handle(self, request: Request) -> Response:
        insight_id = request.path_params["insight_id"]
        name = request.path_params["action"]
        form = await csrf_form(request, self.gate)
        if name not in ACTIONS:
            raise InputError(f"unknown action '{name}': use {', '.join(ACTIONS)}")
        call = ACTIONS[name][0]
        actor, now = request.state.actor, self.clock()

        def work() -> Any:
            with registry.open_stores(self.settings) as stores:
                return call(self.settings, stores, insight_id, actor, now, form)

        try:
            item = await run_in_threadpool(work)
        finally:  # even a failed accept may have filed the ticket before it failed
            self.state_cache.clear()
        target = f"/insights/{quote(item.id, safe='')}?{urlencode({'done': name})}"
        return RedirectResponse(target, status_code=303)


def _text(form: FormData, name: str) -> str:
    """A text field, capped (a form is typed by a person, not a megabyte paste)."""
    value = form.get(name, "")
    if not isinstance(value, str):
        raise InputError(f"field '{name}' must be text, not a file")
    if len(value) > MAX_FIELD_CHARS:
        raise InputError(f"field '{name}' is longer than {MAX_FIELD_CHARS} characters")
    return value.strip()
