"""One contract per storage family, run against every implementation of it.

Each family is built through the registry from settings (`store = NAME`), so
adding an implementation means adding its name to STORES (and how to give it
a clean place to write) and nothing else: the same guarantees must then hold
for it. "dynamodb" (DynamoDB and S3) runs under moto, marked `aws`. See
docloop/stores.py for the list.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from docloop import registry
from docloop.backends.analyzers.llm_cache import Outcome
from docloop.config import Settings
from docloop.models import Decision, Insight, Message, Reply, ReviewRecord, TicketRecord
from docloop.storage.analysis_memo import Memo
from docloop.stores import Stores
from tests.aws_support import aws_settings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
#: implementations of every storage family, by their `store` setting
STORES = ["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)]


@dataclass
class Home:
    """Settings choosing the implementation, and the stores opened from them."""

    settings: Settings
    stores: Stores


@pytest.fixture(params=STORES)
def home(request: pytest.FixtureRequest, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    with ExitStack() as stack:
        if request.param == "dynamodb":
            settings = stack.enter_context(aws_settings(tmp_path / "home", monkeypatch))
        else:
            settings = Settings(home=tmp_path / "home", store=request.param)
        with registry.open_stores(settings) as stores:
            yield Home(settings, stores)


# -- records: tickets, status history, webhook deliveries ------------------------------

def _ticket(ticket_id: str = "DL-1", **extra: object) -> TicketRecord:
    fields: dict[str, object] = {"tracker": "linear", "external_id": f"uuid-{ticket_id}",
                                 "insight_id": f"ins-{ticket_id}", "title": "CORS",
                                 "created_at": NOW, "updated_at": NOW}
    return TicketRecord(id=ticket_id, **(fields | extra))  # type: ignore[arg-type]


def test_records_put_is_an_idempotent_upsert(home: Home) -> None:
    records = home.stores.records
    records.put(_ticket())
    records.put(_ticket())
    records.put(_ticket(title="CORS, retitled"))
    assert [r.title for r in records.all()] == ["CORS, retitled"]
    assert records.get("DL-1") == records.by_insight("ins-DL-1") \
        == records.by_external("linear", "uuid-DL-1")
    assert records.get("DL-2") is None and records.by_external("linear", "nope") is None


def test_records_on_a_docs_section_are_found_newest_update_first(home: Home) -> None:
    """What the file stage reads to name the open tickets on a ticket's section."""
    records, section = home.stores.records, "https://docs.example/guide/cors/#allowed-origins"
    for number, url in enumerate((section, section + "-2", section)):
        records.put(_ticket(f"DL-{number}", doc_url=url,
                            updated_at=NOW + timedelta(minutes=number)))
    assert [r.id for r in records.on_section(section)] == ["DL-2", "DL-0"]
    assert records.on_section("https://docs.example/other/") == []


def test_records_history_is_appended_in_order_and_unchanged_is_no_change(home: Home) -> None:
    records = home.stores.records
    records.put(_ticket())
    assert records.set_status("DL-1", "in_progress", NOW, "test")
    assert not records.set_status("DL-1", "in_progress", NOW, "test")
    assert records.set_status("DL-1", "done", NOW + timedelta(minutes=1), "test")
    records.note_ignored("DL-1", "open", NOW, "test", "stale", NOW - timedelta(days=1))
    assert not records.set_status("DL-404", "done", NOW, "test")
    record = records.get("DL-1")
    assert record is not None and record.status == "done"
    assert [(c.status, c.applied) for c in record.history][-3:] == [
        ("in_progress", True), ("done", True), ("open", False)]


def test_a_delivery_is_claimed_once(home: Home) -> None:
    records = home.stores.records
    assert records.claim_delivery("d-1", NOW)
    assert not records.claim_delivery("d-1", NOW + timedelta(hours=3))
    assert records.claim_delivery("d-2", NOW)


def test_atomic_writes_all_or_nothing(home: Home) -> None:
    records = home.stores.records
    with pytest.raises(RuntimeError), records.atomic():
        records.put(_ticket())
        assert records.claim_delivery("d-1", NOW)
        raise RuntimeError("crash between writes")
    assert records.all() == [] and records.claim_delivery("d-1", NOW)


def test_reads_inside_an_atomic_block_see_its_own_writes(home: Home) -> None:
    """The file stage and the webhook read back what their block wrote, before it commits."""
    records, section = home.stores.records, "https://docs.example/guide/cors/#allowed-origins"
    records.put(_ticket("DL-1", doc_url=section))
    with records.atomic():
        records.put(_ticket("DL-2", doc_url=section, updated_at=NOW + timedelta(minutes=1)))
        records.put(_ticket("DL-1", doc_url=section + "-2"))
        assert [r.id for r in records.all()] == ["DL-2", "DL-1"]
        assert [r.id for r in records.on_section(section)] == ["DL-2"]
    assert [r.id for r in records.on_section(section + "-2")] == ["DL-1"]


def test_a_record_store_on_its_own_sees_what_the_stores_wrote(home: Home) -> None:
    home.stores.records.put(_ticket())
    alone = registry.build_records(home.settings)
    try:
        assert alone.get("DL-1") == home.stores.records.get("DL-1")
    finally:
        alone.close()


# -- messages and watermarks ------------------------------------------------------------

def _message(message_id: str, minutes: int, content: str = "hi",
             edited: int | None = None) -> Message:
    return Message(id=message_id, channel_id="c1", author_id="a1", content=content,
                   timestamp=NOW + timedelta(minutes=minutes),
                   edited_at=None if edited is None else NOW + timedelta(minutes=edited))


def test_messages_upsert_is_idempotent_and_keeps_the_newest_edit(home: Home) -> None:
    messages = home.stores.messages
    assert messages.upsert([_message("1", 0), _message("2", 1)]) == 2
    assert messages.upsert([_message("1", 0), _message("2", 1)]) == 0
    assert messages.upsert([_message("1", 0, "edited", edited=5)]) == 1
    assert messages.upsert([_message("1", 0, "older edit", edited=3)]) == 0
    assert messages.count() == 2
    assert [m.content for m in messages.get(["2", "missing", "1"])] == ["hi", "edited"]


def test_messages_window_is_oldest_first_from_since(home: Home) -> None:
    messages = home.stores.messages
    messages.upsert([_message("late", 30), _message("early", 0), _message("mid", 10)])
    assert [m.id for m in messages.window(None)] == ["early", "mid", "late"]
    since = NOW + timedelta(minutes=10)
    assert [m.id for m in messages.window(since)] == ["mid", "late"]
    assert [m.id for m in messages.iter_window(since)] == ["mid", "late"]
    assert [row.id for row in messages.outline(since)] == ["mid", "late"]


def test_messages_rewrite_keeps_ids_and_counts_only_changes(home: Home) -> None:
    messages = home.stores.messages
    messages.upsert([_message("1", 0, "token=abc"), _message("2", 1, "fine")])
    changed = messages.rewrite(lambda m: m.model_copy(
        update={"content": m.content.replace("abc", "[secret]")}))
    assert changed == 1
    assert [m.content for m in messages.window(None)] == ["token=[secret]", "fine"]


def test_watermarks_by_prefix_and_snowflakes_never_move_back(home: Home) -> None:
    messages = home.stores.messages
    messages.set_watermark("discord:channel:1", "1100")
    messages.set_watermark("discord:channel:1", "1050")  # a stale writer
    messages.set_watermark("discord:channel:2", "900")
    messages.set_watermark("discord:channel:2", "1200")
    messages.set_watermark("export:a.json", "/exports/b.json")
    messages.set_watermark("export:a.json", "/exports/a.json")  # not a position: replaced
    assert messages.watermarks("discord:") == {"discord:channel:1": "1100",
                                               "discord:channel:2": "1200"}
    assert messages.watermarks("export:") == {"export:a.json": "/exports/a.json"}


def test_a_failed_transaction_stores_neither_messages_nor_watermark(home: Home) -> None:
    messages = home.stores.messages
    with pytest.raises(RuntimeError), home.stores.transaction():
        messages.upsert([_message("1", 0)])
        messages.set_watermark("discord:channel:1", "1100")
        raise RuntimeError("killed between batch and watermark")
    assert messages.count() == 0 and messages.watermarks() == {}
    with home.stores.transaction():
        with home.stores.transaction():  # a nested block joins the outer one
            messages.upsert([_message("1", 0)])
        messages.set_watermark("discord:channel:1", "1100")
    assert messages.count() == 1 and messages.watermarks() == {"discord:channel:1": "1100"}


# -- insight identities -----------------------------------------------------------------

def test_insight_identities_upsert_by_id_and_a_problem_has_one_insight(home: Home) -> None:
    insights = home.stores.insights
    first = np.array([1.0, 0.0], dtype=np.float32)
    moved = np.array([0.6, 0.8], dtype=np.float32)
    insights.save([("ins-b", first, [("p1", "c1")]), ("ins-a", first, [("p2", "c2")])])
    insights.save([("ins-b", moved, [("p1", "c1"), ("p3", "c3")]),
                   ("ins-a", first, [("p2", "c2"), ("p1", "c1")])])
    stored = insights.clusters()
    assert [(c.id, c.size) for c in stored] == [("ins-a", 2), ("ins-b", 2)]
    assert np.array_equal(stored[1].centroid, moved)
    assert insights.members() == {"p1": "ins-a", "p2": "ins-a", "p3": "ins-b"}
    insights.save_snapshots([Insight(id="ins-a", title="t", summary="s"),
                             Insight(id="unknown", title="t", summary="s")])
    assert [c.id for c in insights.clusters()] == ["ins-a", "ins-b"]  # no identity created


def test_insight_snapshots_read_back_and_merge_moves_members(home: Home) -> None:
    insights = home.stores.insights
    north = np.array([1.0, 0.0], dtype=np.float32)
    east = np.array([0.0, 1.0], dtype=np.float32)
    insights.save([("ins-a", north, [("p1", "c1"), ("p2", "c2")]),
                   ("ins-b", east, [("p3", "c3")]), ("ins-c", east, [("p4", "c4")])])
    insights.save_snapshots([Insight(id="ins-b", title="B", summary="s"),
                             Insight(id="ins-a", title="A", summary="s")])
    assert [i.id for i in insights.snapshots()] == ["ins-a", "ins-b"]  # ins-c never reported
    assert insights.snapshot("ins-c") is None and insights.snapshot("nope") is None
    merged = Insight(id="ins-a", title="A+B", summary="s", conversation_ids=["c1", "c2", "c3"])
    insights.merge("ins-a", "ins-b", merged)
    assert insights.members() == {"p1": "ins-a", "p2": "ins-a", "p3": "ins-a", "p4": "ins-c"}
    assert [c.id for c in insights.clusters()] == ["ins-a", "ins-c"]
    kept = insights.snapshot("ins-a")
    assert kept is not None and kept.title == "A+B" and kept.conversation_ids == ["c1", "c2", "c3"]
    assert insights.snapshot("ins-b") is None
    centroid = insights.clusters()[0].centroid
    assert centroid[1] > 0 and abs(float(np.linalg.norm(centroid)) - 1.0) < 1e-5


# -- review decisions ---------------------------------------------------------------------

def _review(insight_id: str, **extra: object) -> ReviewRecord:
    return ReviewRecord(insight_id=insight_id, updated_at=NOW, **extra)  # type: ignore[arg-type]


def test_reviews_upsert_by_insight_and_read_back(home: Home) -> None:
    reviews = home.stores.reviews
    assert reviews.get("ins-a") is None and reviews.all() == {}
    reviews.put(_review("ins-a"))
    rejected = _review("ins-a", state="rejected", reason="not a docs problem", rejected_size=3,
                       title="Edited", decided_by="alice", decided_at=NOW)
    reviews.put(rejected)
    reviews.put(_review("ins-b", merged_into="ins-a", state="rejected"))
    assert reviews.get("ins-a") == rejected
    assert sorted(reviews.all()) == ["ins-a", "ins-b"]
    assert reviews.all()["ins-b"].merged_into == "ins-a"


def test_decisions_are_appended_in_order_per_insight(home: Home) -> None:
    reviews = home.stores.reviews
    for minute, (insight_id, action) in enumerate([("ins-a", "proposed"), ("ins-b", "proposed"),
                                                   ("ins-a", "edited"), ("ins-a", "accepted")]):
        reviews.log(Decision(insight_id=insight_id, actor="cli", action=action,
                             at=NOW + timedelta(minutes=minute), detail=f"#{minute}"))
    assert [d.action for d in reviews.decisions("ins-a")] == ["proposed", "edited", "accepted"]
    assert [d.detail for d in reviews.decisions("ins-b")] == ["#1"]
    assert reviews.decisions("ins-c") == []
    assert reviews.decisions("ins-a")[0].at == NOW


def test_reviews_atomic_writes_all_or_nothing(home: Home) -> None:
    reviews = home.stores.reviews
    with pytest.raises(RuntimeError), reviews.atomic():
        reviews.put(_review("ins-a", state="accepted"))
        reviews.log(Decision(insight_id="ins-a", actor="cli", action="accepted", at=NOW))
        raise RuntimeError("crash between writes")
    assert reviews.get("ins-a") is None and reviews.decisions("ins-a") == []


# -- Discord replies ----------------------------------------------------------------------

def _reply(reply_id: str, ticket_id: str = "DL-1", minutes: int = 0) -> Reply:
    return Reply(id=reply_id, ticket_id=ticket_id, insight_id=f"ins-{ticket_id}",
                 conversation_id=f"c-{reply_id}", channel_id="10", content="fixed", nonce=reply_id,
                 queued_at=NOW + timedelta(minutes=minutes))


def test_replies_are_queued_once_and_keep_their_state(home: Home) -> None:
    outbox = home.stores.replies
    assert outbox.add([_reply("r1"), _reply("r2", minutes=1)]) == 2
    sent = _reply("r1").model_copy(update={"state": "sent", "message_id": "m1",
                                           "sent_at": NOW, "attempted_at": NOW})
    outbox.update(sent)
    assert outbox.add([_reply("r1"), _reply("r3", "DL-2", minutes=2)]) == 1  # r1 stays sent
    assert outbox.for_ticket("DL-1")[0] == sent
    assert [r.id for r in outbox.for_ticket("DL-1")] == ["r1", "r2"]
    assert [r.id for r in outbox.for_insight("ins-DL-2")] == ["r3"]
    assert [r.id for r in outbox.pending()] == ["r2", "r3"]
    outbox.update(_reply("r2", minutes=1).model_copy(update={"state": "sending",
                                                             "attempted_at": NOW}))
    outbox.update(_reply("r3", "DL-2", minutes=2).model_copy(update={"state": "failed",
                                                                     "error": "403"}))
    assert [(r.id, r.state) for r in outbox.pending()] == [("r2", "sending")]


def test_insight_conversations_are_every_member_ever_seen(home: Home) -> None:
    insights = home.stores.insights
    vector = np.array([1.0], dtype=np.float32)
    insights.save([("ins-a", vector, [("p1", "c1"), ("p2", "c2"), ("p3", "c2")])])
    insights.save([("ins-a", vector, [("p4", "c3")])])  # a later run's members only
    assert insights.conversations("ins-a") == ["c1", "c2", "c3"]
    assert insights.conversations("ins-z") == []


# -- caches -----------------------------------------------------------------------------

def test_vector_cache_hit_miss_and_replace(home: Home) -> None:
    cache = home.stores.embedding_cache
    assert cache.stored_dim("m") == 0 and cache.lookup("m", {"k1"}, 2) == {}
    cache.store("m", {"k1": np.array([1.0, 2.0]), "k2": np.array([3.0, 4.0])})
    cache.store("m", {"k1": np.array([5.0, 6.0])})
    assert cache.stored_dim("m") == 2 and cache.stored_dim("other-model") == 0
    found = cache.lookup("m", {"k1", "k2", "k3"}, 2)
    assert sorted(found) == ["k1", "k2"] and found["k1"].tolist() == [5.0, 6.0]
    assert cache.lookup("m", {"k1"}, 3) == {}  # vectors of another dimension are misses
    assert cache.lookup("other-model", {"k1"}, 2) == {}
    assert cache.describe()


def test_outcome_cache_hit_miss_and_replace(home: Home) -> None:
    cache = home.stores.llm_cache
    assert cache.get("k") is None and cache.count() == 0
    failed = Outcome(ok=False, error="timeout")
    cache.put("k", "extract", "gpt", "v1", failed)
    assert cache.get("k") == failed
    answered = Outcome(ok=True, response='{"x": 1}', prompt_tokens=10, completion_tokens=2)
    cache.put("k", "extract", "gpt", "v1", answered)
    cache.put("k2", "label", "gpt", "v1", failed)
    assert cache.get("k") == answered
    assert (cache.count(), cache.count(ok=True), cache.count(ok=False)) == (2, 1, 1)


# -- run history: what the review desk shows of past runs -------------------------------

def test_run_history_newest_first_by_id_and_a_rerecord_replaces(home: Home) -> None:
    from docloop.models import RunReport

    runs = home.stores.runs
    first = RunReport(run_id="r1", started_at=NOW, insights=[Insight(id="i1", title="t",
                                                                     summary="s")])
    runs.record(first)
    runs.record(RunReport(run_id="r2", started_at=NOW + timedelta(days=7), errors=["boom"]))
    runs.record(first.model_copy(update={"warnings": ["late"]}))
    assert [r.run_id for r in runs.runs()] == ["r1", "r2"]
    again = runs.run("r1")
    assert again is not None and again.warnings == ["late"]
    assert runs.run("r2") is not None and runs.run("r2").errors == ["boom"]  # type: ignore[union-attr]
    assert runs.run("nope") is None


# -- the last complete analysis, and the window digest reuse compares ---------------------

def _memo(run_id: str, ids: list[str]) -> Memo:
    return Memo(fingerprint=f"fp-{run_id}", insight_ids=ids, conversations=12, problems=30,
                run_id=run_id, saved_at=NOW)


def test_analysis_memo_is_one_replaced_by_each_save_and_forgotten(home: Home) -> None:
    memos = home.stores.analysis_memo
    assert memos.load() is None
    memos.save(_memo("r1", ["i1", "i2"]))
    memos.save(_memo("r2", ["i3"]))
    assert memos.load() == _memo("r2", ["i3"])
    memos.forget()
    assert memos.load() is None
    memos.forget()  # forgetting nothing is no error
    many = [f"insight-{n:06d}" for n in range(30_000)]  # past DynamoDB's 400 KB item
    memos.save(_memo("r3", many))
    again = registry.open_stores(home.settings)  # another process reads the same memo
    with again:
        assert again.analysis_memo.load() == _memo("r3", many)
    noted = replace(_memo("r4", ["i4"]), notes=["the indexed docs fit this run poorly"])
    memos.save(noted)
    assert memos.load() == noted  # what the analysis told the user is told again on reuse


def test_window_digest_changes_with_the_windows_messages_only(home: Home) -> None:
    """Stable while nothing is written, new on every change to the window's messages
    (a write outside the window may change it too: that only costs an analysis)."""
    messages = home.stores.messages
    since = NOW + timedelta(minutes=10)  # the window starts mid-day
    messages.upsert([_message("early", 0), _message("mid", 10), _message("next-day", 60 * 24),
                     _message("before", 5)])
    start = messages.window_digest(since)
    assert messages.window_digest(since) == start
    assert messages.count(since) == 2 and messages.count() == 4
    messages.upsert([_message("early", 0), _message("mid", 10)])  # a re-import
    assert messages.window_digest(since) == start
    with registry.open_stores(home.settings) as other:  # another process: same window
        assert other.messages.window_digest(since) == start
    # the clock moves within the first day past no message: still the same window
    assert messages.window_digest(since - timedelta(minutes=2)) == start
    changes = [lambda: messages.upsert([_message("mid", 10, "edited", edited=20)]),
               lambda: messages.upsert([_message("late", 60 * 24 + 5)]),
               lambda: messages.upsert([_message("next-day", 60 * 24, "edit", edited=61)]),
               lambda: messages.rewrite(lambda m: m.model_copy(
                   update={"content": m.content.upper()}))]
    seen = {start}
    for change in changes:
        change()
        with registry.open_stores(home.settings) as other:
            digest = other.messages.window_digest(since)
        assert digest not in seen and messages.window_digest(since) == digest
        seen.add(digest)
    assert messages.window_digest(since + timedelta(minutes=1)) not in seen  # "mid" leaves
    assert messages.window_digest(None) != messages.window_digest(since)
