"""Review before filing: the one API the CLI (`docloop review ...`) and the dashboard call.

With `review` on, a run files nothing new: each new insight is `proposed`
(`stages.propose`). A person then accepts it (the ticket is filed through the
configured tracker, with their edits), rejects it with a reason (the
fingerprint stays suppressed until the insight grows past
`review_regrow_factor` times its size at rejection), edits it (title,
suggestion, or the page: one of its candidate pages, another page of the local
docs index, or none), or merges two
insights into one. Every decision is appended to a log with its actor (a
dashboard token's name, or `cli`) and time.

The review state is the insight's and separate from the ticket status of
DESIGN §5, which exists only once a ticket is filed. Mistakes a caller can
make are typed: an unknown id is `NotFoundError` (404), a request that
contradicts the state (accepting a rejected or merged insight, merging an
insight into itself) is `ConflictError` (409); both are exit 2 in the CLI.
Mutations hold the home's run lock, like `tickets set-status`, so a decision
never interleaves with a run filing the same insight.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from docloop.config import Settings
from docloop.errors import ConfigError, ConflictError, InputError, NotFoundError
from docloop.impact import DEFAULT_WEEKS, insight_impact
from docloop.lock import DEFAULT_WAIT_S
from docloop.models import (
    NO_PAGE,
    Decision,
    Insight,
    InsightImpact,
    Reply,
    ReviewOutcome,
    ReviewRecord,
    ReviewState,
    TicketRecord,
)
from docloop.review_doc import IndexedPage, PageLookup, checked_page, page_choices
from docloop.stages.propose import edited_insight
from docloop.stores import Stores
from docloop.writers import holding_writes

CLI_ACTOR = "cli"
#: decisions a person makes (the log also holds docloop's own `proposed` entries)
PERSON_ACTIONS = ("accepted", "rejected", "edited", "merged")


class TicketSummary(BaseModel):
    """The ticket an accepted insight got."""

    id: str
    identifier: str | None = None
    url: str | None = None
    status: str


class ReviewItem(ReviewOutcome):
    """One insight as a reviewer sees it: its latest state, edits applied."""

    id: str
    title: str
    score: float
    review: ReviewState | None = None
    ticket: TicketSummary | None = None
    verdict: str | None = None
    page: str | None = None
    page_url: str | None = None
    size: int = 0
    users: int = 0
    category: str = ""
    suggestion: str = ""
    edited: bool = False
    #: what `edit --page` accepts besides `none`: docloop's own page, then the pages the
    #: match ranked after it (for `missing`, the nearest pages)
    candidate_pages: list[str] = Field(default_factory=list)


def review_items(settings: Settings, stores: Stores) -> list[ReviewItem]:
    """Every reported insight, highest score first; `review` is None for insights a run
    filed or left without review (review off)."""
    reviews = stores.reviews.all()
    tickets = _tickets_by_insight(stores.records.all())
    items = [_item(i, reviews.get(i.id), tickets.get(i.id)) for i in stores.insights.snapshots()]
    return sorted(items, key=lambda item: (item.merged_into is not None, -item.score, item.id))


def review_item(settings: Settings, stores: Stores, insight_id: str) -> ReviewItem:
    """One insight's review item; NotFoundError for an unknown id."""
    insight = _snapshot(stores, insight_id)
    return _item(insight, stores.reviews.get(insight_id), stores.records.by_insight(insight_id))


def accept(settings: Settings, stores: Stores, insight_id: str, actor: str,
           now: datetime, lock_wait_s: float = DEFAULT_WAIT_S) -> ReviewItem:
    """File the insight's ticket (with the reviewer's edits) and mark it accepted.

    Accepting an accepted insight changes nothing. The ticket is filed before
    the review is stored: a crash in between leaves a ticket and a `proposed`
    review, and accepting again finds the ticket (`unchanged`) and records it.
    """
    from docloop.stages.file import file_insight
    from docloop.stages.preflight import checked_tracker

    if settings.tracker == "none":
        raise ConfigError("tracker is 'none': accepting would file nothing; set tracker "
                          "(DOCLOOP_TRACKER) to local or linear")
    with holding_writes(settings, lock_wait_s):
        insight, review = _reviewable(stores, insight_id)
        if review is not None and review.state == "rejected":
            raise ConflictError(f"insight {insight_id} is rejected ({review.reason or 'no reason'}"
                                "); it is proposed again if it grows, and can be accepted then")
        if review is not None and review.state == "accepted" \
                and stores.records.by_insight(insight_id) is not None:
            return review_item(settings, stores, insight_id)
        ticket = file_insight(edited_insight(insight, review), checked_tracker(settings),
                              stores.records, now)
        _decide(stores, _base(review, insight_id, now), actor, now, "accepted",
                f"ticket {ticket.id} ({ticket.action})", state="accepted")
    return review_item(settings, stores, insight_id)


def reject(settings: Settings, stores: Stores, insight_id: str, actor: str,
           now: datetime, reason: str = "", lock_wait_s: float = DEFAULT_WAIT_S) -> ReviewItem:
    """Reject the insight: not filed, and not proposed again until it grows."""
    with holding_writes(settings, lock_wait_s):
        insight, review = _reviewable(stores, insight_id)
        _refuse_filed(stores, insight_id, "reject")
        size = len(insight.conversation_ids)
        record = _base(review, insight_id, now).model_copy(
            update={"reason": reason.strip(), "rejected_size": size})
        _decide(stores, record, actor, now, "rejected",
                f"{reason.strip() or 'no reason given'} (size {size})", state="rejected")
    return review_item(settings, stores, insight_id)


def edit(settings: Settings, stores: Stores, insight_id: str, actor: str, now: datetime,
         title: str | None = None, suggestion: str | None = None, page: str | None = None,
         lock_wait_s: float = DEFAULT_WAIT_S) -> ReviewItem:
    """Replace the title, suggestion and/or page the ticket will carry when accepted.

    `page` is one of the insight's candidate pages (review_doc.page_choices), another page
    of the local docs index, `NO_PAGE` for "no page covers this", or docloop's own page,
    which undoes an earlier move."""
    if title is None and suggestion is None and page is None:
        raise InputError("nothing to edit: give a title (--title), a suggestion "
                         "(--suggestion-file) or a page (--page)")
    if title is not None and not title.strip():
        raise InputError("the title must not be empty")
    with holding_writes(settings, lock_wait_s):
        insight, review = _reviewable(stores, insight_id)
        _refuse_filed(stores, insight_id, "edit")
        changes: dict[str, str | None] = {}
        if title is not None:
            changes["title"] = " ".join(title.split())
        if suggestion is not None:
            changes["suggestion"] = suggestion.strip()
        if page is not None and (chosen := checked_page(
                insight, page, indexed_pages(settings, stores, insight))).page != (
                review.page if review else None):
            changes["page"] = chosen.page  # the desk's form sends the page with every save
            changes.update(page_url=chosen.url, page_heading=chosen.heading,
                           page_anchor=chosen.anchor)
        if changes:
            record = _base(review, insight_id, now).model_copy(update=changes)
            _decide(stores, record, actor, now, "edited", _edit_detail(changes, insight))
    return review_item(settings, stores, insight_id)


def indexed_pages(settings: Settings, stores: Stores, insight: Insight) -> PageLookup | None:
    """The local docs index's page lookup (a reviewer may move an insight to any page of
    it), opened only when asked: a candidate page or a title edit needs no index. None for
    a remote index, which a review decision does not open.

    A page the match did not rank comes with no section of its own, and a ticket linking
    the top of a long reference page (Vite's `config/shared-options.md` has 40 options)
    leaves the writer to search it; so the lookup names the section the docs search would
    show on that page for the insight's own query (`insight_query`, as the match searches).
    """
    if settings.docs_index != "sqlite":
        return None

    def look_up(path: str) -> IndexedPage | None:
        from docloop.stages.index_docs import open_index
        from docloop.stages.match import insight_query

        index = open_index(settings, stores)
        url = index.page_url(path)
        if url is None:
            return None
        best = index.best_section(path, insight_query(insight))
        return IndexedPage(url, best.heading, best.anchor) if best else IndexedPage(url)

    return look_up


def _edit_detail(changes: dict[str, str | None], insight: Insight) -> str:
    """The decision log's line: what changed, and where a moved insight went."""
    named = [name for name in sorted(changes) if not name.startswith("page")]
    if "page" in changes:
        proposed = insight.doc.path if insight.doc and insight.doc.path else NO_PAGE
        named.append(f"page: {changes['page'] or proposed} (docloop: {proposed})")
    return ", ".join(named)


def merge(settings: Settings, stores: Stores, keep_id: str, other_id: str, actor: str,
          now: datetime, lock_wait_s: float = DEFAULT_WAIT_S) -> ReviewItem:
    """Fold `other_id` into `keep_id`: members and evidence move, the merge is kept.

    The absorbed insight's problems now belong to the kept one in the stored
    identities, so the next run keeps them together; the absorbed one is
    marked rejected with `merged_into`. An absorbed insight with a ticket
    would orphan it, so that is refused (merge the other way round).
    """
    if keep_id == other_id:
        raise ConflictError(f"cannot merge insight {keep_id} into itself")
    with holding_writes(settings, lock_wait_s):
        keep, keep_review = _reviewable(stores, keep_id)
        other, other_review = _reviewable(stores, other_id)
        if (ticket := stores.records.by_insight(other_id)) is not None:
            raise ConflictError(f"insight {other_id} already has ticket {ticket.id}; merge it "
                                f"the other way round (keep {other_id})")
        with stores.reviews.atomic():
            stores.insights.merge(keep_id, other_id, merged_evidence(keep, other))
            absorbed = _base(other_review, other_id, now).model_copy(update={
                "merged_into": keep_id, "reason": f"merged into {keep_id}"})
            _decide(stores, absorbed, actor, now, "merged", f"merged into {keep_id}",
                    state="rejected")
            _decide(stores, _base(keep_review, keep_id, now), actor, now, "merged",
                    f"absorbed {other_id}")
    return review_item(settings, stores, keep_id)


def decisions(settings: Settings, stores: Stores, insight_id: str) -> list[Decision]:
    """The insight's decisions, oldest first (NotFoundError for an unknown insight)."""
    logged = stores.reviews.decisions(insight_id)
    if not logged:
        _snapshot(stores, insight_id)
    return logged


def impact(settings: Settings, stores: Stores, insight_id: str,
           weeks: int = DEFAULT_WEEKS, now: datetime | None = None) -> InsightImpact:
    """Questions per week in the `weeks` weeks before and after its ticket was done."""
    if weeks < 1:
        raise InputError(f"weeks must be at least 1, not {weeks}")
    _snapshot(stores, insight_id)
    return insight_impact(stores.records, stores.insights, stores.messages, insight_id, weeks,
                          now or datetime.now(UTC))


def reply_preview(settings: Settings, stores: Stores, insight_id: str,
                  now: datetime | None = None) -> list[Reply]:
    """The Discord replies the insight's ticket owes, or will owe once done (a dry run).

    Replies already queued are shown as stored (with their state and message
    id); otherwise what would be queued, state `queued`, and nothing is written.
    """
    from docloop.stages.reply import plan_replies

    insight = _snapshot(stores, insight_id)
    queued = stores.replies.for_insight(insight_id)
    if queued:
        return queued
    moment = now or datetime.now(UTC)
    record = stores.records.by_insight(insight_id)
    if record is None:  # not filed yet: the note names the page, as it will when done
        record = TicketRecord(id="(not filed)", tracker=settings.tracker, insight_id=insight_id,
                              title=edited_insight(insight, stores.reviews.get(insight_id)).title,
                              doc_url=insight.doc.url if insight.doc else None,
                              created_at=moment, updated_at=moment)
    return plan_replies(record, insight, stores.insights, stores.messages, moment)


def merged_evidence(keep: Insight, other: Insight) -> Insight:
    """The kept insight with the other's evidence added (the next run re-scores it)."""
    def union(a: list[str], b: list[str]) -> list[str]:
        return list(dict.fromkeys(a + b))

    authors = union(keep.author_ids, other.author_ids)
    seen_quotes = {q.message_id for q in keep.quotes}
    seen_threads = {t.id for t in keep.threads}
    firsts = [t for t in (keep.first_seen, other.first_seen) if t is not None]
    lasts = [t for t in (keep.last_seen, other.last_seen) if t is not None]
    return keep.model_copy(update={
        "problem_ids": union(keep.problem_ids, other.problem_ids),
        "conversation_ids": union(keep.conversation_ids, other.conversation_ids),
        "message_ids": union(keep.message_ids, other.message_ids),
        "author_ids": authors,
        "channels": union(keep.channels, other.channels),
        "users": len(authors) if authors else max(keep.users, other.users),
        "score": max(keep.score, other.score),
        "quotes": keep.quotes + [q for q in other.quotes if q.message_id not in seen_quotes],
        "questions": union(keep.questions, other.questions),
        "threads": keep.threads + [t for t in other.threads if t.id not in seen_threads],
        "first_seen": min(firsts) if firsts else None,
        "last_seen": max(lasts) if lasts else None,
    })


def _snapshot(stores: Stores, insight_id: str) -> Insight:
    insight = stores.insights.snapshot(insight_id)
    if insight is None:
        raise NotFoundError(f"no insight '{insight_id}' (see `docloop review list`)")
    return insight


def _reviewable(stores: Stores, insight_id: str) -> tuple[Insight, ReviewRecord | None]:
    """The insight and its review; ConflictError once it was merged into another."""
    review = stores.reviews.get(insight_id)
    if review is not None and review.merged_into:
        raise ConflictError(f"insight {insight_id} was merged into {review.merged_into}; "
                            f"use {review.merged_into}")
    return _snapshot(stores, insight_id), review


def _refuse_filed(stores: Stores, insight_id: str, verb: str) -> None:
    ticket = stores.records.by_insight(insight_id)
    if ticket is not None:
        raise ConflictError(f"cannot {verb} insight {insight_id}: it is filed as ticket "
                            f"{ticket.identifier or ticket.id}; change the ticket instead")


def _base(review: ReviewRecord | None, insight_id: str, now: datetime) -> ReviewRecord:
    return review or ReviewRecord(insight_id=insight_id, state="proposed", updated_at=now)


def _decide(stores: Stores, record: ReviewRecord, actor: str, now: datetime,
            action: str, detail: str, state: ReviewState | None = None) -> None:
    """Store the review and append its decision together."""
    updated = record.model_copy(update={"state": state or record.state, "decided_by": actor,
                                        "decided_at": now, "updated_at": now})
    with stores.reviews.atomic():
        stores.reviews.put(updated)
        stores.reviews.log(Decision(insight_id=record.insight_id, actor=actor, at=now,
                                    action=action, detail=detail))


def _tickets_by_insight(records: list[TicketRecord]) -> dict[str, TicketRecord]:
    """The newest ticket of each insight (`records` come newest update first)."""
    newest: dict[str, TicketRecord] = {}
    for record in records:
        current = newest.get(record.insight_id)
        if current is None or record.created_at > current.created_at:
            newest[record.insight_id] = record
    return newest


def _candidate_pages(insight: Insight) -> list[str]:
    """docloop's own page (when it has one), then the pages a reviewer may move it to."""
    own = [insight.doc.path] if insight.doc and insight.doc.path else []
    return [*own, *(hit.path for hit in page_choices(insight))]


def _item(insight: Insight, review: ReviewRecord | None,
          ticket: TicketRecord | None) -> ReviewItem:
    shown = edited_insight(insight, review)
    doc = shown.doc
    return ReviewItem(
        id=insight.id, title=shown.title, score=insight.score,
        review=review.state if review else None,
        ticket=TicketSummary(id=ticket.id, identifier=ticket.identifier, url=ticket.url,
                             status=ticket.status) if ticket else None,
        verdict=doc.verdict if doc else None, page=doc.path if doc else None,
        page_url=doc.url if doc else None, size=len(insight.conversation_ids),
        users=insight.users, category=insight.category,
        suggestion=shown.suggestion.text if shown.suggestion else "",
        edited=shown is not insight,
        candidate_pages=_candidate_pages(insight),
        **(review.model_dump(include=set(ReviewOutcome.model_fields)) if review else {}),
    )
