"""The review API (`docloop.review`) over real SQLite stores and the local tracker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from docloop import registry, review
from docloop.config import Settings
from docloop.errors import ConfigError, ConflictError, InputError, NotFoundError
from docloop.models import NO_PAGE, Insight, PageHit, Suggestion
from docloop.stores import Stores
from tests.aws_support import aws_settings
from tests.helpers import insight

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)])
def settings(request: pytest.FixtureRequest, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The review API on every store implementation (DynamoDB under moto)."""
    if request.param == "sqlite":
        yield Settings(home=tmp_path / "home", review=True)
        return
    with aws_settings(tmp_path / "home", monkeypatch, review=True) as chosen:
        yield chosen


@pytest.fixture
def stores(settings: Settings) -> Iterator[Stores]:
    with registry.open_stores(settings) as opened:
        _report(opened, _insight("ins_a", ("1", "2"), score=3.0),
                _insight("ins_b", ("3", "4", "5"), score=5.0))
        yield opened


def _insight(iid: str, conversations: tuple[str, ...], score: float = 1.0) -> Insight:
    found = insight(iid, conversations=conversations, messages=conversations)
    return found.model_copy(update={
        "score": score, "problem_ids": [f"p{c}" for c in conversations],
        "author_ids": [f"u{c}" for c in conversations],
        "suggestion": Suggestion(kind="edit", text="Add an example.", patch="--- a\n+++ b\n")})


def _report(stores: Stores, *insights: Insight) -> None:
    """What a run leaves behind: identities with members, and each insight's snapshot."""
    stores.insights.save((i.id, np.array([1.0, 0.0], dtype=np.float32),
                          list(zip(i.problem_ids, i.conversation_ids, strict=True)))
                         for i in insights)
    stores.insights.save_snapshots(insights)


def _outbox(settings: Settings) -> list[Path]:
    return sorted(settings.outbox_dir.glob("*.md")) if settings.outbox_dir.is_dir() else []


def test_items_come_by_score_with_no_review_until_proposed(settings: Settings,
                                                           stores: Stores) -> None:
    items = review.review_items(settings, stores)
    assert [(i.id, i.review, i.ticket, i.size) for i in items] == [
        ("ins_b", None, None, 3), ("ins_a", None, None, 2)]
    assert items[0].page == "guide/cors.md" and items[0].verdict == "covered"


def test_accept_files_one_ticket_and_is_idempotent(settings: Settings,
                                                   stores: Stores) -> None:
    item = review.accept(settings, stores, "ins_a", "alice", NOW)
    assert item.review == "accepted" and item.decided_by == "alice" and item.decided_at == NOW
    assert item.ticket is not None and item.ticket.status == "open"
    assert [p.stem for p in _outbox(settings)] == [item.ticket.id]
    again = review.accept(settings, stores, "ins_a", "bob", NOW + timedelta(hours=1))
    assert again.ticket == item.ticket and again.decided_by == "alice"
    assert len(_outbox(settings)) == 1
    assert [d.action for d in review.decisions(settings, stores, "ins_a")] == ["accepted"]


def test_edit_then_accept_files_the_edited_title_and_suggestion(settings: Settings,
                                                                stores: Stores) -> None:
    edited = review.edit(settings, stores, "ins_a", "cli", NOW, title="  CORS: allow  origins ",
                         suggestion="Explain allow_origins with a full example.\n")
    assert edited.title == "CORS: allow origins" and edited.edited and edited.review == "proposed"
    review.accept(settings, stores, "ins_a", "cli", NOW)
    (ticket,) = _outbox(settings)
    text = ticket.read_text(encoding="utf-8")
    assert "## CORS: allow origins" in text
    assert "Explain allow\\_origins with a full example." in text or \
        "Explain allow_origins with a full example." in text
    assert "Add an example." not in text
    record = stores.records.by_insight("ins_a")
    assert record is not None and record.title == "CORS: allow origins"
    actions = [(d.actor, d.action, d.detail) for d in review.decisions(settings, stores, "ins_a")]
    assert actions[0] == ("cli", "edited", "suggestion, title") and actions[1][1] == "accepted"


def test_reject_records_reason_size_and_refuses_a_later_accept(settings: Settings,
                                                               stores: Stores) -> None:
    item = review.reject(settings, stores, "ins_b", "cli", NOW, reason="support, not docs")
    assert (item.review, item.reason, item.rejected_size) == ("rejected", "support, not docs", 3)
    with pytest.raises(ConflictError, match="rejected"):
        review.accept(settings, stores, "ins_b", "cli", NOW)
    assert _outbox(settings) == []


def test_unknown_ids_and_empty_edits_are_typed_errors(settings: Settings,
                                                      stores: Stores) -> None:
    for call in (lambda: review.accept(settings, stores, "nope", "cli", NOW),
                 lambda: review.reject(settings, stores, "nope", "cli", NOW),
                 lambda: review.edit(settings, stores, "nope", "cli", NOW, title="t"),
                 lambda: review.merge(settings, stores, "ins_a", "nope", "cli", NOW),
                 lambda: review.decisions(settings, stores, "nope")):
        with pytest.raises(NotFoundError, match="no insight 'nope'"):
            call()
    with pytest.raises(InputError, match="nothing to edit"):
        review.edit(settings, stores, "ins_a", "cli", NOW)
    with pytest.raises(ConflictError, match="into itself"):
        review.merge(settings, stores, "ins_a", "ins_a", "cli", NOW)


def test_accept_with_tracker_none_is_a_config_error(settings: Settings,
                                                    stores: Stores) -> None:
    with pytest.raises(ConfigError, match="tracker is 'none'"):
        review.accept(settings.model_copy(update={"tracker": "none"}), stores, "ins_a", "cli",
                      NOW)


def test_filed_insights_cannot_be_rejected_or_edited(settings: Settings,
                                                     stores: Stores) -> None:
    review.accept(settings, stores, "ins_a", "cli", NOW)
    with pytest.raises(ConflictError, match="filed as ticket"):
        review.reject(settings, stores, "ins_a", "cli", NOW)
    with pytest.raises(ConflictError, match="filed as ticket"):
        review.edit(settings, stores, "ins_a", "cli", NOW, title="late")


def test_merge_moves_members_and_evidence_and_is_remembered(settings: Settings,
                                                            stores: Stores) -> None:
    kept = review.merge(settings, stores, "ins_b", "ins_a", "carol", NOW)
    assert kept.size == 5 and kept.users == 5 and kept.merged_into is None
    assert set(stores.insights.members().values()) == {"ins_b"}  # the next run keeps them
    items = {i.id: i for i in review.review_items(settings, stores)}
    assert list(items) == ["ins_b"]  # the absorbed insight's identity and snapshot are gone
    absorbed = stores.reviews.get("ins_a")
    assert absorbed is not None and absorbed.merged_into == "ins_b"
    with pytest.raises(ConflictError, match="merged into ins_b"):
        review.accept(settings, stores, "ins_a", "cli", NOW)
    assert [(d.actor, d.action, d.detail) for d in review.decisions(settings, stores, "ins_a")] \
        == [("carol", "merged", "merged into ins_b")]
    assert review.decisions(settings, stores, "ins_b")[-1].detail == "absorbed ins_a"


def test_merging_away_an_insight_with_a_ticket_is_refused(settings: Settings,
                                                          stores: Stores) -> None:
    review.accept(settings, stores, "ins_a", "cli", NOW)
    with pytest.raises(ConflictError, match="other way round"):
        review.merge(settings, stores, "ins_b", "ins_a", "cli", NOW)
    merged = review.merge(settings, stores, "ins_a", "ins_b", "cli", NOW)
    assert merged.ticket is not None and merged.size == 5


def test_a_run_proposes_suppresses_and_files_accepted_insights(settings: Settings,
                                                                stores: Stores) -> None:
    from docloop.stages.propose import propose_for_review, review_stats

    a, b = (stores.insights.snapshot(i) for i in ("ins_a", "ins_b"))
    assert a is not None and b is not None
    first = propose_for_review([a, b], stores.records, stores.reviews, 2.0, NOW)
    assert (first.to_file, first.proposed_now, a.review) == ([], 2, "proposed")
    review.reject(settings, stores, "ins_b", "cli", NOW, reason="noise")
    review.edit(settings, stores, "ins_a", "cli", NOW, title="Edited")
    stores.reviews.put(stores.reviews.get("ins_a").model_copy(  # type: ignore[union-attr]
        update={"state": "accepted"}))  # accepted while the tracker was `none`: no ticket yet
    grown = b.model_copy(update={"conversation_ids": [str(n) for n in range(6)]})
    again = propose_for_review([a, grown], stores.records, stores.reviews, 2.0, NOW)
    assert [i.id for i in again.to_file] == ["ins_a"] and again.to_file[0].title == "Edited"
    assert (grown.review, grown.review_note) == (
        "proposed", "grew from 3 to 6 conversations since rejected")
    stats = review_stats(stores.reviews.all(), [a, b], again)
    assert (stats.proposed, stats.accepted, stats.rejected, stats.proposed_now) == (1, 1, 0, 1)
    assert stats.by_verdict["covered"].acceptance_rate == 1.0
    assert stats.by_category["question"].proposed == 1


def _with_candidates(stores: Stores) -> Insight:
    """ins_c, matched to guide/cors.md with two runners-up (the match's next pages)."""
    item = _insight("ins_c", ("6", "7"))
    assert item.doc is not None
    item.doc.alternatives = [
        PageHit(path="guide/preflight.md", url="https://docs.example/guide/preflight.md",
                heading="Preflight", anchor="preflight", score=0.5, similarity=0.55,
                text="Browsers send an OPTIONS preflight first."),
        PageHit(path="guide/headers.md", url="https://docs.example/guide/headers.md",
                heading="Headers", score=0.4)]
    _report(stores, item)
    return item


def test_a_reviewer_moves_an_insight_to_a_candidate_page(settings: Settings,
                                                        stores: Stores) -> None:
    """The right page is often docloop's second: the reviewer moves the ticket there, and
    the generated diff (made for docloop's page) gives way to a plain suggestion."""
    _with_candidates(stores)
    listed = {i.id: i for i in review.review_items(settings, stores)}
    assert listed["ins_c"].candidate_pages == ["guide/cors.md", "guide/preflight.md",
                                               "guide/headers.md"]
    with pytest.raises(InputError, match=r"guide/cors\.md \(docloop's\), guide/preflight\.md, "
                       r"guide/headers\.md, none"):
        review.edit(settings, stores, "ins_c", "cli", NOW, page="guide/nowhere.md")
    item = review.edit(settings, stores, "ins_c", "alice", NOW, page="guide/preflight.md")
    assert (item.page, item.verdict, item.edited) == ("guide/preflight.md", "partial", True)
    assert "docloop proposed `guide/cors.md`" in item.suggestion
    stored = stores.reviews.get("ins_c")  # with the candidate's URL, for the list views
    assert stored is not None and stored.page_url == "https://docs.example/guide/preflight.md"
    review.edit(settings, stores, "ins_c", "alice", NOW, title="Preflight fails",
                page="guide/preflight.md")  # the desk's form resends the page
    assert [d.detail for d in review.decisions(settings, stores, "ins_c")] == [
        "page: guide/preflight.md (docloop: guide/cors.md)", "title"]
    review.accept(settings, stores, "ins_c", "alice", NOW)
    (ticket,) = _outbox(settings)
    text = ticket.read_text(encoding="utf-8")
    assert ("**Docs:** [guide/preflight.md › Preflight](https://docs.example/guide/"
            "preflight.md#preflight) — verdict: **partial**") in text
    assert ("[guide/cors.md › Allowed origins](https://docs.example/guide/cors.md"
            "#allowed-origins)") in \
        text.split("**Next candidates**", 1)[1]
    assert "```diff" not in text and "Add an example." not in text
    record = stores.records.by_insight("ins_c")
    assert record is not None and record.doc_url == (
        "https://docs.example/guide/preflight.md#preflight")


def test_a_reviewer_says_no_page_covers_it_and_can_undo_a_move(settings: Settings,
                                                              stores: Stores) -> None:
    _with_candidates(stores)
    gone = review.edit(settings, stores, "ins_c", "cli", NOW, page=NO_PAGE)
    assert (gone.page, gone.verdict) == (None, "missing")
    assert gone.suggestion.startswith("No page covers this (the reviewer's call")
    assert "linked from `guide/cors.md`, `guide/preflight.md`" in gone.suggestion
    back = review.edit(settings, stores, "ins_c", "cli", NOW, page=" guide/cors.md ")
    assert (back.page, back.verdict, back.suggestion) == ("guide/cors.md", "covered",
                                                          "Add an example.")
    stored = stores.reviews.get("ins_c")
    assert stored is not None and stored.page is None
    assert [d.detail for d in review.decisions(settings, stores, "ins_c")] == [
        "page: none (docloop: guide/cors.md)", "page: guide/cors.md (docloop: guide/cors.md)"]


def test_a_later_run_keeps_the_reviewers_edits_on_the_filed_ticket(settings: Settings,
                                                                   stores: Stores) -> None:
    """New evidence re-renders an outbox ticket from the run's insight: it must be the
    insight as the reviewer left it (page, title), not docloop's original."""
    from docloop.stages.file import file_insight
    from docloop.stages.preflight import checked_tracker
    from docloop.stages.propose import propose_for_review

    _with_candidates(stores)
    review.edit(settings, stores, "ins_c", "alice", NOW, title="Preflight fails",
                page="guide/preflight.md")
    review.accept(settings, stores, "ins_c", "alice", NOW)
    snapshot = stores.insights.snapshot("ins_c")
    assert snapshot is not None
    grown = snapshot.model_copy(update={"conversation_ids": ["6", "7", "8"],
                                        "message_ids": ["6", "7", "8"]})
    (again,) = propose_for_review([grown], stores.records, stores.reviews, 2.0, NOW).to_file
    ref = file_insight(again, checked_tracker(settings), stores.records, NOW)
    assert ref.action == "updated"
    (ticket,) = _outbox(settings)
    text = ticket.read_text(encoding="utf-8")
    assert "## Preflight fails" in text and "**Docs:** [guide/preflight.md › Preflight]" in text


def test_moving_to_a_candidate_page_opens_no_docs_index(settings: Settings, stores: Stores,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a page outside the match's candidates is looked up in the docs index; a desk
    save (which always sends the page) or a candidate never builds it."""
    import docloop.stages.index_docs as index_docs

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the docs index was opened")

    monkeypatch.setattr(index_docs, "open_index", refuse)
    _with_candidates(stores)
    moved = review.edit(settings, stores, "ins_c", "cli", NOW, title="Preflight",
                        page="guide/preflight.md")
    assert moved.page == "guide/preflight.md"
    with pytest.raises(AssertionError, match="the docs index was opened"):
        review.edit(settings, stores, "ins_c", "cli", NOW, page="guide/elsewhere.md")


@pytest.mark.usefixtures("minilm")
def test_a_page_the_match_never_ranked_gets_the_section_nearest_the_questions(
        settings: Settings, stores: Stores, tmp_path: Path) -> None:
    """A long reference page moved to from outside the candidates: the ticket links the
    section that answers the insight, not the page's top."""
    from docloop.stages.index_docs import index_docs
    from tests.docs_helpers import write_docs

    write_docs(tmp_path / "docs", {"guide/deploy.md": (
        "# Deploying\n\n## Docker images\n\nBuild the image from the Dockerfile and push it "
        "to your registry.\n\n## Frontend origins behind a proxy\n\nBehind a reverse proxy, "
        "allow your frontend origin in `CORS_ORIGINS`, or browsers block the requests.\n\n"
        "## Health checks\n\nThe `/healthz` endpoint answers 200 when the app is up.\n")})
    index_docs(settings.model_copy(update={"docs_base_url": "https://docs.example/"}),
               tmp_path / "docs", [])
    moved = review.edit(settings, stores, "ins_a", "alice", NOW, page="guide/deploy.md")
    assert (moved.page, moved.page_url) == ("guide/deploy.md", "https://docs.example/guide/deploy/")
    stored = stores.reviews.get("ins_a")
    assert stored is not None and (stored.page_heading, stored.page_anchor) == (
        "Frontend origins behind a proxy", "frontend-origins-behind-a-proxy")
    assert 'section "Frontend origins behind a proxy"' in moved.suggestion
    review.accept(settings, stores, "ins_a", "alice", NOW)
    (ticket,) = _outbox(settings)
    assert ("**Docs:** [guide/deploy.md › Frontend origins behind a proxy](https://docs.example/"
            "guide/deploy/#frontend-origins-behind-a-proxy)") in ticket.read_text(encoding="utf-8")
