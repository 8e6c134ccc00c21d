"""A week of community chat with many distinct recurring problems, as DCE exports.

The AWS workflow test needs more insights than fit one Step Functions payload
(> 40, and > 256 KB of conversations); the Tidepool example has seven. Each of
`TOPICS` is a problem with its own subject and error text; every topic is asked
in `per_topic` conversations by different users (three phrasings, each with the
topic's words), answered by staff, and thanked; chit-chat sits between them.
Deterministic per seed; `messages` scales the week (the cost benchmark's 10k).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.dce_helpers import GUILD, author, channel, write

#: (what breaks, the error users paste): one recurring problem each, far apart in meaning
TOPICS: list[tuple[str, str]] = [
    ("webhook signature verification after rotating the signing secret",
     "401 invalid webhook signature"),
    ("uploading attachments larger than 100 MB through the REST API", "504 gateway timeout"),
    ("the Python SDK behind a corporate HTTPS proxy", "SSL: CERTIFICATE_VERIFY_FAILED"),
    ("cron schedules after the daylight saving time change", "job fired one hour late"),
    ("dark mode in the web dashboard", "theme resets to light after reload"),
    ("exporting billing invoices as PDF", "invoice.pdf is empty (0 bytes)"),
    ("SAML single sign-on with Okta", "SAMLResponse audience mismatch"),
    ("rate limits on the search endpoint", "429 Too Many Requests, Retry-After: 60"),
    ("installing the CLI on Apple Silicon with Homebrew", "bad CPU type in executable"),
    ("Terraform provider import of existing queues", "resource already managed by state"),
    ("GraphQL pagination with cursors", "cursor is invalid or expired"),
    ("websocket connections dropping every five minutes", "close code 1006 abnormal closure"),
    ("Docker image on Alpine Linux", "musl: symbol not found __memcpy_chk"),
    ("environment variables in the Kubernetes Helm chart", "values.yaml key ignored"),
    ("retrying failed jobs with exponential backoff", "max_retries must be <= 10"),
    ("dead letter queue messages never being redriven", "DLQ redrive policy missing"),
    ("two-factor authentication recovery codes", "recovery code already used"),
    ("Node.js SDK with ES modules", "ERR_REQUIRE_ESM require() of ES Module"),
    ("TypeScript types for the event payload", "Property 'metadata' does not exist"),
    ("Go client context cancellation", "context deadline exceeded"),
    ("Java SDK on Spring Boot 3 native image", "ClassNotFoundException in GraalVM"),
    ("Rust crate with the tokio runtime", "there is no reactor running"),
    ("audit log retention and export to S3", "AccessDenied on PutObject"),
    ("custom domains for the status page", "CNAME record not verified"),
    ("email notifications going to spam", "DKIM signature missing"),
    ("Slack integration after workspace migration", "invalid_auth from Slack"),
    ("deleting a project with running jobs", "project has active workers"),
    ("timezone of timestamps in CSV exports", "dates shifted by UTC offset"),
    ("priority queues starving low priority jobs", "low priority jobs wait for hours"),
    ("payload size limit for job arguments", "413 payload too large, limit 256 KB"),
    ("idempotency keys on job creation", "duplicate job created despite key"),
    ("worker autoscaling on Kubernetes HPA", "metrics not available for scaling"),
    ("IPv6-only networks", "getaddrinfo ENOTFOUND api endpoint"),
    ("Windows paths in the CLI config file", "invalid escape sequence in path"),
    ("local emulator for offline development", "emulator exits with code 137"),
    ("OpenTelemetry tracing of job spans", "trace context not propagated"),
    ("Prometheus metrics endpoint", "/metrics returns 404"),
    ("GDPR data deletion requests", "user data still present after deletion"),
    ("role based access control for read-only members", "403 forbidden for viewer role"),
    ("API key scopes for CI pipelines", "key lacks scope jobs:write"),
    ("batch enqueue of ten thousand jobs", "batch size exceeds 1000"),
    ("cancelling a running job from the dashboard", "job keeps running after cancel"),
    ("job result TTL and expiry", "result expired before it was read"),
    ("monorepo with multiple worker packages", "duplicate task name registered"),
    ("Python 3.13 compatibility of the SDK", "ModuleNotFoundError: No module named 'imp'"),
    ("Zebrafish genome pipeline plugin", "plugin manifest rejected by registry"),
    ("Unicode job names with emoji", "UnicodeEncodeError: 'latin-1' codec"),
    ("migrating from the v1 REST API to v2", "410 Gone: v1 endpoint removed"),
]

PHRASINGS = [
    "How do I get {subject} working? I keep getting `{error}` and the docs don't say why",
    "Anyone else hitting `{error}` with {subject}? broken for me since yesterday",
    "{subject}: we see `{error}` every single time, what are we doing wrong?",
]
ANSWER = "For {subject} check the settings page; `{error}` usually means a config mismatch."
NOISE = ["good morning everyone", "lol nice", "has anyone seen the new release notes",
         "coffee time", "thanks for the stream yesterday", "weekend plans anyone",
         "gg", "that meme was great", "welcome to the new folks", "brb lunch"]
STAFF = author("9000", "staff_sam")


def generate(folder: Path, per_topic: int = 6, noise: int = 120, seed: int = 1,
             topics: int = len(TOPICS), now: datetime | None = None) -> Path:
    """Write the week as one DCE export in `folder`; return the file."""
    rng = random.Random(seed)
    end = (now or datetime.now(UTC)) - timedelta(hours=1)
    ids = iter(range(1_100_000_000_000_000_000, 1_200_000_000_000_000_000))
    messages: list[dict[str, Any]] = []
    for topic_no, (subject, error) in enumerate(TOPICS[:topics]):
        for ask in range(per_topic):
            user = author(str(10_000 + topic_no * 100 + ask), f"user{topic_no}_{ask}")
            start = end - timedelta(minutes=rng.randrange(60, 6 * 24 * 60))
            text = rng.choice(PHRASINGS).format(subject=subject, error=error)
            messages.extend(_conversation(ids, user, start, text, subject, error))
    for n in range(noise):
        at = end - timedelta(minutes=rng.randrange(60, 6 * 24 * 60))
        messages.append(_message(next(ids), author(str(50_000 + n), f"chatter{n}"),
                                 at, rng.choice(NOISE)))
    messages.sort(key=lambda m: (m["timestamp"], m["id"]))
    data = {"guild": GUILD, "channel": channel("500", "help"),
            "dateRange": {"after": None, "before": None},
            "exportedAt": end.isoformat(), "messages": messages,
            "messageCount": len(messages)}
    return write(folder / "help.json", data)


def _conversation(ids: Any, user: dict[str, Any], start: datetime, text: str, subject: str,
                  error: str) -> list[dict[str, Any]]:
    question = _message(next(ids), user, start, text)
    answer = _message(next(ids), STAFF, start + timedelta(minutes=5),
                      ANSWER.format(subject=subject, error=error), reply_to=question["id"])
    thanks = _message(next(ids), user, start + timedelta(minutes=9), "thanks, will try",
                      reply_to=answer["id"])
    return [question, answer, thanks]


def _message(message_id: int, user: dict[str, Any], at: datetime, content: str,
             reply_to: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(message_id), "type": "Reply" if reply_to else "Default",
        "timestamp": at.isoformat(timespec="milliseconds"), "timestampEdited": None,
        "callEndedTimestamp": None, "isPinned": False, "content": content, "author": user,
        "attachments": [], "embeds": [], "stickers": [], "reactions": [], "mentions": []}
    if reply_to:
        data["reference"] = {"messageId": reply_to, "channelId": "500",
                             "guildId": GUILD["id"]}
    return data
