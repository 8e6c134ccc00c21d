"""A small GraphQL client for Linear with typed errors and rate-limit handling.

Linear answers GraphQL errors with HTTP 200 or 400 and an `errors` list whose
`extensions.code` says what happened (`RATELIMITED`, `AUTHENTICATION_ERROR`,
…); 429 and `X-RateLimit-*-Remaining: 0` also mean "wait". A look-up of an
entity that does not exist is an error too, not a null (`issue(id:)` is typed
`Issue!`): HTTP 200, `"data": null`, `INPUT_ERROR` "Entity not found: Issue"
(API-FACTS §3). It becomes `LinearNotFound`, which callers that look before
they create read as "absent"; every other error stays an error. A rejected key
becomes `LinearAuthError` (a configuration error), and the client then sends
nothing more: every later request would be refused the same way. Personal API keys
go in the `Authorization` header as they are (no `Bearer`). Queries are
retried on transient failures; mutations are not retried here — the tracker
decides, because a create that timed out may have happened.

Waiting is also pre-emptive: when any answer, even a successful one, says a
budget is spent (`Remaining: 0`) and when it resets, the next request is held
until then instead of being sent to be refused. A refused mutation would cost
a look-up and a retry; a held one costs nothing. Every wait goes through the
injected `sleep` and `clock`, so tests never sleep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from tenacity import RetryCallState, retry, retry_if_exception_type, stop_after_attempt

from docloop.errors import ConfigError, PermanentError, TransientError

log = logging.getLogger("docloop.linear")
MAX_WAIT_S = 60.0
AUTH_HINT = ("check LINEAR_API_KEY (a personal API key, sent without 'Bearer') and that it "
             "can access LINEAR_TEAM_ID")
AUTH_CODES = {"AUTHENTICATION_ERROR", "FORBIDDEN", "UNAUTHENTICATED"}
#: (remaining, reset) header pairs; resets are UTC epoch milliseconds (API-FACTS §3).
BUDGETS = (
    ("x-ratelimit-requests-remaining", "x-ratelimit-requests-reset"),
    ("x-ratelimit-complexity-remaining", "x-ratelimit-complexity-reset"),
    ("x-ratelimit-endpoint-requests-remaining", "x-ratelimit-endpoint-requests-reset"),
)

NOT_FOUND = "Entity not found: "


class LinearNotFound(PermanentError):
    """Linear has no such entity (`Entity not found: <entity>`), at `path` of the answer."""

    def __init__(self, message: str, entity: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.entity = entity
        self.path = path


class LinearAuthError(ConfigError, PermanentError):
    """Linear refused the API key: a setting to fix (exit 2), not worth retrying."""


class LinearClient:
    """POSTs GraphQL documents to Linear and returns `data`, or raises a typed error."""

    def __init__(self, http: httpx.Client, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.http = http
        self.sleep = sleep
        self.clock = clock
        self._not_before = 0.0  # epoch seconds before which no request is sent
        self._refused: LinearAuthError | None = None  # the key was rejected: send nothing

    def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A read: retried on rate limits, 5xx and timeouts (bounded)."""

        @retry(retry=retry_if_exception_type(TransientError), stop=stop_after_attempt(5),
               wait=self._wait, sleep=self.sleep, reraise=True)
        def attempt() -> dict[str, Any]:
            return self.execute(document, variables)

        return attempt()

    def execute(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request, no retry (but held while a spent budget has not reset)."""
        if self._refused is not None:
            raise self._refused
        self._wait_for_budget()
        try:
            response = self.http.post("", json={"query": document, "variables": variables or {}})
        except httpx.TimeoutException as exc:
            raise TransientError(f"Linear did not answer in time: {exc}") from None
        except httpx.TransportError as exc:
            raise TransientError(f"cannot reach Linear: {exc}") from None
        self._note_budget(response)
        try:
            return _data(response, self.clock())
        except LinearAuthError as exc:
            self._refused = exc
            raise

    def _note_budget(self, response: httpx.Response) -> None:
        """Remember when a budget this answer reports as spent resets."""
        now = self.clock()
        for remaining, reset in BUDGETS:
            if response.headers.get(remaining, "").strip() != "0":
                continue
            seconds = _until(response.headers.get(reset), now)
            if seconds:
                self._not_before = max(self._not_before, now + seconds)

    def _wait_for_budget(self) -> None:
        """Hold the next request until the spent budget resets (at most MAX_WAIT_S).

        After a capped wait the request goes out; if the budget is still spent,
        its answer says so again and the next request waits again.
        """
        delay = self._not_before - self.clock()
        self._not_before = 0.0
        if delay > 0:
            seconds = min(delay, MAX_WAIT_S)
            log.info("Linear rate-limit budget spent; waiting %.1f s for its reset", seconds)
            self.sleep(seconds)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        seconds = min(MAX_WAIT_S, hinted if hinted is not None else 0.5 * 2 ** state.attempt_number)
        log.warning("Linear busy (%s); retrying in %.1f s", exc, seconds)
        return seconds


def _data(response: httpx.Response, now: float) -> dict[str, Any]:
    if response.status_code == 401:
        raise LinearAuthError(AUTH_HINT)
    if response.status_code == 429 or _refused_for_budget(response):
        raise TransientError("Linear rate limit reached", _reset_after(response, now))
    if response.status_code >= 500:
        raise TransientError(f"Linear answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise TransientError(f"Linear sent a non-JSON answer ({response.status_code})") from None
    errors = body.get("errors") or []
    if errors:
        _raise_for(errors, response, now)
    data: dict[str, Any] = body.get("data") or {}
    return data


def _raise_for(errors: list[dict[str, Any]], response: httpx.Response, now: float) -> None:
    first = errors[0]
    code = (first.get("extensions") or {}).get("code", "")
    message = first.get("message", "GraphQL error")
    if code == "RATELIMITED":
        raise TransientError(f"Linear rate limit: {message}", _reset_after(response, now))
    if code in AUTH_CODES:
        raise LinearAuthError(f"Linear refused the request ({code}: {message}); {AUTH_HINT}")
    if code == "INPUT_ERROR" and message.startswith(NOT_FOUND):
        entity = message.removeprefix(NOT_FOUND).split(":")[0].strip()
        raise LinearNotFound(f"Linear has no such {entity}: {message}", entity,
                             tuple(first.get("path") or ()))
    raise PermanentError(f"Linear error {code or ''}: {message}".replace("  ", " "))


def _refused_for_budget(response: httpx.Response) -> bool:
    """A refusal (not 200) sent while a request or complexity budget is spent."""
    if response.status_code == 200:
        return False
    return "0" in (response.headers.get("x-ratelimit-requests-remaining"),
                   response.headers.get("x-ratelimit-complexity-remaining"))


def _reset_after(response: httpx.Response, now: float) -> float | None:
    """Seconds until the limit resets, from Retry-After or X-RateLimit-*-Reset (epoch ms)."""
    retry_after = response.headers.get("retry-after")
    if retry_after and retry_after.isascii() and retry_after.replace(".", "", 1).isdigit():
        return float(retry_after)
    for _, name in BUDGETS:
        seconds = _until(response.headers.get(name), now)
        if seconds is not None:
            return seconds
    return None


def _until(reset_ms: str | None, now: float) -> float | None:
    """Seconds from `now` until an epoch-millisecond reset header (0 if past)."""
    value = (reset_ms or "").strip()
    if not (value.isascii() and value.isdigit()):
        return None
    return max(0.0, int(value) / 1000 - now)
