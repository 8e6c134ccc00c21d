"""The review desk on `store = "dynamodb"` (moto), read through the storage families.

The same home is seeded into SQLite and into DynamoDB, through each store's families as
`docloop run` writes them (tests/desk_support.py); every page of the DynamoDB desk must
then show what the SQLite desk shows (`queries.Desk`'s SQL is the reference for
`store_desk.StoreDesk`). And end to end over moto: the list, an insight, accept files the
ticket through the tracker, the list and the CLI see it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from docloop import registry
from docloop.cli import main
from docloop.config import Settings
from docloop.models import Insight, PageHit, ReviewRecord
from docloop.stores import Stores
from docloop.web.app import create_app
from tests.aws_support import aws_settings
from tests.desk_support import file_ticket_in, insight, record_run_in

pytestmark = pytest.mark.aws
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SECRET = "s" * 20
PAGES = ("/", "/?status=filed", "/?status=done", "/?status=proposed", "/?verdict=missing",
         "/?channel=general", "/?page=guide/auth.md", "/?page=guide/keys.md", "/?p=2",
         "/coverage", "/runs",
         "/runs/r1", "/runs/r2", "/insights/ins_00001", "/insights/ins_00004",
         "/insights/ins_00006")


def _seed(stores: Stores) -> None:
    """Two runs: one insight grows, one fades, one is new, one done, one regressed, one
    missing its page, one rejected and one merged away; 55 more to need a second page."""
    first = [insight(n, NOW, score=10.0 - n) for n in range(1, 5)]
    first.append(insight(5, NOW, score=3.5, verdict="missing"))
    record_run_in(stores, first, "r1", NOW - timedelta(days=7), messages=40)
    second = [insight(1, NOW, score=9.0, conversations=5), first[1], first[3], first[4],
              insight(6, NOW, score=8.5, channels=("general",), doc_path="guide/limits.md"),
              insight(7, NOW, score=1.5), insight(8, NOW, score=1.2),
              *(insight(100 + n, NOW, score=0.5 + n / 100) for n in range(55))]
    for grown in (first[0], second[0]):  # the pages its ticket names next survive the store
        assert grown.doc is not None
        grown.doc.alternatives = [PageHit(path="guide/keys.md", heading="API keys",
                                          url="https://docs.example/guide/keys.md",
                                          anchor="api-keys", score=0.5)]
    record_run_in(stores, second, "r2", NOW, messages=12)
    file_ticket_in(stores, first[3], NOW - timedelta(days=6),
                   [("done", NOW - timedelta(days=2), "linear-webhook")])
    file_ticket_in(stores, first[1], NOW - timedelta(days=5),
                   [("done", NOW - timedelta(days=4), "linear-webhook"),
                    ("regressed", NOW - timedelta(days=1), "docloop")])
    stores.reviews.put(ReviewRecord(insight_id="ins_00007", state="rejected",
                                    rejected_size=3, updated_at=NOW))
    stores.reviews.put(ReviewRecord(insight_id="ins_00008", state="rejected",
                                    merged_into="ins_00006", updated_at=NOW))
    stores.reviews.put(ReviewRecord(insight_id="ins_00001", state="proposed",
                                    page="guide/keys.md", updated_at=NOW))
    stores.reviews.put(ReviewRecord(insight_id="ins_00006", state="proposed",
                                    title="Rate limits: say what 429 means", page="none",
                                    updated_at=NOW))


def _client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, now=lambda: NOW))


def _comparable(html: str) -> str:
    """A page without what differs per app (the signed CSRF field)."""
    return re.sub(r'name="csrf" value="[0-9a-f]+"', 'name="csrf"', html)


@pytest.fixture
def dynamo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    with aws_settings(tmp_path / "aws-home", monkeypatch, linear_webhook_secret=SECRET,
                      review=True) as settings:
        yield settings


def test_every_page_shows_what_the_sqlite_desk_shows(tmp_path: Path,
                                                     dynamo: Settings) -> None:
    sqlite = Settings(home=tmp_path / "home", linear_webhook_secret=SECRET, review=True)
    for settings in (sqlite, dynamo):
        with registry.open_stores(settings) as stores:
            _seed(stores)
    reference, desk = _client(sqlite), _client(dynamo)
    for path in PAGES:
        expected, got = reference.get(path), desk.get(path)
        assert got.status_code == expected.status_code == 200, (path, got.text[:300])
        assert _comparable(got.text) == _comparable(expected.text), path
    listed = desk.get("/").text
    assert "ins_00008" not in listed  # merged away: it lives on in ins_00006
    assert "Rate limits: say what 429 means" in listed  # the reviewer's title
    row = re.search(r'/insights/ins_00006">.*?</tr>', listed, re.S)
    assert row is not None and "guide/limits.md" not in row.group(0)  # and "no page"
    assert "<td>missing</td>" in row.group(0)
    # the reviewer's pages count everywhere the desk groups or filters by page
    assert re.findall(r'<td><a href="/insights/([^"]+)">',
                      desk.get("/?page=guide/keys.md").text) == ["ins_00001"]
    assert "ins_00006" in desk.get("/?verdict=missing").text
    coverage = desk.get("/coverage").text
    assert "guide/keys.md" in coverage and "guide/limits.md" not in coverage
    assert "guide/keys.md#api-keys" in desk.get("/insights/ins_00001").text


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found is not None, page[:300]
    return found.group(1)


def _proposed(settings: Settings) -> Insight:
    with registry.open_stores(settings) as stores:
        item = insight(42, NOW, score=7.0, title="Uploads over 10 MB fail with 413")
        record_run_in(stores, [item, insight(43, NOW, score=2.0)], "r1", NOW)
        for proposed in ("ins_00042", "ins_00043"):
            stores.reviews.put(ReviewRecord(insight_id=proposed, state="proposed",
                                            updated_at=NOW))
    return item


def test_list_detail_and_accept_file_the_ticket_end_to_end(dynamo: Settings) -> None:
    item = _proposed(dynamo)
    client = _client(dynamo)
    listed = client.get("/?status=proposed")
    assert listed.status_code == 200
    assert re.findall(r'<td><a href="/insights/([^"]+)">', listed.text) == [
        "ins_00042", "ins_00043"]
    detail = client.get("/insights/ins_00042")
    assert detail.status_code == 200 and item.title in detail.text
    assert item.quotes[0].text in detail.text
    accepted = client.post("/insights/ins_00042/accept", data={"csrf": _csrf(detail.text)},
                           follow_redirects=False)
    assert accepted.status_code == 303, accepted.text[:300]
    assert accepted.headers["location"] == "/insights/ins_00042?done=accept"
    outbox = sorted(dynamo.outbox_dir.glob("*.md"))
    assert len(outbox) == 1 and item.title in outbox[0].read_text(encoding="utf-8")
    with registry.open_stores(dynamo) as stores:
        ticket = stores.records.by_insight("ins_00042")
        review = stores.reviews.get("ins_00042")
    assert ticket is not None and review is not None and review.state == "accepted"
    assert ticket.id in client.get("/insights/ins_00042").text
    # the list sees the decision at once (the desk forgets its cached state when it acts)
    filed = client.get("/?status=filed").text
    assert re.findall(r'<td><a href="/insights/([^"]+)">', filed) == ["ins_00042"]
    again = client.post("/insights/ins_00042/accept", data={"csrf": _csrf(detail.text)},
                        follow_redirects=False)
    assert again.status_code == 303 and len(list(dynamo.outbox_dir.glob("*.md"))) == 1


def test_the_desk_moves_an_insight_to_another_page_before_filing(dynamo: Settings) -> None:
    """The edit form's page list: docloop's page, the match's next pages and "no page";
    the ticket is filed on the page the reviewer chose."""
    with registry.open_stores(dynamo) as stores:
        item = insight(44, NOW, score=9.0)
        assert item.doc is not None
        item.doc.alternatives = [PageHit(path="guide/keys.md", heading="API keys",
                                         url="https://docs.example/guide/keys.md",
                                         anchor="api-keys", score=0.5)]
        record_run_in(stores, [item], "r1", NOW)
        stores.reviews.put(ReviewRecord(insight_id=item.id, state="proposed", updated_at=NOW))
    client = _client(dynamo)
    detail = client.get(f"/insights/{item.id}").text
    assert re.findall(r'<option value="([^"]+)"( selected)?>', detail)[-3:] == [
        ("guide/auth.md", " selected"), ("guide/keys.md", ""), ("none", "")]
    saved = client.post(f"/insights/{item.id}/edit", follow_redirects=False, data={
        "csrf": _csrf(detail), "title": item.title, "suggestion": "", "page": "guide/keys.md"})
    assert saved.status_code == 303, saved.text[:300]
    moved = client.get(f"/insights/{item.id}").text
    assert '<option value="guide/keys.md" selected>' in moved
    assert "page: guide/keys.md (docloop: guide/auth.md)" in moved  # the decisions log
    assert ('<a href="https://docs.example/guide/keys.md" rel="noopener noreferrer">'
            "guide/keys.md</a>") in client.get("/coverage").text  # linked there too
    client.post(f"/insights/{item.id}/accept", data={"csrf": _csrf(moved)},
                follow_redirects=False)
    (ticket,) = sorted(dynamo.outbox_dir.glob("*.md"))
    assert "**Docs:** [guide/keys.md › API keys](https://docs.example/guide/keys.md#api-keys)" \
        in ticket.read_text(encoding="utf-8")


def test_the_review_cli_lists_and_accepts_on_dynamodb(dynamo: Settings,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _proposed(dynamo)
    for name, value in {"DOCLOOP_HOME": str(dynamo.home), "DOCLOOP_STORE": "dynamodb",
                        "DOCLOOP_DYNAMODB_TABLE": str(dynamo.dynamodb_table),
                        "DOCLOOP_S3_BUCKET": str(dynamo.s3_bucket)}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    listed = runner.invoke(main, ["review", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert '"ins_00042"' in listed.output and '"proposed"' in listed.output
    accepted = runner.invoke(main, ["review", "accept", "ins_00042"])
    assert accepted.exit_code == 0, accepted.output
    with registry.open_stores(dynamo) as stores:
        assert stores.records.by_insight("ins_00042") is not None


def test_the_read_model_replaces_a_rerecorded_run_and_keeps_what_came_first(
        dynamo: Settings) -> None:
    with registry.open_stores(dynamo) as stores:
        runs = stores.runs
        early = insight(1, NOW - timedelta(days=30), conversations=2)
        record_run_in(stores, [early], "r1", NOW - timedelta(days=7))
        later = insight(1, NOW, conversations=4)
        record_run_in(stores, [later, insight(2, NOW)], "r2", NOW)
        record_run_in(stores, [later, insight(2, NOW)], "r2", NOW)  # recorded again
        assert [r.run_id for r in runs.runs()] == ["r2", "r1"]
        newest = runs.runs()[0]
        assert runs.latest_seq() == newest.seq  # type: ignore[attr-defined]
        previous = runs.previous(newest.seq)  # type: ignore[attr-defined]
        assert previous is not None and previous.run_id == "r1"
        assert [r["insight_id"] for r in runs.run_insights(newest.seq)] == [  # type: ignore[attr-defined]
            "ins_00001", "ins_00002"]
        assert [r["run_id"] for r in runs.insight_runs("ins_00001")] == [  # type: ignore[attr-defined]
            "r2", "r1"]  # the replaced run's rows are gone, not listed twice
        summary = runs.summary("ins_00001")  # type: ignore[attr-defined]
        assert summary is not None and summary["conversations"] == 4
        assert summary["first_seen"] == early.first_seen.isoformat()  # type: ignore[union-attr]
        assert summary["first_run_seq"] == previous.seq
        assert len(summary["days"]) == 4
