"""Closing the loop: tell the people who asked, once, that the docs now answer them.

With `discord_reply_on_done`, every ticket that became `done` (by webhook,
`tickets sync` or `tickets set-status`) within `REPLY_WINDOW` owes one reply
in each conversation of its insight: in the thread for a thread, or as a
reply to the first message for a channel conversation. Two steps, run by the
CLI process (`docloop run`, `tickets sync`, `tickets set-status`) and by
`docloop serve`'s reply worker (`web.replies`) after a webhook made a
ticket done, never inside a webhook request:

1. `queue_replies` records what is owed in the reply outbox, one row per
   (ticket, conversation) keyed by a hash of both, so it is owed once;
2. `send_replies` posts each pending reply: first the intent (`sending`,
   with the attempt's time), then the post, then `sent` with Discord's
   message id. A reply left `sending` by a crash is first looked for in
   its channel (the bot's message with the same text since the attempt)
   and only posted when absent; the post carries a nonce Discord enforces,
   so a retried request cannot create a second message either.

A permanent refusal (403 Missing Permissions, a deleted channel) marks the
reply `failed` with the reason; a transient one (after the client's own
retries) leaves it pending, with the reason, for the next command and stops
this drain. A success whose answer cannot be read (`OutcomeUnknown`) leaves
the reply `sending`: it may be out, so the next drain looks for it first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from docloop.backends.replies.base import Replier
from docloop.errors import OutcomeUnknown, PermanentError, TransientError
from docloop.models import Insight, Message, Reply, TicketRecord
from docloop.sanitize import clean_text
from docloop.stores import InsightIdentities, MessageRepository, RecordStore, ReplyOutbox, Stores

#: a ticket done longer ago than this gets no reply (turning the setting on does not
#: answer last year's threads)
REPLY_WINDOW = timedelta(days=30)
MAX_CONTENT = 2000


@dataclass
class ReplyOutcome:
    """What one drain of the outbox did."""

    queued: int = 0
    sent: int = 0
    found: int = 0  # sent by an earlier attempt whose record a crash lost
    failed: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = (f"Discord replies: {self.queued} queued, {self.sent} sent, {self.found} found "
                f"already sent, {self.failed} failed, {self.pending} pending")
        return line + "".join(f"; {e}" for e in self.errors)


def done_at(record: TicketRecord) -> datetime | None:
    """When the ticket last became done (None unless it is done now)."""
    if record.status != "done":
        return None
    changes = [c for c in record.history if c.applied and c.status == "done"]
    if not changes:
        return record.updated_at
    last = changes[-1]
    return last.changed_at or last.at


def queue_replies(records: RecordStore, insights: InsightIdentities,
                  messages: MessageRepository, outbox: ReplyOutbox, now: datetime,
                  only: Collection[str] | None = None) -> int:
    """Record the replies owed by tickets done within `REPLY_WINDOW`; how many are new.

    `only` names the tickets to look at (a webhook's), so a server need not read
    every ticket after each delivery; None looks at all of them.
    """
    queued = 0
    for record in _tickets(records, only):
        finished = done_at(record)
        if finished is None or now - finished > REPLY_WINDOW or outbox.for_ticket(record.id):
            continue
        insight = insights.snapshot(record.insight_id)
        queued += outbox.add(plan_replies(record, insight, insights, messages, now))
    return queued


def _tickets(records: RecordStore, only: Collection[str] | None) -> list[TicketRecord]:
    if only is None:
        return records.all()
    return [r for r in (records.get(ticket_id) for ticket_id in only) if r is not None]


def plan_replies(record: TicketRecord, insight: Insight | None, insights: InsightIdentities,
                 messages: MessageRepository, now: datetime) -> list[Reply]:
    """One reply per conversation of the ticket's insight whose first message is stored."""
    conversation_ids = list(dict.fromkeys(
        (insight.conversation_ids if insight else []) + insights.conversations(record.insight_id)))
    evidence = messages.get(conversation_ids + (insight.message_ids if insight else []))
    by_id = {m.id: m for m in evidence}
    threads = {m.thread_id for m in evidence if m.thread_id}
    content = reply_text(record, insight)
    replies = []
    for conversation_id in conversation_ids:
        target = _target(conversation_id, by_id.get(conversation_id), threads)
        if target is None:
            continue
        reply_id = hashlib.sha256(f"{record.id}:{conversation_id}".encode()).hexdigest()[:20]
        replies.append(Reply(id=reply_id, ticket_id=record.id, insight_id=record.insight_id,
                             conversation_id=conversation_id, channel_id=target[0],
                             reply_to=target[1], content=content, nonce=reply_id,
                             queued_at=now))
    return replies


def _target(conversation_id: str, root: Message | None,
            threads: set[str]) -> tuple[str, str | None] | None:
    """(channel to post in, message to reply to): the thread itself, or the first message."""
    if conversation_id in threads:
        return conversation_id, None
    if root is None:
        return None
    if root.thread_id:
        return root.thread_id, None
    return root.channel_id, root.id


def reply_text(record: TicketRecord, insight: Insight | None) -> str:
    """The short note: the page that now answers the question, and who says so."""
    url = record.doc_url or (insight.doc.url if insight and insight.doc else None)
    title = clean_text(record.title)[:200]
    if url:
        text = (f"Thanks for asking about this. The docs have been updated to cover it: {url}\n"
                f"({title} — tracked by docloop)")
    else:
        text = (f"Thanks for asking about this. The docs team has addressed it.\n"
                f"({title} — tracked by docloop, ticket {record.identifier or record.id})")
    return text[:MAX_CONTENT]


def send_replies(outbox: ReplyOutbox, replier: Replier,
                 clock: Callable[[], datetime]) -> ReplyOutcome:
    """Post every pending reply once, recording the intent before and the message after."""
    outcome = ReplyOutcome()
    pending: Sequence[Reply] = outbox.pending()
    for number, reply in enumerate(pending):
        current = reply
        try:
            if reply.state == "sending" and (found := replier.find_sent(reply)) is not None:
                outbox.update(_sent(reply, found, clock()))
                outcome.found += 1
                continue
            current = reply.model_copy(update={"state": "sending", "attempted_at": clock()})
            outbox.update(current)  # the intent, before anything leaves
            outbox.update(_sent(current, replier.send(current), clock()))
            outcome.sent += 1
        except TransientError as exc:
            outbox.update(current.model_copy(update={"error": f"will retry: {exc}"}))
            outcome.errors.append(f"stopped, will resume: {exc}")
            outcome.pending += len(pending) - number
            break
        except OutcomeUnknown as exc:  # stays "sending": the next drain looks for it first
            outbox.update(current.model_copy(update={
                "error": f"sent or not, unknown: {exc}; the next delivery looks for it"}))
            outcome.errors.append(f"not confirmed, will look for it: {exc}")
            outcome.pending += 1
        except PermanentError as exc:
            outbox.update(current.model_copy(update={"state": "failed", "error": str(exc)}))
            outcome.failed += 1
            outcome.errors.append(str(exc))
    return outcome


def deliver_replies(stores: Stores, replier: Replier,
                    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                    only: Collection[str] | None = None) -> ReplyOutcome:
    """Queue what done tickets owe (`only` these, when given) and send every pending reply
    (the CLI's run, sync and set-status and `docloop serve`'s reply worker call this)."""
    queued = queue_replies(stores.records, stores.insights, stores.messages, stores.replies,
                           clock(), only)
    outcome = send_replies(stores.replies, replier, clock)
    outcome.queued = queued
    return outcome


def _sent(reply: Reply, message_id: str, at: datetime) -> Reply:
    return reply.model_copy(update={"state": "sent", "message_id": message_id, "sent_at": at,
                                    "error": ""})
