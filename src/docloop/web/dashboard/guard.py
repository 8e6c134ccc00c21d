"""The desk's door: authentication, the CSRF cookie and security headers.

An ASGI middleware around the dashboard only (the webhook and `/healthz`
routes sit before it and keep their own rules). Every response it passes
gets the security headers; a request that proves no token gets 401 with the
login form as its body; a POST without the CSRF cookie is refused with 403
before any handler runs (handlers then check the form's signed field,
`csrf_form`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from docloop.web.dashboard.auth import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    Gate,
    new_nonce,
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: no script runs on the desk at all; styles and images only from itself
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}
PUBLIC_PATHS = ("/login", "/static/")


class DeskGuard:
    """ASGI middleware: who is asking, the CSRF nonce, and the headers on every answer."""

    def __init__(self, app: ASGIApp, gate: Gate,
                 refuse: Callable[[Request, int], Response]) -> None:
        self.app = app
        self.gate = gate
        self.refuse = refuse  # renders the 401 (login form) and 403 pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        nonce = request.cookies.get(CSRF_COOKIE) or ""
        fresh = len(nonce) < 32
        if fresh:
            nonce = new_nonce()
        state = scope.setdefault("state", {})
        state["csrf_nonce"] = nonce
        state["csrf"] = self.gate.csrf_field(nonce)
        send = _decorated(send, nonce if fresh else None)
        state["actor"] = self.gate.actor(request.headers.get("authorization"),
                                         request.cookies.get(SESSION_COOKIE))
        public = scope["path"] == "/login" or scope["path"].startswith("/static/")
        if state["actor"] is None and not public:
            await self.refuse(request, 401)(scope, receive, send)
            return
        if scope["method"] == "POST" and fresh:  # no CSRF cookie: no form of ours sent this
            await self.refuse(request, 403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _decorated(send: Send, new_nonce_value: str | None) -> Send:
    """`send` that adds the security headers (and a new CSRF cookie) to the response."""

    async def sending(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                headers[name] = value
            if new_nonce_value:
                headers.append("set-cookie", cookie(CSRF_COOKIE, new_nonce_value))
        await send(message)

    return sending


def cookie(name: str, value: str, max_age: int | None = None) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Strict, for the whole site."""
    age = f"; Max-Age={max_age}" if max_age is not None else ""
    return f"{name}={value}; Path=/; HttpOnly; SameSite=Strict{age}"


async def csrf_form(request: Request, gate: Gate) -> FormData:
    """The POSTed form, once its CSRF field proves it came from a desk page (else 403)."""
    form = await request.form()
    field = form.get(CSRF_FIELD)
    if not gate.csrf_ok(request.state.csrf_nonce, field if isinstance(field, str) else None):
        raise HTTPException(403, "this form is stale or did not come from the review desk: "
                                 "reload the page and submit it again")
    return form
