"""`docloop serve`: the Linear webhook receiver, a health check and a small dashboard.

A thin starlette adapter: POST /webhooks/linear reads the body (capped while
streaming, 413) and hands bytes, headers and the time to
`docloop.webhook_receiver.receive_linear_webhook`, which makes every decision
(signature, replay window, delivery de-duplication, status application) and
is the same function a Lambda handler calls. It runs on the server's one
delivery writer (`web.deliveries`): one durable connection, deliveries that
arrive together committed together, each answered once it is on disk. The
other pages build a record store through the registry per request.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime
from typing import Any

from docloop import registry
from docloop.backends.records.base import RecordStore
from docloop.config import Settings
from docloop.errors import ConfigError, DocloopError, MissingDependencyError
from docloop.web.deliveries import DeliveryWriter
from docloop.webhook_receiver import MAX_BODY, oversized

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route
except ImportError:  # pragma: no cover - exercised only without the web extra
    Starlette = None  # type: ignore[assignment,misc]

log = logging.getLogger("docloop.web")


class _TooLarge(Exception):
    """The streamed body passed the cap before it was fully read."""


def create_app(settings: Settings, now: Callable[[], datetime] | None = None) -> Any:
    """The ASGI app; `now` is injectable so tests control the replay window."""
    if Starlette is None:
        raise MissingDependencyError("web", "web")
    clock = now or (lambda: datetime.now(UTC))
    receiver = _Receiver(settings, clock)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(receiver.writer.close)  # answers what is queued first

    return Starlette(routes=[
        Route("/webhooks/linear", receiver.handle, methods=["POST"]),
        Route("/healthz", receiver.health, methods=["GET"]),
        Route("/", receiver.dashboard, methods=["GET"]),
    ], lifespan=lifespan)


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the app under uvicorn until interrupted (refuses to start without a secret)."""
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("web", "web") from None
    if settings.linear_webhook_secret is None:
        raise ConfigError("set LINEAR_WEBHOOK_SECRET (the webhook's signing secret in Linear) "
                          "before `docloop serve`: unsigned webhooks are never accepted")
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
    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock
        secret = settings.linear_webhook_secret
        self.writer = DeliveryWriter(settings, secret.get_secret_value() if secret else None)

    async def handle(self, request: Request) -> Response:
        try:
            body = await _read_capped(request)
        except _TooLarge:
            reply = oversized(dict(request.headers))
            return JSONResponse(reply.body, status_code=reply.status)
        answer = self.writer.submit(body, dict(request.headers), self.clock())
        reply = await asyncio.wrap_future(answer)
        return JSONResponse(reply.body, status_code=reply.status)

    async def health(self, request: Request) -> Response:
        def check() -> int:
            with _records(self.settings) as store:
                return len(store.all())

        try:
            tickets = await run_in_threadpool(check)
        except DocloopError as exc:
            return _unavailable(exc)
        return JSONResponse({"status": "ok", "tickets": tickets})

    async def dashboard(self, request: Request) -> Response:
        def rows() -> list[str]:
            with _records(self.settings) as store:
                return [_row(r) for r in store.all()]

        try:
            body = "\n".join(await run_in_threadpool(rows))
        except DocloopError as exc:
            return _unavailable(exc)
        return HTMLResponse(_PAGE.format(rows=body))


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


def _row(record: Any) -> str:
    applied = [change for change in record.history if change.applied]
    last = applied[-1] if applied else None
    change = f"{last.status} via {last.source} {last.at:%Y-%m-%d %H:%M}" if last else ""
    latest = record.history[-1] if record.history else None
    if latest is not None and not latest.applied:  # say why the status did not follow
        change += f" (then ignored: {latest.status} via {latest.source}, {latest.note})"
    cells = [record.identifier or record.id, record.status, record.title, record.doc_path or "-",
             str(record.conversations), str(record.users), f"{record.updated_at:%Y-%m-%d %H:%M}",
             change]
    return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>docloop tickets</title>
<style>body{{font-family:sans-serif;margin:2em}}
td,th{{padding:4px 8px;border-bottom:1px solid #ddd}}</style></head>
<body><h1>docloop tickets</h1><table>
<tr><th>ticket</th><th>status</th><th>title</th><th>page</th><th>conversations</th>
<th>users</th><th>updated</th><th>last change</th></tr>
{rows}
</table></body></html>"""
