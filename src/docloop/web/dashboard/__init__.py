"""The review desk: the server-rendered dashboard of `docloop serve`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from docloop.config import Settings
from docloop.errors import (
    BackendError,
    ConflictError,
    DocloopError,
    NotFoundError,
    UserError,
)
from docloop.web.dashboard.actions import Actions
from docloop.web.dashboard.auth import Gate, parse_tokens
from docloop.web.dashboard.guard import DeskGuard
from docloop.web.dashboard.pages import Pages, templates
from docloop.web.dashboard.store_desk import StateCache

__all__ = ["create_desk", "desk_gate"]

_HEADINGS = {400: "That request cannot be answered", 401: "Sign in", 403: "Refused",
             404: "Not found", 405: "Not allowed", 409: "Not possible now",
             502: "The tracker did not answer", 503: "The database cannot be used"}
#: docloop's errors as HTTP statuses, most specific first
_STATUS_OF: tuple[tuple[type[DocloopError], int], ...] = (
    (NotFoundError, 404), (ConflictError, 409), (UserError, 400), (BackendError, 502))


def desk_gate(settings: Settings) -> Gate:
    """The gate the configured `dashboard_token` makes (ConfigError when it is unusable)."""
    secret = settings.dashboard_token
    return Gate(parse_tokens(secret.get_secret_value() if secret else None))


def create_desk(settings: Settings, clock: Callable[[], datetime]) -> DeskGuard:
    """The dashboard as one ASGI app, to mount after the webhook and health routes."""
    gate = desk_gate(settings)
    state_cache = StateCache()  # the list's state on stores without SQL (store_desk)
    pages = Pages(settings, clock, gate, templates(), state_cache)
    actions = Actions(settings, clock, gate, state_cache)

    def refuse(request: Request, status: int) -> Response:
        if status == 401:
            response = pages.login_page(request, 401, next_path=request.url.path)
            response.headers["www-authenticate"] = 'Bearer realm="docloop review desk"'
            return response
        return _error_page(pages, request, status,
                           "this form did not come from the review desk: reload the page "
                           "and submit it again")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error_page(pages, request, exc.status_code, str(exc.detail))

    async def docloop_error(request: Request, exc: Exception) -> Response:
        status = next((code for kind, code in _STATUS_OF if isinstance(exc, kind)), 503)
        return _error_page(pages, request, status, str(exc))

    routes = [
        Route("/", pages.insights, methods=["GET"]),
        Route("/insights/{insight_id}", pages.insight, methods=["GET"]),
        Route("/runs", pages.runs, methods=["GET"]),
        Route("/runs/{run_id}", pages.run, methods=["GET"]),
        Route("/insights/{insight_id}/{action}", actions.handle, methods=["POST"]),
        Route("/coverage", pages.coverage, methods=["GET"]),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("docloop.web.dashboard", "static")])),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error,
                                                       DocloopError: docloop_error})
    return DeskGuard(app, gate, refuse)


def _error_page(pages: Pages, request: Request, status: int, message: str) -> Response:
    return pages.render(request, "error.html", status, heading=_HEADINGS.get(status, "Error"),
                        message=message)
