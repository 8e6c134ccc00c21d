"""Replies in Discord threads and channels through the REST API.

`POST /channels/{id}/messages` with the reply's text, a `message_reference`
for channel conversations (`fail_if_not_exists: false`, so a deleted question
still gets the note), no pings (`allowed_mentions.parse = []`), and the
reply's `nonce` with `enforce_nonce`: a retry after a lost response gets the
message already created instead of a second one. Rate limits, 429s and 5xx
are `DiscordHttp`'s (Retry-After honoured, per-bucket waits). A crash after
the POST, or a success whose answer cannot be read (`OutcomeUnknown`), is
resolved by `find_sent`: the bot's own message with the same text in that
channel since the attempt.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from docloop.backends.replies.base import Replier
from docloop.backends.sources.discord_http import DiscordBadBody, DiscordHttp
from docloop.backends.sources.discord_map import snowflake_from
from docloop.config import Settings
from docloop.errors import OutcomeUnknown
from docloop.models import Reply

SEND_HINT = ("the bot needs the Send Messages and Send Messages in Threads permissions there "
             "(`docloop sources check` shows them)")
#: how far before the recorded attempt to look for the message it may have created
CLOCK_SLACK = timedelta(minutes=5)


class DiscordReplier(Replier):
    """Posts replies with the bot token (`DISCORD_BOT_TOKEN`)."""

    def __init__(self, http: DiscordHttp) -> None:
        self.http = http
        self._bot_id: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **deps: Any) -> DiscordReplier:
        return cls(DiscordHttp(settings, **deps))

    def send(self, reply: Reply) -> str:
        body: dict[str, Any] = {"content": reply.content, "nonce": reply.nonce,
                                "enforce_nonce": True, "allowed_mentions": {"parse": []}}
        if reply.reply_to:
            body["message_reference"] = {"message_id": reply.reply_to,
                                         "channel_id": reply.channel_id,
                                         "fail_if_not_exists": False}
        try:
            message = self.http.post(f"/channels/{reply.channel_id}/messages", body,
                                     what=f"channel {reply.channel_id}",
                                     forbidden_hint=SEND_HINT)
        except DiscordBadBody as exc:  # a success whose answer is unreadable: posted or not
            raise OutcomeUnknown(f"channel {reply.channel_id}: {exc}") from exc
        return str(message["id"])

    def find_sent(self, reply: Reply) -> str | None:
        if reply.attempted_at is None:
            return None
        after = snowflake_from(reply.attempted_at - CLOCK_SLACK)
        page = self.http.get(f"/channels/{reply.channel_id}/messages",
                             {"after": after, "limit": 100}, what=f"channel {reply.channel_id}")
        bot = self._bot()
        for message in page:
            if (message.get("author") or {}).get("id") == bot \
                    and message.get("content") == reply.content:
                return str(message["id"])
        return None

    def _bot(self) -> str:
        if self._bot_id is None:
            self._bot_id = str(self.http.get("/users/@me", what="the bot user")["id"])
        return self._bot_id

    def close(self) -> None:
        self.http.close()
