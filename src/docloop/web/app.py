"""`docloop serve`: the Linear webhook receiver, a health check and a small dashboard.

POST /webhooks/linear checks, in order, before anything is written: a signing
secret is configured (503), the body fits the cap (413), `Linear-Signature` is
the hex HMAC-SHA256 of the raw body (401), the body is a JSON object (400),
`webhookTimestamp` is epoch milliseconds (400) within 60 s of now (401), and
`Linear-Delivery` is present, printable and at most 200 characters (400).
A signature that is not ASCII hex is simply wrong (401); JSON nested too deep
to parse is a bad body (400), not a server fault.
Then the delivery id is claimed and the event applied in one transaction, so
a replay changes nothing. Every outcome is one structured log line; no input
yields a 500.

The delivery id is required rather than replaced by a hash of the body:
Linear documents it as a UUID identifying each payload, sent with every
delivery, while a retry (minutes to hours later) that passes the 60 s window
must carry a fresh `webhookTimestamp`, so its body, and any body hash,
differs from the first attempt's: a hash would only catch byte-identical
replays.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from docloop import db
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.config import Settings
from docloop.errors import ConfigError, DocloopError, MissingDependencyError
from docloop.stages.webhooks import apply_linear_webhook

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route
except ImportError:  # pragma: no cover - exercised only without the web extra
    Starlette = None  # type: ignore[assignment,misc]

log = logging.getLogger("docloop.web")
MAX_BODY = 256 * 1024
MAX_SKEW_S = 60.0
MAX_DELIVERY_ID = 200


class Rejected(Exception):
    """A request refused with a status code and a reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def create_app(settings: Settings, now: Callable[[], datetime] | None = None) -> Any:
    """The ASGI app; `now` is injectable so tests control the replay window."""
    if Starlette is None:
        raise MissingDependencyError("web", "web")
    clock = now or (lambda: datetime.now(UTC))
    receiver = _Receiver(settings, clock)
    return Starlette(routes=[
        Route("/webhooks/linear", receiver.handle, methods=["POST"]),
        Route("/healthz", receiver.health, methods=["GET"]),
        Route("/", receiver.dashboard, methods=["GET"]),
    ])


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the app under uvicorn until interrupted (refuses to start without a secret)."""
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("web", "web") from None
    if settings.linear_webhook_secret is None:
        raise ConfigError("set LINEAR_WEBHOOK_SECRET (the webhook's signing secret in Linear) "
                          "before `docloop serve`: unsigned webhooks are never accepted")
    SQLiteRecordStore(db.connect(settings.db_path)).conn.close()  # a bad home fails here
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


class _Receiver:
    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock
        secret = settings.linear_webhook_secret
        self.secret = secret.get_secret_value().encode() if secret else None

    async def handle(self, request: Request) -> Response:
        delivery = request.headers.get("linear-delivery", "")
        try:
            body = await _read_capped(request)
            payload = self._verify(request, body)
            key = _delivery_id(delivery)
            result = await run_in_threadpool(self._apply, key, payload)
        except Rejected as exc:
            log.warning("webhook rejected status=%s delivery=%r reason=%s", exc.status,
                        delivery[:MAX_DELIVERY_ID] or "-", exc.reason)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        except DocloopError as exc:  # e.g. the database is not docloop's: one line, no trace
            log.error("webhook failed delivery=%r: %s; Linear will retry", delivery or "-", exc)
            return JSONResponse({"error": "temporary failure, retry later"}, status_code=503)
        except Exception:  # a server-side fault (e.g. the database), never the input's
            log.exception("webhook failed delivery=%r; Linear will retry", delivery or "-")
            return JSONResponse({"error": "temporary failure, retry later"}, status_code=503)
        log.info("webhook delivery=%r type=%r action=%r outcome=%s ticket=%s reason=%s",
                 delivery or "-", payload.get("type"), payload.get("action"), result["status"],
                 result.get("ticket") or "-", result.get("reason", ""))
        return JSONResponse(result)

    def _verify(self, request: Request, body: bytes) -> dict[str, Any]:
        if self.secret is None:
            raise Rejected(503, "LINEAR_WEBHOOK_SECRET is not configured on this server")
        signature = request.headers.get("linear-signature", "").strip().lower()
        expected = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        # compare_digest refuses non-ASCII str; such a header cannot be a hex digest anyway
        if not signature.isascii() or not hmac.compare_digest(signature, expected):
            raise Rejected(401, "missing or invalid Linear-Signature")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise Rejected(400, "body is not valid JSON") from None
        except RecursionError:
            raise Rejected(400, "body is JSON nested too deeply") from None
        if not isinstance(payload, dict):
            raise Rejected(400, "body is not a JSON object")
        sent = payload.get("webhookTimestamp")
        self._check_timestamp(sent if sent is not None
                              else request.headers.get("linear-timestamp"))
        return payload

    def _check_timestamp(self, value: Any) -> None:
        stamp_ms = _epoch_ms(value)
        skew = abs(self.clock().timestamp() - stamp_ms / 1000.0)
        if not skew <= MAX_SKEW_S:
            raise Rejected(401, f"webhookTimestamp is {skew:.0f} s from now (limit 60 s)")

    def _apply(self, key: str, payload: dict[str, Any]) -> dict[str, Any]:
        conn = db.connect(self.settings.db_path)
        try:
            store = SQLiteRecordStore(conn)
            now = self.clock()
            with db.transaction(conn):
                if not store.claim_delivery(key, now):
                    return {"status": "duplicate", "reason": "delivery already processed"}
                result = apply_linear_webhook(store, payload, now)
            return {"status": result.outcome, "reason": result.reason,
                    "ticket": result.ticket_id, "ticket_status": result.status}
        finally:
            conn.close()

    async def health(self, request: Request) -> Response:
        def check() -> int:
            conn = db.connect(self.settings.db_path)
            try:
                return len(SQLiteRecordStore(conn).all())
            finally:
                conn.close()

        try:
            tickets = await run_in_threadpool(check)
        except DocloopError as exc:
            return _unavailable(exc)
        return JSONResponse({"status": "ok", "tickets": tickets})

    async def dashboard(self, request: Request) -> Response:
        def rows() -> list[str]:
            conn = db.connect(self.settings.db_path)
            try:
                return [_row(r) for r in SQLiteRecordStore(conn).all()]
            finally:
                conn.close()

        try:
            body = "\n".join(await run_in_threadpool(rows))
        except DocloopError as exc:
            return _unavailable(exc)
        return HTMLResponse(_PAGE.format(rows=body))


def _unavailable(exc: DocloopError) -> Response:
    """The database cannot be used (e.g. not docloop's): 503 and one log line, no trace."""
    log.error("database unavailable: %s", exc)
    return JSONResponse({"status": "error", "error": str(exc)}, status_code=503)


def _epoch_ms(value: Any) -> float:
    """`webhookTimestamp` as Linear sends it: a number of epoch milliseconds.

    The header form (`Linear-Timestamp`) is the same number as digits. Anything
    else — an ISO date, a boolean, NaN — is refused rather than guessed at: the
    schema types the field `Float!`, and the official SDK reads no other form.
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return float(value)
    raise Rejected(400, "webhookTimestamp (or Linear-Timestamp) is missing or not a number "
                        "of epoch milliseconds")


def _delivery_id(value: str) -> str:
    """The `Linear-Delivery` header, the de-duplication key, checked before use."""
    if not value.strip():
        raise Rejected(400, "missing Linear-Delivery header (Linear sends a unique id with "
                            "every delivery; it is the de-duplication key)")
    if len(value) > MAX_DELIVERY_ID:
        raise Rejected(400, f"Linear-Delivery header is longer than {MAX_DELIVERY_ID} "
                            "characters")
    if not all("!" <= c <= "~" for c in value):
        raise Rejected(400, "Linear-Delivery header has characters other than printable "
                            "ASCII")
    return value


async def _read_capped(request: Request) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise Rejected(413, f"body larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Rejected(413, f"body larger than {MAX_BODY} bytes")
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
