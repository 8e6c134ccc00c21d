"""`docloop serve`: the Linear webhook receiver, a health check and the review desk.

A thin starlette adapter: POST /webhooks/linear reads the body (capped while
streaming, 413) and hands bytes, headers and the time to
`docloop.webhook_receiver.receive_linear_webhook`, which makes every decision
(signature, replay window, delivery de-duplication, status application) and
is the same function a Lambda handler calls. On the SQLite store it runs on
the server's one delivery writer (`web.deliveries`): one durable connection,
deliveries that arrive together committed together, each answered once it
is on disk. On another store (DynamoDB: a conditional write per delivery,
nothing to group) and for the other pages a record store is built through
the registry per request. With `discord_reply_on_done`, a delivery that made
a ticket done wakes the reply worker (`web.replies`) once it is answered:
the Discord replies go out from their own thread, never on the request path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime
from typing import Any

from docloop import registry
from docloop.backends.records.base import RecordStore
from docloop.backends.replies.base import Replier
from docloop.config import Settings
from docloop.errors import ConfigError, DocloopError, MissingDependencyError
from docloop.web.deliveries import DeliveryWriter
from docloop.web.replies import ReplySchedule, ReplyWorker, owes_replies
from docloop.webhook_receiver import MAX_BODY, WebhookReply, oversized, receive_linear_webhook

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Mount, Route

    from docloop.web.dashboard import create_desk, desk_gate
    from docloop.web.dashboard.auth import check_bind
except ImportError:  # pragma: no cover - exercised only without the web extra
    Starlette = None  # type: ignore[assignment,misc]

log = logging.getLogger("docloop.web")


class _TooLarge(Exception):
    """The streamed body passed the cap before it was fully read."""


def create_app(settings: Settings, now: Callable[[], datetime] | None = None, *,
               replier: Replier | None = None,
               reply_schedule: ReplySchedule | None = None) -> Any:
    """The ASGI app; `now`, the Discord `replier` and its schedule are injectable so tests
    control the replay window and never wait for real."""
    if Starlette is None:
        raise MissingDependencyError("web", "web")
    clock = now or (lambda: datetime.now(UTC))
    replies = _reply_worker(settings, clock, replier, reply_schedule)
    receiver = _Receiver(settings, clock, replies)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        if replies is not None:  # sends what a previous process left pending
            replies.start()
        yield
        if receiver.writer is not None:  # answers what is queued first
            await asyncio.to_thread(receiver.writer.close)
        if replies is not None:
            await asyncio.to_thread(replies.close)

    app = Starlette(routes=[
        Route("/webhooks/linear", receiver.handle, methods=["POST"]),
        Route("/healthz", receiver.health, methods=["GET"]),
        Mount("", app=create_desk(settings, clock)),  # the review desk: its own auth rules
    ], lifespan=lifespan)
    app.state.replies = replies
    return app


def _reply_worker(settings: Settings, clock: Callable[[], datetime], replier: Replier | None,
                  schedule: ReplySchedule | None) -> ReplyWorker | None:
    """The Discord reply worker when `discord_reply_on_done` is on (a missing bot token
    fails here, before the server starts)."""
    if not settings.discord_reply_on_done:
        return None
    return ReplyWorker(settings, replier or registry.build_replier(settings), clock, schedule)


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the app under uvicorn until interrupted (refuses to start without a secret)."""
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("web", "web") from None
    if settings.linear_webhook_secret is None:
        raise ConfigError("set LINEAR_WEBHOOK_SECRET (the webhook's signing secret in Linear) "
                          "before `docloop serve`: unsigned webhooks are never accepted")
    check_bind(host, desk_gate(settings).tokens)  # no token: loopback only
    with _records(settings):  # a bad home fails here
        pass
    # uvloop and httptools when installed (the web extra has them); every delivery is
    # logged by the receiver, so uvicorn's access line would only repeat it
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info",
                access_log=False)


def _records(settings: Settings) -> closing[RecordStore]:
    """A record store for one request, built through the registry and closed afterwards."""
    return closing(registry.build_records(settings))


class _Receiver:
    def __init__(self, settings: Settings, clock: Callable[[], datetime],
                 replies: ReplyWorker | None) -> None:
        self.settings = settings
        self.clock = clock
        self.replies = replies
        secret = settings.linear_webhook_secret
        self.secret = secret.get_secret_value() if secret else None
        self.writer = DeliveryWriter(settings, self.secret) if settings.store == "sqlite" \
            else None

    async def handle(self, request: Request) -> Response:
        try:
            body = await _read_capped(request)
        except _TooLarge:
            reply = oversized(dict(request.headers))
            return JSONResponse(reply.body, status_code=reply.status)
        reply = await self._receive(body, dict(request.headers))
        if self.replies is not None and reply.status == 200 \
                and (ticket := owes_replies(reply.body)) is not None:
            self.replies.wake(ticket)  # committed: the worker sends, off this request
        return JSONResponse(reply.body, status_code=reply.status)

    async def _receive(self, body: bytes, headers: dict[str, str]) -> WebhookReply:
        """Through the delivery writer (SQLite), else with a record store of its own."""
        if self.writer is not None:
            return await asyncio.wrap_future(self.writer.submit(body, headers, self.clock()))
        reply: WebhookReply = await run_in_threadpool(
            receive_linear_webhook, body, headers, self.clock(), self.secret,
            lambda: _records(self.settings))
        return reply

    async def health(self, request: Request) -> Response:
        def check() -> int:
            with _records(self.settings) as store:
                return len(store.all())

        try:
            tickets = await run_in_threadpool(check)
        except DocloopError as exc:
            return _unavailable(exc)
        return JSONResponse({"status": "ok", "tickets": tickets})


def _unavailable(exc: DocloopError) -> Response:
    """The database cannot be used (e.g. not docloop's): 503 and one log line, no trace."""
    log.error("database unavailable: %s", exc)
    return JSONResponse({"status": "error", "error": str(exc)}, status_code=503)


async def _read_capped(request: Request) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
