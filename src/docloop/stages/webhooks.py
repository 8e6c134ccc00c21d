"""Apply a verified Linear webhook to the tickets docloop filed.

Input: a parsed, signature-checked `EntityWebhookPayload` (dict). Output: a
`WebhookResult` saying what happened. Only `Issue` events touch anything, and
only for issues docloop filed (matched by the Linear issue UUID): an unknown
issue is ignored, never inserted. Linear state types map to docloop statuses
(DESIGN §5); `remove` marks the ticket canceled. Every change is appended to
the ticket's status history with source `linear-webhook`.

An `update` is a state change only when its `updatedFrom` (the previous values
of the changed fields) names `stateId`. Title, description or label edits
carry the issue's current state too, and that state may disagree with
docloop on purpose: a `regressed` ticket's issue stays completed in Linear
under the `comment` policy. So such edits are acknowledged and ignored. An
`update` without `updatedFrom` (older deliveries) falls back to the state it
carries.

Linear promises no delivery order and retries for hours, so every change is
dated by when Linear made it (the payload's `createdAt`, which a retry keeps)
and applied only if it is newer than the ticket's current status
(`stages.regression`, the rule `tickets sync` uses too): a late `started`
never moves a `done` ticket back. Such a stale change is kept in the history
as ignored. A `regressed` ticket moves only for a change shown to be made
after the regression; an `update` without `updatedFrom` shows none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from docloop.backends.records.base import RecordStore
from docloop.linear_states import STATE_TYPES, parse_time
from docloop.models import Status
from docloop.stages.regression import hold


@dataclass
class WebhookResult:
    """The outcome of one delivery, for the response and the log line."""

    outcome: str  # applied | unchanged | ignored
    reason: str
    ticket_id: str | None = None
    status: str | None = None


def apply_linear_webhook(store: RecordStore, payload: Mapping[str, Any],
                         now: datetime) -> WebhookResult:
    """Update the matching ticket's status from an Issue event."""
    if payload.get("type") != "Issue":
        return WebhookResult("ignored", f"event type {payload.get('type')!r} is not tracked")
    data = payload.get("data")
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        return WebhookResult("ignored", "Issue event without data.id")
    issue_id = data["id"]
    record = store.by_external("linear", issue_id)
    if record is None:
        return WebhookResult("ignored", f"issue {issue_id} was not filed by docloop")
    action = payload.get("action")
    skip = _not_a_transition(action, payload.get("updatedFrom"))
    if skip is not None:
        return WebhookResult("ignored", skip, record.id)
    target, note = _target_status(action, data)
    if target is None:
        return WebhookResult("ignored", note, record.id)
    if target == record.status:
        return WebhookResult("unchanged", note, record.id, target)
    changed_at = parse_time(payload.get("createdAt")) or now
    held = hold(record, changed_at, _shows_change(payload))
    if held is not None:
        if held.stale:
            store.note_ignored(record.id, target, now, "linear-webhook",
                               f"{note}; ignored: {held.reason}", changed_at)
        return WebhookResult("ignored", held.reason, record.id)
    changed = store.set_status(record.id, target, now, "linear-webhook", note, changed_at)
    return WebhookResult("applied" if changed else "unchanged", note, record.id, target)


def _not_a_transition(action: Any, updated_from: Any) -> str | None:
    """Why an `update` must leave the status alone, or None when it may change it."""
    if action != "update" or not isinstance(updated_from, Mapping):
        return None
    if "stateId" in updated_from:
        return None
    changed = ", ".join(sorted(str(k) for k in updated_from)) or "nothing"
    return f"workflow state unchanged (updated: {changed})"


def _shows_change(payload: Mapping[str, Any]) -> bool:
    """False for an `update` without `updatedFrom` (older deliveries): edit or change?

    Any other event that got this far is the change itself, made when Linear
    created the payload: `createdAt`, which a retry hours later keeps (its
    `webhookTimestamp` is fresh).
    """
    return not (payload.get("action") == "update"
                and not isinstance(payload.get("updatedFrom"), Mapping))


def _target_status(action: Any, data: Mapping[str, Any]) -> tuple[Status | None, str]:
    if action == "remove":
        return "canceled", "issue deleted in Linear"
    state = data.get("state")
    state_type = state.get("type") if isinstance(state, Mapping) else None
    if not isinstance(state_type, str) or state_type not in STATE_TYPES:
        return None, "no known workflow state in the event"
    name = state.get("name") if isinstance(state, Mapping) else None
    return STATE_TYPES[state_type], f"Linear state {name if isinstance(name, str) else state_type}"
