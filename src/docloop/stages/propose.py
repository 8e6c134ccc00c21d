"""Review before filing, as a run applies it (setting `review`).

Input: the insights a run would file, the record store and the review store.
Output: the insights to file now — only those whose ticket already exists, so
their ticket keeps receiving new evidence as without review — and every other
insight marked with its review state:

- never reviewed → `proposed` (logged as docloop's decision);
- `proposed` → stays proposed;
- `rejected` → stays rejected (suppressed) until its conversation count
  reaches `review_regrow_factor` times its size at rejection; then it is
  proposed again with the note "grew from N to M since rejected";
- `accepted` without a ticket (its tracker filed nothing then) → filed now,
  with the reviewer's edits; an insight whose ticket exists carries them too, so a
  tracker that re-renders the ticket body (the outbox) keeps them.

`review_stats` counts the review states for the run report, overall and per
category and verdict, with the acceptance rate (accepted / decided).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from docloop.models import (
    Decision,
    Insight,
    ReviewCounts,
    ReviewRecord,
    ReviewStats,
    Suggestion,
)
from docloop.review_doc import moved
from docloop.stores import InsightIdentities, RecordStore, ReviewStore

DOCLOOP_ACTOR = "docloop"


@dataclass
class Proposal:
    """What a run with review on does: insights to file now, and what it proposed."""

    to_file: list[Insight] = field(default_factory=list)
    proposed_now: int = 0
    suppressed: int = 0


def propose_for_review(insights: Iterable[Insight], records: RecordStore,
                       reviews: ReviewStore, regrow_factor: float, now: datetime) -> Proposal:
    """Mark each insight's review state; return the ones whose ticket must be written."""
    proposal = Proposal()
    for insight in insights:
        review = reviews.get(insight.id)
        insight.review = review.state if review else None
        if records.by_insight(insight.id) is not None or (
                review is not None and review.state == "accepted"):
            _apply_edits(insight, review)  # a ticket re-rendered later keeps them too
            proposal.to_file.append(insight)
        elif review is None:
            _propose(reviews, ReviewRecord(insight_id=insight.id, updated_at=now), insight, now,
                     "proposed", f"size {len(insight.conversation_ids)}")
            proposal.proposed_now += 1
        elif review.state == "rejected":
            if _regrown(review, insight, regrow_factor):
                note = (f"grew from {review.rejected_size} to {len(insight.conversation_ids)} "
                        "conversations since rejected")
                _propose(reviews, review.model_copy(update={"note": note}), insight, now,
                         "proposed again", note)
                proposal.proposed_now += 1
            else:
                proposal.suppressed += 1
        if review is not None and review.note and insight.review_note == "":
            insight.review_note = review.note
    return proposal


def _apply_edits(insight: Insight, review: ReviewRecord | None) -> None:
    """The reviewer's page, title and suggestion on the run's insight, in place: what is
    filed, and what the report shows."""
    edited = edited_insight(insight, review)
    insight.title, insight.suggestion, insight.doc = edited.title, edited.suggestion, edited.doc


def _regrown(review: ReviewRecord, insight: Insight, factor: float) -> bool:
    """A rejected insight comes back once it reaches `factor` times its size at rejection."""
    if review.merged_into or review.rejected_size is None:
        return False
    return len(insight.conversation_ids) >= factor * max(review.rejected_size, 1)


def _propose(reviews: ReviewStore, record: ReviewRecord, insight: Insight, now: datetime,
             action: str, detail: str) -> None:
    proposed = record.model_copy(update={"state": "proposed", "updated_at": now})
    with reviews.atomic():
        reviews.put(proposed)
        reviews.log(Decision(insight_id=insight.id, actor=DOCLOOP_ACTOR, at=now, action=action,
                             detail=detail))
    insight.review = "proposed"
    insight.review_note = proposed.note


def edited_insight(insight: Insight, review: ReviewRecord | None) -> Insight:
    """The insight as its ticket will show it: the reviewer's page, title and suggestion.

    An edited suggestion drops the generated patch, which was made for the
    original text and no longer matches what the reviewer wrote; a moved page
    replaces the generated suggestion (review_doc.moved).
    """
    if review is None:
        return insight
    if review.page is not None:
        insight = moved(insight, review.page, review.page_url,
                        (review.page_heading, review.page_anchor))
    changes: dict[str, object] = {}
    if review.title is not None:
        changes["title"] = review.title
    if review.suggestion is not None and insight.suggestion is not None:
        changes["suggestion"] = insight.suggestion.model_copy(
            update={"text": review.suggestion, "patch": None})
    elif review.suggestion is not None:
        missing = insight.doc is None or insight.doc.verdict == "missing"
        changes["suggestion"] = Suggestion(kind="new-page" if missing else "edit",
                                           text=review.suggestion)
    return insight.model_copy(update=changes) if changes else insight


def review_stats(reviews: dict[str, ReviewRecord], insights: Iterable[Insight],
                 proposal: Proposal | None = None) -> ReviewStats:
    """Review states of every reported insight, overall and per category and verdict.

    Merged-away insights are left out: they are part of another insight now.
    """
    stats = ReviewStats(proposed_now=proposal.proposed_now if proposal else 0,
                        suppressed=proposal.suppressed if proposal else 0)
    for insight in insights:
        review = reviews.get(insight.id)
        if review is None or review.merged_into:
            continue
        verdict = insight.doc.verdict if insight.doc else "none"
        for counts in (stats, stats.by_category.setdefault(insight.category, ReviewCounts()),
                       stats.by_verdict.setdefault(verdict, ReviewCounts())):
            _count(counts, review.state)
    for counts in (stats, *stats.by_category.values(), *stats.by_verdict.values()):
        decided = counts.accepted + counts.rejected
        counts.acceptance_rate = round(counts.accepted / decided, 3) if decided else None
    return stats


def run_review_stats(reviews: ReviewStore, insights: InsightIdentities,
                     reported: list[Insight], started_at: datetime) -> ReviewStats:
    """`review_stats` for a run report: every reported insight's review, and of this
    run's insights those it proposed (docloop's decision since `started_at`) and those
    it left suppressed (rejected, no ticket)."""
    proposed_now = sum(1 for i in reported if i.review == "proposed" and i.ticket is None
                       and any(d.actor == DOCLOOP_ACTOR and d.at >= started_at
                               for d in reviews.decisions(i.id)))
    suppressed = sum(1 for i in reported if i.review == "rejected" and i.ticket is None)
    return review_stats(reviews.all(), insights.snapshots(),
                        Proposal(proposed_now=proposed_now, suppressed=suppressed))


def _count(counts: ReviewCounts, state: str) -> None:
    if state == "proposed":
        counts.proposed += 1
    elif state == "accepted":
        counts.accepted += 1
    else:
        counts.rejected += 1
