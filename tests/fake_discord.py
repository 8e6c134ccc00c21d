"""A fake Discord REST API (v10) on 127.0.0.1 for tests and benchmarks.

A real HTTP server in a thread, speaking Discord's wire format: JSON shapes
follow the recorded payloads in ../shared/fixtures/discord-api (message, thread
channel, 429 bodies and `X-RateLimit-*` headers), snowflakes encode their
timestamps, message pages come newest first even with `after`, archived
threads page by ISO `before`. It checks `Authorization: Bot <token>`, keeps a
per-bucket limiter, and injects faults on demand: 429s (global or not, body
`retry_after` and/or `Retry-After`), 500s, slow responses, 403s and an
intent-less mode that blanks message content. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.local_server import LocalServer, send_json

DISCORD_EPOCH_MS = 1_420_070_400_000
START_MS = int(datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp() * 1000)
API_PREFIX = "/api/v10"
MESSAGE_CONTENT = 1 << 18


def iso(ms: int) -> str:
    """Discord's timestamp format (microseconds, +00:00)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="microseconds")


@dataclass
class Faults:
    """What to break. Counters are decremented as faults are served."""

    every_429: int = 0
    global_429: bool = False
    scope_429: str = "user"
    retry_after: float = 0.05
    header_only: bool = False
    fail_500: int = 0
    slow: int = 0
    slow_s: float = 0.0
    intentless: bool = False
    app_flags: int = MESSAGE_CONTENT
    forbidden: set[str] = field(default_factory=set)
    private_forbidden: bool = False
    bucket_limit: int = 1000
    bucket_window_s: float = 1.0
    #: channels where POST /messages answers 403 Missing Permissions (code 50013)
    send_forbidden: set[str] = field(default_factory=set)
    #: channels where POST /messages creates the message but answers a body that is not
    #: JSON (a proxy's error page after the write went through)
    send_unreadable: set[str] = field(default_factory=set)
    #: what GET /guilds/{id}/roles and /guilds/{id}/channels answer instead of the list:
    #: 403 Missing Access or 401 Unauthorized (0: the list)
    guild_lists_status: int = 0
    #: a body those two answer with 200 instead of the list, as sent (not JSON-encoded)
    guild_lists_body: bytes | None = None


@dataclass(frozen=True)
class RawBody:
    """A body sent as it is, not JSON-encoded (a malformed one, as Discord's docs publish
    one example, or a proxy's HTML page)."""

    data: bytes
    content_type: str = "application/json"


@dataclass
class Request:
    path: str
    params: dict[str, str]
    status: int
    at: float
    method: str = "GET"


#: VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | SEND_MESSAGES_IN_THREADS
EVERYONE_BITS = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 38)


def _role(role_id: str, name: str, permissions: int) -> dict[str, Any]:
    """A role object as GET /guilds/{id}/roles returns it (permissions as a string)."""
    return {"id": role_id, "name": name, "color": 0, "colors": {"primary_color": 0,
            "secondary_color": None, "tertiary_color": None}, "hoist": False, "icon": None,
            "unicode_emoji": None, "position": 0, "permissions": str(permissions),
            "managed": False, "mentionable": False, "flags": 0}


class FakeDiscord:
    """History, channels and threads of one guild, served over HTTP."""

    def __init__(self, token: str = "fake-bot-token", guild_id: str | None = None) -> None:
        self.token = token
        self.faults = Faults()
        self._clock_ms = START_MS
        self._seq = 0
        self.guild_id = guild_id or self.snowflake()
        self.bot = self.user("docloop-bot", bot=True)
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[Request] = []
        #: (nonce, message) for every message created by POST, in order; the nonce is
        #: echoed in the create response only, as Discord does (history omits it)
        self.posted: list[tuple[Any, dict[str, Any]]] = []
        #: the guild's roles: @everyone (id = guild id) may view, read, send, send in threads
        self.roles: list[dict[str, Any]] = [_role(self.guild_id, "@everyone", EVERYONE_BITS)]
        self.bot_roles: list[str] = []
        self.user_agents: set[str] = set()
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}
        self._server: LocalServer | None = None

    # ---- building history -------------------------------------------------

    def snowflake(self, step_ms: int = 60_000) -> str:
        """A new id, later than every previous one (worker 1, increment seq)."""
        self._clock_ms += step_ms
        self._seq = (self._seq + 1) % 4096
        return str(((self._clock_ms - DISCORD_EPOCH_MS) << 22) | (1 << 17) | self._seq)

    def user(self, name: str, *, bot: bool = False) -> dict[str, Any]:
        author: dict[str, Any] = {
            "id": self.snowflake(step_ms=1),
            "username": name.lower().replace(" ", "_"),
            "avatar": None,
            "discriminator": "0",
            "public_flags": 0,
            "flags": 0,
            "global_name": name,
        }
        if bot:
            author["bot"] = True
        return author

    def add_role(self, name: str, permissions: int = 0) -> dict[str, Any]:
        """A role of the guild (GET /guilds/{id}/roles lists it)."""
        role = _role(self.snowflake(step_ms=1), name, permissions)
        self.roles.append(role)
        return role

    def add_channel(self, name: str, type_: int = 0, position: int = 0) -> dict[str, Any]:
        """A guild channel with the fields Discord's object of its type carries (the docs'
        text, voice and category examples, the recorded forum channel)."""
        channel: dict[str, Any] = {
            "id": self.snowflake(),
            "type": type_,
            "guild_id": self.guild_id,
            "name": name,
            "position": position,
            "parent_id": None,
            "nsfw": False,
            "permission_overwrites": [],
        }
        if type_ in (2, 13):  # voice, stage: a bitrate, a user limit, a region
            channel.update({"last_message_id": None, "rate_limit_per_user": 0,
                            "bitrate": 64000, "user_limit": 0, "rtc_region": None})
            if type_ == 13:  # a stage has a topic; a voice channel has none
                channel["topic"] = None
        elif type_ != 4:  # a category holds channels, not messages
            channel.update({"topic": None, "rate_limit_per_user": 0, "last_message_id": None})
            if type_ in (0, 5):
                channel["default_auto_archive_duration"] = 1440
        self.channels[channel["id"]] = channel
        self.messages[channel["id"]] = []
        return channel

    def add_message(
        self, channel_id: str, author: dict[str, Any], content: str = "", **extra: Any
    ) -> dict[str, Any]:
        """Append a message (REST shape) to a channel or thread."""
        message_id = extra.pop("id", None) or self.snowflake()
        ms = ((int(message_id) >> 22) + DISCORD_EPOCH_MS)
        message: dict[str, Any] = {
            "type": extra.pop("type", 0),
            "content": content,
            "mentions": [],
            "mention_roles": [],
            "attachments": extra.pop("attachments", []),
            "embeds": [],
            "timestamp": iso(ms),
            "edited_timestamp": None,
            "flags": 0,
            "components": [],
            "id": message_id,
            "channel_id": channel_id,
            "author": author,
            "pinned": False,
            "mention_everyone": False,
            "tts": False,
        }
        message.update(extra)
        self.messages[channel_id].append(message)
        channel = self.channels[channel_id]
        channel["last_message_id"] = message_id
        for counter in ("message_count", "total_message_sent"):  # threads (newer ones) only
            if counter in channel:
                channel[counter] += 1
        return message

    def reply(self, to: dict[str, Any], author: dict[str, Any], content: str) -> dict[str, Any]:
        """A type-19 reply; like Discord's (reply ping on, the default), its `mentions` list
        the author it answers (../shared/fixtures/discord-api/
        d4j-rest-message-reply-type19.json)."""
        pinged = [] if to["author"]["id"] == author["id"] else [to["author"]]
        reference = {
            "type": 0,
            "channel_id": to["channel_id"],
            "message_id": to["id"],
            "guild_id": self.guild_id,
        }
        return self.add_message(
            to["channel_id"], author, content, type=19, mentions=pinged,
            message_reference=reference, referenced_message=dict(to),
        )

    def add_thread(
        self,
        parent_id: str,
        name: str,
        *,
        from_message: dict[str, Any] | None = None,
        starter: tuple[dict[str, Any], str] | None = None,
        archived: bool = False,
        private: bool = False,
    ) -> dict[str, Any]:
        """A thread on a message, a bare thread, or (with `starter`) a forum post."""
        parent = self.channels[parent_id]
        thread_id = from_message["id"] if from_message else self.snowflake()
        thread_type = 12 if private else 10 if parent["type"] == 5 else 11
        thread = {
            "id": thread_id,
            "guild_id": self.guild_id,
            "parent_id": parent_id,
            "owner_id": (from_message or {}).get("author", self.bot)["id"],
            "name": name,
            "type": thread_type,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": iso(self._clock_ms),
                "locked": False,
                "create_timestamp": iso(self._clock_ms),
            },
            "total_message_sent": 0,
        }
        self.channels[thread_id] = thread
        self.messages[thread_id] = []
        self._seed_thread(parent, thread, from_message, starter)
        if archived:
            self.archive(thread_id)
        return thread

    def _seed_thread(
        self,
        parent: dict[str, Any],
        thread: dict[str, Any],
        from_message: dict[str, Any] | None,
        starter: tuple[dict[str, Any], str] | None,
    ) -> None:
        """The system/starter messages Discord creates with a thread."""
        if from_message is not None:
            from_message["thread"] = {k: v for k, v in thread.items() if k != "thread_metadata"}
            from_message["flags"] = 32
            reference = {"type": 0, "channel_id": parent["id"], "message_id": thread["id"],
                         "guild_id": self.guild_id}
            self.add_message(thread["id"], from_message["author"], "", type=21,
                             message_reference=reference, position=0,
                             referenced_message=dict(from_message))
        elif starter is not None:
            author, content = starter
            self.add_message(thread["id"], author, content, id=thread["id"], position=0)
        else:
            self.add_message(parent["id"], self.user("Someone"), thread["name"], type=18)

    def archive(self, thread_id: str) -> None:
        """Archive a thread now (each archive gets a distinct later timestamp)."""
        self._clock_ms += 1000
        metadata = self.channels[thread_id]["thread_metadata"]
        metadata["archived"] = True
        metadata["archive_timestamp"] = iso(self._clock_ms)

    def message_total(self) -> int:
        return sum(len(page) for page in self.messages.values())

    # ---- serving ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"{self._server.origin}{API_PREFIX}"

    def start(self) -> FakeDiscord:
        self._server = LocalServer(type("Handler", (_Handler,), {"fake": self}))
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self, fragment: str = "") -> int:
        """Requests whose path contains `fragment` (all requests by default)."""
        return sum(1 for r in self.requests if fragment in r.path)

    # ---- request handling (called from server threads) ---------------------

    def handle(self, path: str, params: dict[str, str], headers: Any,
               method: str = "GET", body: Any = None) -> tuple[int, Any, dict]:
        with self._lock:
            self.user_agents.add(headers.get("User-Agent", ""))
            status, answer, extra = self._route_with_faults(path, params, headers, method, body)
            self.requests.append(Request(path, params, status, time.monotonic(), method))
            return status, answer, extra

    def _route_with_faults(self, path: str, params: dict[str, str], headers: Any,
                           method: str = "GET", body: Any = None) -> tuple:
        if headers.get("Authorization") != f"Bot {self.token}":
            return 401, {"message": "401: Unauthorized", "code": 0}, {}
        number = len(self.requests) + 1
        if self.faults.every_429 and number % self.faults.every_429 == 0:
            return self._injected_429(path)
        if self.faults.fail_500 > 0:
            self.faults.fail_500 -= 1
            return 500, {"message": "500: Internal Server Error", "code": 0}, {}
        limited = self._bucket(path)
        if limited[0] == 429:
            return limited
        if method == "POST":
            status, answer = self._post(path, body)
        else:
            status, answer = self._route(path, params)
        return status, answer, limited[2]

    def _injected_429(self, path: str = "/users/@me") -> tuple[int, Any, dict]:
        """A 429 as the docs' examples show it, per scope.

        Global: `X-RateLimit-Global` and no bucket headers. User and shared: the
        route's bucket headers too; a shared limit says "The resource is being
        rate limited." and reports `Remaining` above 0 (the limit is not this
        bot's). Body `retry_after` in float seconds, `Retry-After` rounded up.
        """
        faults = self.faults
        shared = faults.scope_429 == "shared" and not faults.global_429
        message = ("The resource is being rate limited." if shared
                   else "You are being rate limited.")
        body: dict[str, Any] = {"message": message, "global": False}
        headers = {"Retry-After": str(math.ceil(faults.retry_after))}
        if not faults.header_only:
            body["retry_after"] = faults.retry_after
        if faults.global_429:
            body["global"] = True
            headers.update({"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"})
            return 429, body, headers
        bucket, _ = _bucket_of(path)
        headers.update({
            "X-RateLimit-Limit": str(faults.bucket_limit),
            "X-RateLimit-Remaining": str(faults.bucket_limit - 1) if shared else "0",
            "X-RateLimit-Reset": f"{time.time() + faults.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{faults.retry_after:.3f}",
            "X-RateLimit-Bucket": bucket,
            "X-RateLimit-Scope": faults.scope_429,
        })
        return 429, body, headers

    def _bucket(self, path: str) -> tuple[int, Any, dict]:
        """Per route+major-id window limiter emitting real `X-RateLimit-*` headers."""
        bucket, key = _bucket_of(path)
        now = time.monotonic()
        start, used = self._windows.get(key, (now, 0))
        if now - start >= self.faults.bucket_window_s:
            start, used = now, 0
        reset_after = max(0.0, self.faults.bucket_window_s - (now - start))
        headers = {
            "X-RateLimit-Limit": str(self.faults.bucket_limit),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }
        if used >= self.faults.bucket_limit:
            headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Scope": "user",
                            "Retry-After": str(math.ceil(reset_after))})
            body = {"message": "You are being rate limited.", "retry_after": round(reset_after, 3),
                    "global": False}
            return 429, body, headers
        self._windows[key] = (start, used + 1)
        headers["X-RateLimit-Remaining"] = str(self.faults.bucket_limit - used - 1)
        return 200, None, headers

    def _route(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if parts == ["users", "@me"]:
            return 200, self.bot
        if parts == ["applications", "@me"]:
            return 200, {"id": self.bot["id"], "name": "docloop", "flags": self.faults.app_flags,
                         "bot": self.bot}
        if parts[0] == "guilds" and parts[2:] in (["roles"], ["channels"]) and (
                self.faults.guild_lists_status):
            return self.faults.guild_lists_status, (
                {"message": "401: Unauthorized", "code": 0} if self.faults.guild_lists_status == 401
                else {"message": "Missing Access", "code": 50001})
        if parts[0] == "guilds" and parts[2:] in (["roles"], ["channels"]) and (
                self.faults.guild_lists_body is not None):
            return 200, RawBody(self.faults.guild_lists_body)
        if parts[0] == "guilds" and len(parts) == 3 and parts[2] == "channels":
            return self._guild_channels(parts[1])
        if parts[0] == "guilds" and parts[2:] == ["threads", "active"]:
            return self._active_threads(parts[1])
        if parts[0] == "guilds" and parts[2:] == ["roles"]:
            return (200, self.roles) if parts[1] == self.guild_id else (
                404, {"message": "Unknown Guild", "code": 10004})
        if parts[0] == "guilds" and len(parts) == 4 and parts[2] == "members":
            return self._member(parts[1], parts[3])
        if parts[0] == "channels" and len(parts) >= 2:
            return self._channel_route(parts[1], parts[2:], params)
        return 404, {"message": "404: Not Found", "code": 0}

    def _member(self, guild_id: str, user_id: str) -> tuple[int, Any]:
        if guild_id != self.guild_id:
            return 404, {"message": "Unknown Guild", "code": 10004}
        if user_id != self.bot["id"]:
            return 404, {"message": "Unknown Member", "code": 10007}
        return 200, {"user": self.bot, "nick": None, "avatar": None, "roles": self.bot_roles,
                     "joined_at": iso(START_MS), "premium_since": None, "deaf": False,
                     "mute": False, "flags": 0, "pending": False}

    def _post(self, path: str, body: Any) -> tuple[int, Any]:
        """POST /channels/{id}/messages: Create Message (content, message_reference, nonce).

        With `enforce_nonce`, a nonce this bot already used answers the message it
        created then, as Discord does for a retried request.
        """
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "channels" or parts[2] != "messages":
            return 404, {"message": "404: Not Found", "code": 0}
        channel = self.channels.get(parts[1])
        if channel is None:
            return 404, {"message": "Unknown Channel", "code": 10003}
        if parts[1] in self.faults.send_forbidden or \
                channel.get("parent_id") in self.faults.send_forbidden:
            return 403, {"message": "Missing Permissions", "code": 50013}
        if not isinstance(body, dict) or not isinstance(body.get("content"), str) \
                or not 0 < len(body["content"]) <= 2000:
            return 400, {"message": "Invalid Form Body", "code": 50035, "errors": {"content": {
                "_errors": [{"code": "BASE_TYPE_BAD_LENGTH",
                             "message": "Must be between 1 and 2000 in length."}]}}}
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            for earlier_nonce, earlier in self.posted:
                if earlier_nonce == nonce and earlier["channel_id"] == parts[1]:
                    return 200, dict(earlier, nonce=nonce)
        message = self._create(parts[1], body)
        self.posted.append((nonce, message))
        if parts[1] in self.faults.send_unreadable:
            return 200, RawBody(b"<html><body>502 Bad Gateway</body></html>", "text/html")
        return 200, dict(message, nonce=nonce) if nonce is not None else message

    def _create(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        reference = body.get("message_reference")
        extra: dict[str, Any] = {}
        if isinstance(reference, dict) and reference.get("message_id"):
            target = next((m for m in self.messages[channel_id]
                           if m["id"] == reference["message_id"]), None)
            extra = {"type": 19, "referenced_message": dict(target) if target else None,
                     "message_reference": {"type": 0, "channel_id": channel_id,
                                           "message_id": reference["message_id"],
                                           "guild_id": self.guild_id}}
        self._clock_ms = max(self._clock_ms, int(time.time() * 1000))  # created now, as Discord
        return self.add_message(channel_id, self.bot, body["content"], **extra)

    def _guild_channels(self, guild_id: str) -> tuple[int, Any]:
        if guild_id != self.guild_id:
            return 404, {"message": "Unknown Guild", "code": 10004}
        listed = [c for c in self.channels.values() if c["type"] not in (10, 11, 12)]
        return 200, listed

    def _active_threads(self, guild_id: str) -> tuple[int, Any]:
        if guild_id != self.guild_id:
            return 404, {"message": "Unknown Guild", "code": 10004}
        active = [c for c in self.channels.values()
                  if c["type"] in (10, 11, 12) and not c["thread_metadata"]["archived"]]
        active.sort(key=lambda c: int(c["id"]), reverse=True)
        return 200, {"threads": active, "members": []}

    def _channel_route(self, channel_id: str, rest: list[str], params: dict) -> tuple[int, Any]:
        channel = self.channels.get(channel_id)
        if channel is None:
            return 404, {"message": "Unknown Channel", "code": 10003}
        if channel_id in self.faults.forbidden or channel.get("parent_id") in self.faults.forbidden:
            return 403, {"message": "Missing Access", "code": 50001}
        if not rest:
            return 200, channel
        if rest == ["messages"]:
            return self._messages(channel_id, params)
        if rest[:2] == ["threads", "archived"] and len(rest) == 3:
            if rest[2] == "private" and self.faults.private_forbidden:
                return 403, {"message": "Missing Permissions", "code": 50013}
            return self._archived(channel_id, rest[2] == "private", params)
        return 404, {"message": "404: Not Found", "code": 0}

    def _messages(self, channel_id: str, params: dict[str, str]) -> tuple[int, Any]:
        limit = int(params.get("limit", "50"))
        anchors = [k for k in ("after", "before", "around") if k in params]
        if not 1 <= limit <= 100 or len(anchors) > 1:
            return 400, {"message": "Invalid Form Body", "code": 50035}
        history = self.messages[channel_id]
        if "after" in params:
            page = [m for m in history if int(m["id"]) > int(params["after"])][:limit]
        elif "before" in params:
            page = [m for m in history if int(m["id"]) < int(params["before"])][-limit:]
        else:
            page = history[-limit:]
        return 200, [self._as_served(m) for m in reversed(page)]

    def _as_served(self, message: dict[str, Any]) -> dict[str, Any]:
        if not self.faults.intentless or message["author"]["id"] == self.bot["id"]:
            return message
        blanked = dict(message, content="", embeds=[], attachments=[], components=[])
        blanked.pop("message_snapshots", None)
        return blanked

    def _archived(self, channel_id: str, private: bool, params: dict) -> tuple[int, Any]:
        limit = int(params.get("limit", "50"))
        before = datetime.fromisoformat(params["before"]) if "before" in params else None
        wanted = (12,) if private else (10, 11)
        threads = [
            c for c in self.channels.values()
            if c.get("parent_id") == channel_id and c["type"] in wanted
            and c["thread_metadata"]["archived"]
            and (before is None
                 or datetime.fromisoformat(c["thread_metadata"]["archive_timestamp"]) < before)
        ]
        threads.sort(key=lambda c: c["thread_metadata"]["archive_timestamp"], reverse=True)
        return 200, {"threads": threads[:limit], "members": [], "has_more": len(threads) > limit}

    # ---- the same history as a DiscordChatExporter export --------------------

    def write_dce_export(self, directory: Path) -> list[Path]:
        """One DCE JSON file per text channel and per thread (`--include-threads all`)."""
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for channel in self.channels.values():
            if channel["type"] in (15, 16):
                continue
            path = directory / f"Guild - {channel['name']} [{channel['id']}].json"
            path.write_text(json.dumps(self._dce_document(channel), indent=2), encoding="utf-8")
            written.append(path)
        return written

    def _dce_document(self, channel: dict[str, Any]) -> dict[str, Any]:
        parent = self.channels.get(channel.get("parent_id") or "")
        messages = [_dce_message(m, self) for m in self.messages[channel["id"]]]
        return {
            "guild": {"id": self.guild_id, "name": "Guild", "iconUrl": ""},
            "channel": {
                "id": channel["id"],
                "type": _DCE_CHANNEL_KINDS.get(channel["type"], str(channel["type"])),
                "categoryId": parent["id"] if parent else None,
                "category": parent["name"] if parent else None,
                "name": channel["name"],
                "topic": None,
            },
            "dateRange": {"after": None, "before": None},
            "exportedAt": iso(self._clock_ms),
            "messages": messages,
            "messageCount": len(messages),
        }


def _bucket_of(path: str) -> tuple[str, str]:
    """The opaque bucket id of a route, and the limiter key (bucket + top-level id)."""
    parts = path.strip("/").split("/")
    template = "/".join(p if i == 1 or not p.isdigit() else "{id}" for i, p in enumerate(parts))
    bucket = hashlib.md5(template.split("/", 2)[-1].encode()).hexdigest()[:12]
    return bucket, f"{bucket}:{parts[1] if len(parts) > 1 else ''}"


_DCE_CHANNEL_KINDS = {0: "GuildTextChat", 5: "GuildNews", 10: "GuildNewsThread",
                      11: "GuildPublicThread", 12: "GuildPrivateThread", 15: "GuildForum"}
_DCE_MESSAGE_KINDS = {0: "Default", 7: "GuildMemberJoin", 18: "ThreadCreated", 19: "Reply"}


#: the markup the exporter's minimal parser reads (MarkdownParser's minimal matchers: user,
#: channel and role mentions, custom emoji, timestamps), written as its plain-text visitor
#: writes it (../shared/fixtures/discord-exports/1.json: "@Thomas that is a little bit off
#: topic", "You will understand it later :kekw:")
_DCE_MARKUP = re.compile(r"<@!?(?P<user>\d+)>|<#!?(?P<channel>\d+)>|<@&(?P<role>\d+)>"
                         r"|<a?:(?P<emoji>.+?):\d+?>|<t:(?P<seconds>-?\d+)(?::(?P<style>\w))?>")


def _dce_name(user: dict[str, Any]) -> str:
    return str(user.get("global_name") or user["username"])


def _dce_text(content: str, mentions: list[dict[str, Any]], fake: FakeDiscord) -> str:
    """`content` as the exporter writes it: the member's name (`@Unknown` when it cannot be
    found), `#channel` (` [voice]` after a voice channel; `#deleted-channel`), `@role`
    (`@deleted-role`), `:emoji:`, and a timestamp in the en-US short general format in UTC
    (the exporter uses the exporting machine's zone and locale)."""
    users = {user["id"]: _dce_name(user) for user in mentions}
    roles = {role["id"]: role["name"] for role in fake.roles}

    def written(found: re.Match[str]) -> str:
        if found.group("user"):
            return "@" + users.get(found.group("user"), "Unknown")
        if found.group("channel"):
            channel = fake.channels.get(found.group("channel"))
            if channel is None:
                return "#deleted-channel"
            return f"#{channel['name']}" + (" [voice]" if channel["type"] in (2, 13) else "")
        if found.group("role"):
            return "@" + roles.get(found.group("role"), "deleted-role")
        if found.group("emoji"):
            return f":{found.group('emoji')}:"
        when = datetime.fromtimestamp(int(found.group("seconds")), tz=UTC)
        return f"{when.month}/{when.day}/{when.year} {when.strftime('%I:%M %p').lstrip('0')}"

    return _DCE_MARKUP.sub(written, content)


def _dce_user(user: dict[str, Any]) -> dict[str, Any]:
    """A mentioned user as the exporter lists it (the fixture's keys)."""
    return {"id": user["id"], "name": user["username"], "discriminator": "0000",
            "nickname": _dce_name(user), "isBot": bool(user.get("bot"))}


def _dce_message(message: dict[str, Any], fake: FakeDiscord) -> dict[str, Any]:
    author = message["author"]
    out: dict[str, Any] = {
        "id": message["id"],
        "type": _DCE_MESSAGE_KINDS.get(message["type"], str(message["type"])),
        "timestamp": message["timestamp"],
        "timestampEdited": message["edited_timestamp"],
        "callEndedTimestamp": None,
        "isPinned": message["pinned"],
        "content": message["content"],
        "author": {
            "id": author["id"], "name": author["username"], "discriminator": "0000",
            "nickname": author.get("global_name") or author["username"], "color": None,
            "isBot": bool(author.get("bot")), "roles": [], "avatarUrl": "",
        },
        "attachments": [
            {"id": a["id"], "url": a["url"], "fileName": a["filename"],
             "fileSizeBytes": a["size"]} for a in message["attachments"]
        ],
        "embeds": [], "stickers": [], "reactions": [],
        "mentions": [_dce_user(user) for user in message["mentions"]],
    }
    out["content"] = _dce_text(message["content"], message["mentions"], fake)
    reference = message.get("message_reference")
    if reference:
        out["reference"] = {"type": "Default" if reference.get("type", 0) == 0 else "Forward",
                            "messageId": reference.get("message_id"),
                            "channelId": reference.get("channel_id"),
                            "guildId": reference.get("guild_id")}
    out["inlineEmojis"] = []
    return out


class _Handler(BaseHTTPRequestHandler):
    fake: FakeDiscord
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else keep-alive replies stall ~40 ms on delayed ACKs

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        if not split.path.startswith(API_PREFIX):
            self._send(404, {"message": "404: Not Found", "code": 0}, {})
            return
        params = {k: v[-1] for k, v in parse_qs(split.query).items()}
        faults = self.fake.faults
        if faults.slow > 0:
            faults.slow -= 1
            time.sleep(faults.slow_s)
        path = split.path[len(API_PREFIX):]
        status, body, headers = self.fake.handle(path, params, self.headers)
        self._send(status, body, headers)

    def do_POST(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not split.path.startswith(API_PREFIX):
            self._send(404, {"message": "404: Not Found", "code": 0}, {})
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, {"message": "400: Bad Request", "code": 0}, {})
            return
        path = split.path[len(API_PREFIX):]
        status, answer, headers = self.fake.handle(path, {}, self.headers, "POST", body)
        self._send(status, answer, headers)

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        try:
            if isinstance(body, RawBody):
                send_json(self, status, body.data, headers, body.content_type)
            else:
                send_json(self, status, json.dumps(body).encode(), headers)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client timed out and went away: nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        return
