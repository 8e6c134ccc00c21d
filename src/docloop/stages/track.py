"""Ticket status: list, change by hand, and pull from the tracker.

`docloop tickets` reads the records store; `set-status` changes a local
ticket (and its outbox file's status line); `sync` asks the tracker for the
current state of tickets that are not finished and records each transition
with its source, so the history shows where every change came from. A state
counts only if it was entered after the ticket's current status (a webhook
may have brought a newer one), and a `regressed` ticket keeps its status
unless the tracker's state was entered after the regression
(`stages.regression`, the rule the webhook uses too). Both `set-status` and
`sync` hold the home's run lock, so they never interleave with a run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from docloop import registry
from docloop.backends.records.base import RecordStore
from docloop.backends.replies.base import Replier
from docloop.backends.trackers.base import Tracker, TrackerState
from docloop.backends.trackers.local import write_status_line
from docloop.config import Settings
from docloop.errors import InputError
from docloop.lock import DEFAULT_WAIT_S
from docloop.models import STATUSES, Status, TicketRecord
from docloop.stages.preflight import checked_tracker
from docloop.stages.regression import hold
from docloop.stages.reply import deliver_replies
from docloop.writers import holding_writes

FINISHED = ("done", "canceled")


def _store(settings: Settings) -> RecordStore:
    return registry.build_records(settings)


def list_tickets(settings: Settings) -> list[TicketRecord]:
    """Every ticket docloop filed, most recently updated first."""
    return _store(settings).all()


def ticket_json(record: TicketRecord) -> dict[str, Any]:
    """One ticket in the `docloop tickets --json` contract (DESIGN §5)."""
    return {
        "id": record.id, "tracker": record.tracker, "external_id": record.external_id,
        "identifier": record.identifier, "url": record.url, "status": record.status,
        "insight_id": record.insight_id, "title": record.title, "doc_path": record.doc_path,
        "conversations": record.conversations, "users": record.users,
        "updated_at": record.updated_at.isoformat(),
    }


def set_status(settings: Settings, ticket_id: str, status: str,
               lock_wait_s: float = DEFAULT_WAIT_S) -> str:
    """Change a local ticket's status (tracker tickets follow their tracker)."""
    if status not in STATUSES:
        raise InputError(f"unknown status '{status}' (use one of: {', '.join(STATUSES)})")
    replier = _replier(settings)  # a missing bot token: exit 2 before the change
    with holding_writes(settings, lock_wait_s):
        return _set_status(settings, ticket_id, cast(Status, status)) + _replies(settings,
                                                                                replier)


def _set_status(settings: Settings, ticket_id: str, status: Status) -> str:
    store = _store(settings)
    record = store.get(ticket_id)
    if record is None:
        raise InputError(f"no ticket '{ticket_id}' (see `docloop tickets`)")
    if record.tracker != "local":
        raise InputError(f"ticket {ticket_id} lives in {record.tracker}; change it there "
                         "(its webhook or `docloop tickets sync` brings the status back)")
    changed = store.set_status(ticket_id, status, datetime.now(UTC), "cli")
    _update_outbox(settings, ticket_id, status)
    if not changed:
        return f"{ticket_id}: already {status}"
    return f"{ticket_id}: {record.status} -> {status}"


def sync_tickets(settings: Settings, lock_wait_s: float = DEFAULT_WAIT_S) -> str:
    """Pull current states of unfinished tickets from the configured tracker."""
    if settings.tracker in ("local", "none"):
        raise InputError(f"tracker '{settings.tracker}' has nothing to sync; "
                         "use --config with tracker = \"linear\"")
    tracker = checked_tracker(settings)  # a wrong key or team: exit 2 before any write
    replier = _replier(settings)
    with holding_writes(settings, lock_wait_s):
        return _sync(settings, tracker) + _replies(settings, replier)


def _replier(settings: Settings) -> Replier | None:
    return registry.build_replier(settings) if settings.discord_reply_on_done else None


def _replies(settings: Settings, replier: Replier | None) -> str:
    """Send the Discord replies done tickets owe (`discord_reply_on_done`); one more line."""
    if replier is None:
        return ""
    try:
        with registry.open_stores(settings) as stores:
            return "\n" + deliver_replies(stores, replier).summary()
    finally:
        replier.close()


def _sync(settings: Settings, tracker: Tracker) -> str:
    with registry.open_stores(settings) as stores:
        return _sync_records(settings, tracker, stores.records)


def _sync_records(settings: Settings, tracker: Tracker, store: RecordStore) -> str:
    open_records = [r for r in store.all()
                    if r.tracker == settings.tracker and r.status not in FINISHED]
    states = tracker.fetch_statuses(open_records)
    now = datetime.now(UTC)
    asked = {r.id for r in open_records}
    outcomes = [_apply_state(store, tid, state, now, f"{settings.tracker}-sync")
                for tid, state in states.items() if tid in asked]
    summary = (f"synced {len(open_records)} ticket(s) from {settings.tracker}: "
               f"{outcomes.count('changed')} changed")
    kept = outcomes.count("kept")
    if kept:
        summary += (f", {kept} kept regressed (no state change in {settings.tracker} since "
                    "the regression)")
    stale = outcomes.count("stale")
    if stale:
        summary += (f", {stale} ignored as older than the ticket's current status (see the "
                    "ticket's history)")
    return summary


def _apply_state(store: RecordStore, ticket_id: str, state: TrackerState,
                 now: datetime, source: str) -> str:
    """Record the tracker's state unless it is stale or a regression holds.

    Returns changed, same, kept (a regressed ticket stays) or stale. The
    record is read again inside the write transaction, so a webhook applied
    meanwhile is ordered against, not overwritten. A state without a known
    start is dated by this read: it was current then.
    """
    changed_at = state.since or now
    with store.atomic():
        record = store.get(ticket_id)
        if record is None:
            return "same"
        held = hold(record, changed_at, shows_change=state.since is not None)
        if held is None:
            changed = store.set_status(ticket_id, state.status, now, source,
                                       changed_at=changed_at)
            return "changed" if changed else "same"
        if record.status == state.status:
            return "same"
        if held.stale and not _already_noted(record, state, changed_at):
            store.note_ignored(ticket_id, state.status, now, source,
                               f"ignored: {held.reason}", changed_at)
        return "kept" if record.status == "regressed" else "stale"


def _already_noted(record: TicketRecord, state: TrackerState, changed_at: datetime) -> bool:
    """A sync run daily must not add the same ignored state to the history each time."""
    last = record.history[-1] if record.history else None
    return (last is not None and not last.applied and last.status == state.status
            and last.changed_at == changed_at)


def _update_outbox(settings: Settings, ticket_id: str, status: str) -> None:
    write_status_line(settings.outbox_dir / f"{ticket_id}.md", status)
