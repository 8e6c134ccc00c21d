"""The Linear webhook receiver's whole decision, independent of any web framework.

`receive_linear_webhook` takes what any host hands over — raw body bytes,
headers, the current time, the signing secret and a way to open the record
store — and returns (HTTP status, JSON body). `docloop serve` (starlette) and
a future AWS Lambda handler are thin adapters around it, so both check the
same things in the same order, before anything is written: a signing secret
is configured (503), the body fits the cap (413), `Linear-Signature` is the
hex HMAC-SHA256 of the raw body (401), the body is a JSON object (400),
`webhookTimestamp` is epoch milliseconds (400) within 60 s of now (401), and
`Linear-Delivery` is present, printable and at most 200 characters (400).
Then the delivery id is claimed and the event applied in one atomic block of
the record store, so a replay changes nothing. A store failure is a 503
(Linear retries); no input yields a 500.

The delivery id is required rather than replaced by a hash of the body: a
retry that passes the 60 s window carries a fresh `webhookTimestamp`, so its
body (and any hash of it) differs from the first attempt's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from docloop.backends.records.base import RecordStore
from docloop.errors import DocloopError
from docloop.stages.webhooks import apply_linear_webhook

log = logging.getLogger("docloop.web")
MAX_BODY = 256 * 1024
MAX_SKEW_S = 60.0
MAX_DELIVERY_ID = 200
RETRY_LATER = {"error": "temporary failure, retry later"}

TOO_LARGE = f"body larger than {MAX_BODY} bytes"

OpenRecords = Callable[[], AbstractContextManager[RecordStore]]


@dataclass(frozen=True)
class WebhookReply:
    """What to answer: an HTTP status code and a JSON object."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


class Rejected(Exception):
    """A request refused with a status code and a reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def receive_linear_webhook(body: bytes, headers: Mapping[str, str], now: datetime,
                           secret: str | None, open_records: OpenRecords) -> WebhookReply:
    """Verify, de-duplicate and apply one Linear delivery; headers match case-insensitively."""
    lower = {k.lower(): v for k, v in headers.items()}
    delivery = lower.get("linear-delivery", "")
    try:
        payload = verify(body, lower, now, secret)
        key = delivery_id(delivery)
        result = _apply(open_records, key, payload, now)
    except Rejected as exc:
        return _rejected(exc, delivery)
    except DocloopError as exc:  # e.g. the database is not docloop's: one line, no trace
        log.error("webhook failed delivery=%r: %s; Linear will retry", delivery or "-", exc)
        return WebhookReply(503, dict(RETRY_LATER))
    except Exception:  # a server-side fault (e.g. the database), never the input's
        log.exception("webhook failed delivery=%r; Linear will retry", delivery or "-")
        return WebhookReply(503, dict(RETRY_LATER))
    log.info("webhook delivery=%r type=%r action=%r outcome=%s ticket=%s reason=%s",
             delivery or "-", payload.get("type"), payload.get("action"), result["status"],
             result.get("ticket") or "-", result.get("reason", ""))
    return WebhookReply(200, result)


def oversized(headers: Mapping[str, str]) -> WebhookReply:
    """The answer for a body a host stopped reading at the cap (413), logged the same way."""
    lower = {k.lower(): v for k, v in headers.items()}
    return _rejected(Rejected(413, TOO_LARGE), lower.get("linear-delivery", ""))


def _rejected(exc: Rejected, delivery: str) -> WebhookReply:
    log.warning("webhook rejected status=%s delivery=%r reason=%s", exc.status,
                delivery[:MAX_DELIVERY_ID] or "-", exc.reason)
    return WebhookReply(exc.status, {"error": exc.reason})


def verify(body: bytes, headers: Mapping[str, str], now: datetime,
           secret: str | None) -> dict[str, Any]:
    """The signed, fresh JSON object in `body` (lower-case `headers`); Rejected otherwise."""
    if len(body) > MAX_BODY:
        raise Rejected(413, TOO_LARGE)
    if secret is None:
        raise Rejected(503, "LINEAR_WEBHOOK_SECRET is not configured on this server")
    signature = headers.get("linear-signature", "").strip().lower()
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # compare_digest refuses non-ASCII str; such a header cannot be a hex digest anyway
    if not signature.isascii() or not hmac.compare_digest(signature, expected):
        raise Rejected(401, "missing or invalid Linear-Signature")
    payload = _json_object(body)
    sent = payload.get("webhookTimestamp")
    stamp_ms = _epoch_ms(sent if sent is not None else headers.get("linear-timestamp"))
    skew = abs(now.timestamp() - stamp_ms / 1000.0)
    if not skew <= MAX_SKEW_S:
        raise Rejected(401, f"webhookTimestamp is {skew:.0f} s from now (limit 60 s)")
    return payload


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Rejected(400, "body is not valid JSON") from None
    except RecursionError:
        raise Rejected(400, "body is JSON nested too deeply") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "body is not a JSON object")
    return payload


def _apply(open_records: OpenRecords, key: str, payload: dict[str, Any],
           now: datetime) -> dict[str, Any]:
    """Claim the delivery and apply the event together: a replay changes nothing."""
    with open_records() as store, store.atomic():
        if not store.claim_delivery(key, now):
            return {"status": "duplicate", "reason": "delivery already processed"}
        result = apply_linear_webhook(store, payload, now)
    return {"status": result.outcome, "reason": result.reason,
            "ticket": result.ticket_id, "ticket_status": result.status}


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


def delivery_id(value: str) -> str:
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
