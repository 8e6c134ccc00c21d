"""File one ticket per insight, once.

Input: an `Insight` (with doc match and suggestion), a `Tracker` and a
`RecordStore`. Output: a `TicketRef` saying what happened:

- no record for the insight → the tracker creates a ticket (`created`);
- a record, and no conversation or message the ticket has not seen →
  nothing is sent (`unchanged`), so a re-run over the same data is silent;
- new evidence for an open ticket → the tracker adds it (`updated`) and the
  stored counts rise;
- new evidence after the ticket was `done` → a regression: status becomes
  `regressed` (the tracker may reopen or file a linked ticket per its policy).

A ticket names the other open tickets of its tracker on the same docs section
(`related_tickets`): two insights matched to one section are often one problem
the clustering split, or two that one edit answers, and are worth one look. The
tracker shows them in the body (Linear also links the issues); nothing is merged.

docloop's ticket id is derived from the insight fingerprint, so a retry after
a crash asks the tracker to create the *same* ticket, which trackers treat
idempotently. The tracker writes first and the record follows in one
transaction: a crash in between leaves the record behind, so the re-run sends
the same evidence again (the local outbox then drops the section the lost
attempt wrote, `backends.trackers.local`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from docloop.backends.records.base import RecordStore
from docloop.backends.trackers.base import EvidenceDelta, Filed, Tracker
from docloop.models import Insight, TicketLink, TicketRecord, TicketRef

CLOSED = ("done",)
#: a ticket in one of these states is still being worked on, so worth naming beside another
OPEN = ("open", "in_progress", "regressed")
#: at most this many related tickets are named (newest update first)
MAX_RELATED = 5


def ticket_id_for(insight_id: str, generation: int = 0) -> str:
    """docloop's ticket id: stable per insight (and per regression generation)."""
    digest = hashlib.sha256(f"{insight_id}:{generation}".encode()).hexdigest()[:10]
    return f"DL-{digest}"


def file_insight(insight: Insight, tracker: Tracker, records: RecordStore,
                 now: datetime) -> TicketRef:
    """Create, update or leave the insight's ticket; returns what was done."""
    record = records.by_insight(insight.id)
    if record is None:
        return _create(_with_related(insight, records, tracker), tracker, records, now,
                       ticket_id_for(insight.id))
    delta = evidence_delta(record, insight)
    if not (delta.new_conversation_ids or delta.new_message_ids):
        return _ref(record, tracker.name, "unchanged")
    insight = _with_related(insight, records, tracker)
    delta.regression = record.status in CLOSED
    filed = tracker.update(record, insight, delta)
    if filed is not None:
        generation = 1 + sum(1 for r in records.all() if r.insight_id == insight.id)
        return _create(insight, tracker, records, now, ticket_id_for(insight.id, generation),
                       filed=filed)
    updated = _merge_evidence(record, insight, now)
    with records.atomic():  # evidence and regression status together, or neither
        records.put(updated)
        if delta.regression:
            records.set_status(record.id, "regressed", now, source="docloop",
                               note="the problem came back after the ticket was done")
    if delta.regression:
        updated = records.get(record.id) or updated
    return _ref(updated, tracker.name, "updated", insight.related)


def _with_related(insight: Insight, records: RecordStore, tracker: Tracker) -> Insight:
    """The insight as its tracker gets it: with the open tickets on its section (the
    local tracker re-renders the body on every update, so the list stays current)."""
    return insight.model_copy(update={"related": related_tickets(insight, records,
                                                                 tracker.name)})


def related_tickets(insight: Insight, records: RecordStore, tracker: str) -> list[TicketLink]:
    """The open tickets of `tracker` on the insight's docs section, other than its own
    (any regression generation): what its ticket names beside itself."""
    doc = insight.doc
    if doc is None or not doc.path or not doc.url:
        return []
    found = [r for r in records.on_section(doc.url) if r.insight_id != insight.id
             and r.tracker == tracker and r.status in OPEN]
    fields = set(TicketLink.model_fields)
    return [TicketLink.model_validate(r.model_dump(include=fields)) for r in found[:MAX_RELATED]]


def evidence_delta(record: TicketRecord, insight: Insight) -> EvidenceDelta:
    """What the insight has that the ticket has not seen yet."""
    seen_conversations = set(record.conversation_ids)
    seen_messages = set(record.message_ids)
    new_messages = [m for m in insight.message_ids if m not in seen_messages]
    fresh = set(new_messages)
    return EvidenceDelta(
        new_quotes=[q for q in insight.quotes if q.message_id in fresh],
        new_conversation_ids=[c for c in insight.conversation_ids if c not in seen_conversations],
        new_message_ids=new_messages,
    )


def _create(insight: Insight, tracker: Tracker, records: RecordStore, now: datetime,
            ticket_id: str, filed: Filed | None = None) -> TicketRef:
    filed = filed or tracker.create(ticket_id, insight)
    doc = insight.doc
    record = TicketRecord(
        id=ticket_id, tracker=tracker.name, external_id=filed.external_id,
        identifier=filed.identifier, url=filed.url, status="open", insight_id=insight.id,
        title=insight.title, doc_path=doc.path if doc else None, doc_url=doc.url if doc else None,
        suggestion=insight.suggestion.text if insight.suggestion else "",
        conversations=len(insight.conversation_ids), users=insight.users,
        message_ids=list(insight.message_ids), conversation_ids=list(insight.conversation_ids),
        created_at=now, updated_at=now,
    )
    records.put(record)
    return _ref(record, tracker.name, "created", insight.related)


def _merge_evidence(record: TicketRecord, insight: Insight, now: datetime) -> TicketRecord:
    conversations = list(dict.fromkeys(record.conversation_ids + insight.conversation_ids))
    messages = list(dict.fromkeys(record.message_ids + insight.message_ids))
    return record.model_copy(update={
        "conversation_ids": conversations, "message_ids": messages,
        "conversations": len(conversations), "users": max(record.users, insight.users),
        "updated_at": now,
    })


def _ref(record: TicketRecord, tracker: str, action: str,
         related: list[TicketLink] | None = None) -> TicketRef:
    return TicketRef.model_validate({
        "tracker": tracker, "id": record.id, "external_id": record.external_id,
        "url": record.url, "status": record.status, "action": action,
        "related": [r.id for r in related or []],
    })
