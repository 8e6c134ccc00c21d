"""A small, rate-limit-aware HTTP layer for the Discord REST API (GET, and POST for replies).

Why hand-written: the Discord client libraries (discord.py, hikari, …) are built
around the Gateway and async event loops; docloop only needs a few paged GETs.
This module keeps Discord's rules in one place so the source stays readable:

* per-bucket state from `X-RateLimit-*` headers: when a bucket reports
  `Remaining: 0`, the next request on it waits until its reset (clamped, since
  Discord sometimes reports absurd reset times);
* 429: wait `retry_after` (body, else the `Retry-After` header); a global 429
  blocks every request, a user/shared one only its bucket;
* never more than 50 requests in any second (Discord's global limit), so a
  large guild is not hammered even when buckets report plenty remaining;
* 5xx and timeouts: retried with exponential backoff, a bounded number of times;
* 401/403/404: raised at once as `PermanentError` (403 `DiscordForbidden`,
  404 `DiscordNotFound`, which a guild-wide read skips) saying which token,
  permission or id is wrong — retrying them only counts towards Cloudflare's
  invalid-request ban.

Sleep and clock are injectable so tests never wait for real.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from docloop import __version__
from docloop.config import Settings
from docloop.errors import ConfigError, PermanentError, TransientError

log = logging.getLogger(__name__)

USER_AGENT = f"DiscordBot (https://github.com/docloop/docloop, {__version__})"
#: Longest wait honoured for a bucket reset (Discord sometimes reports hours).
MAX_BUCKET_WAIT_S = 60.0
_MAJOR_RESOURCES = ("channels", "guilds", "webhooks")
_SNOWFLAKE = re.compile(r"^\d{5,}$")
CHANNEL_PERMISSIONS = "the bot needs the View Channel and Read Message History permissions there"


class DiscordForbidden(PermanentError):
    """403 on a resource: the bot lacks a permission (callers may skip it)."""


class DiscordBadBody(PermanentError):
    """A success whose body is not JSON (a proxy's page, a truncated answer): a caller
    reading something it can do without (a guild's names) goes on without it."""


class DiscordNotFound(PermanentError):
    """404 on a resource: a wrong id, or a channel or thread deleted since it was listed."""


@dataclass
class _Bucket:
    remaining: int
    reset_at: float


@dataclass
class RetryPolicy:
    """How often and how long to retry; separate budgets for 429s and failures."""

    max_attempts: int = 5
    max_rate_limited: int = 20
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    timeout_s: float = 30.0
    #: Discord's global limit: 50 requests per second per bot.
    global_per_second: int = 50


def token_from(settings: Settings) -> str:
    """The bot token without a pasted `Bot ` prefix; ConfigError when it is missing."""
    if settings.discord_bot_token is None or not settings.discord_bot_token.get_secret_value():
        raise ConfigError(
            "a Discord source needs a bot token: set DISCORD_BOT_TOKEN in the environment "
            "or .env (see docs/discord-bot.md)"
        )
    token = settings.discord_bot_token.get_secret_value().strip()
    return token.removeprefix("Bot ").strip()


def route_key(path: str) -> str:
    """The rate-limit route of a path: ids replaced, except the top-level resource id.

    Discord limits per bucket *and* top-level resource, so `/channels/1/messages`
    and `/channels/2/messages` are limited independently.
    """
    parts = path.strip("/").split("/")
    out: list[str] = []
    for index, part in enumerate(parts):
        major = index == 1 and parts[0] in _MAJOR_RESOURCES
        out.append(part if major or not _SNOWFLAKE.match(part) else "{id}")
    return "/" + "/".join(out)


class DiscordHttp:
    """GET JSON from Discord, honouring rate limits and retrying transient failures."""

    def __init__(
        self,
        settings: Settings,
        client: httpx.Client | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.client = client or self._default_client(settings)
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self._global_until = 0.0
        self._bucket_of_route: dict[str, str] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._recent: deque[float] = deque(maxlen=self.policy.global_per_second)

    def _default_client(self, settings: Settings) -> httpx.Client:
        if not settings.discord_api_base.startswith(("https://", "http://")):
            raise ConfigError(
                f"invalid DOCLOOP_DISCORD_API_BASE '{settings.discord_api_base}': use a full URL "
                "such as https://discord.com/api/v10"
            )
        return httpx.Client(
            base_url=settings.discord_api_base.rstrip("/"),
            headers={"Authorization": f"Bot {token_from(settings)}", "User-Agent": USER_AGENT},
            timeout=self.policy.timeout_s,
        )

    def close(self) -> None:
        self.client.close()

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        what: str = "",
        forbidden_hint: str = CHANNEL_PERMISSIONS,
    ) -> Any:
        """GET `path` and return the decoded JSON body.

        `what` names the resource for error messages (e.g. "channel 123 (#help)");
        `forbidden_hint` says what to grant when Discord answers 403.
        """
        return self._call("GET", path, params, None, what, forbidden_hint)

    def post(self, path: str, body: Mapping[str, Any], *, what: str = "",
             forbidden_hint: str = CHANNEL_PERMISSIONS) -> Any:
        """POST a JSON body with the same rate-limit and retry rules as `get`.

        Retrying a POST is only safe when it is idempotent: callers creating
        messages send a `nonce` with `enforce_nonce`, so Discord returns the
        message a lost response already created instead of posting it twice.
        """
        return self._call("POST", path, None, body, what, forbidden_hint)

    def _call(self, method: str, path: str, params: Mapping[str, Any] | None,
              body: Mapping[str, Any] | None, what: str, forbidden_hint: str) -> Any:
        route = f"{method} {route_key(path)}" if method != "GET" else route_key(path)
        failures = rate_limited = 0
        while True:
            self._wait_for_capacity(route)
            response = self._send(method, path, params, body, failures)
            if response is None:
                failures += 1
                continue
            self._remember_headers(route, response)
            if response.status_code == 429:
                rate_limited += 1
                self._on_rate_limited(route, response, rate_limited)
                continue
            if response.status_code >= 500:
                failures += 1
                self._backoff(failures, f"HTTP {response.status_code} on {method} {path}",
                              response)
                continue
            return self._decode(f"{method} {path}", response, what, forbidden_hint)

    def _send(self, method: str, path: str, params: Mapping[str, Any] | None,
              body: Mapping[str, Any] | None, failures: int) -> httpx.Response | None:
        """One request; None after a timeout or connection error (already backed off)."""
        self.requests += 1
        try:
            if method == "GET":
                return self.client.get(path, params=dict(params or {}))
            return self.client.request(method, path, json=dict(body or {}))
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            self._backoff(failures + 1, f"{type(exc).__name__} on {method} {path}", None)
            return None

    def _backoff(self, attempt: int, reason: str, response: httpx.Response | None) -> None:
        if attempt >= self.policy.max_attempts:
            raise TransientError(
                f"Discord API kept failing ({reason}) after {attempt} attempts; try again later"
            )
        delay = min(self.policy.backoff_max_s, self.policy.backoff_base_s * 2 ** (attempt - 1))
        header = _float(response.headers.get("Retry-After")) if response is not None else None
        delay = max(delay, header or 0.0)
        log.warning("Discord: %s; retrying in %.2fs (attempt %d)", reason, delay, attempt)
        self.sleep(delay)

    def _on_rate_limited(self, route: str, response: httpx.Response, count: int) -> None:
        body = _json_or_empty(response)
        retry_after = _float(body.get("retry_after")) or _float(
            response.headers.get("Retry-After")
        )
        wait = retry_after if retry_after is not None else 1.0
        is_global = bool(body.get("global")) or response.headers.get(
            "X-RateLimit-Global", ""
        ).lower() == "true"
        scope = response.headers.get("X-RateLimit-Scope", "global" if is_global else "user")
        if count > self.policy.max_rate_limited:
            raise TransientError(
                f"Discord kept rate-limiting {route} ({count} times, scope {scope}); "
                "try again later"
            )
        now = self.clock()
        if is_global:
            self._global_until = max(self._global_until, now + wait)
        else:
            self._buckets[self._state_key(route)] = _Bucket(remaining=0, reset_at=now + wait)
        log.info("Discord: 429 on %s (scope %s), waiting %.2fs", route, scope, wait)

    def _wait_for_capacity(self, route: str) -> None:
        """Sleep until the global block and this route's bucket allow a request."""
        now = self.clock()
        wait = max(0.0, self._global_until - now)
        bucket = self._buckets.get(self._state_key(route))
        if bucket is not None and bucket.remaining <= 0:
            wait = max(wait, min(MAX_BUCKET_WAIT_S, bucket.reset_at - now))
        if len(self._recent) == self._recent.maxlen:  # stay under the global per-second cap
            wait = max(wait, 1.0 - (now - self._recent[0]))
        if wait > 0:
            self.sleep(wait)
        self._recent.append(self.clock())

    def _state_key(self, route: str) -> str:
        bucket = self._bucket_of_route.get(route)
        major = route.split("/")[2] if route.count("/") >= 2 else ""
        return f"{bucket}:{major}" if bucket else route

    def _remember_headers(self, route: str, response: httpx.Response) -> None:
        headers = response.headers
        if bucket_id := headers.get("X-RateLimit-Bucket"):
            self._bucket_of_route[route] = bucket_id
        remaining = headers.get("X-RateLimit-Remaining")
        reset_after = _float(headers.get("X-RateLimit-Reset-After"))
        if remaining is None or reset_after is None:
            return
        self._buckets[self._state_key(route)] = _Bucket(
            remaining=int(float(remaining)), reset_at=self.clock() + reset_after
        )

    def _decode(self, request: str, response: httpx.Response, what: str, hint: str) -> Any:
        status = response.status_code
        if status < 400:
            try:
                return response.json()
            except ValueError:
                raise DiscordBadBody(f"Discord returned non-JSON for {request}") from None
        detail = _json_or_empty(response)
        message = f"{detail.get('message', response.reason_phrase)} (code {detail.get('code')})"
        target = what or request
        if status == 401:
            raise PermanentError(
                f"Discord rejected the bot token (401 {message}): DISCORD_BOT_TOKEN must be the "
                "token from Developer Portal > your app > Bot > Reset Token"
            )
        if status == 403:
            raise DiscordForbidden(f"Discord refused access to {target} (403 {message}): {hint}")
        if status == 404:
            raise DiscordNotFound(
                f"Discord has no {target} (404 {message}): check the id and that the bot "
                "was invited to that server"
            )
        raise PermanentError(f"Discord answered {status} for {target}: {message}")


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _float(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
