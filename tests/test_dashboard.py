"""The review desk's pages, read over a home seeded as runs leave it (tests/desk_support.py)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from docloop import db, registry
from docloop.config import Settings
from docloop.models import PageHit, ReviewCounts, ReviewStats
from docloop.stages.index_docs import index_docs
from docloop.web.app import create_app
from docloop.web.dashboard.queries import PAGE_SIZE
from tests.desk_support import CHANNEL, GUILD, file_ticket, insight, record_run
from tests.docs_helpers import write_docs

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@dataclass
class Desk:
    settings: Settings
    conn: sqlite3.Connection
    client: TestClient


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    settings = Settings(home=tmp_path / "home", linear_webhook_secret="s" * 20)
    conn = db.connect(settings.db_path)
    yield Desk(settings, conn, TestClient(create_app(settings, now=lambda: NOW)))
    conn.close()


def _ids(page: str) -> list[str]:
    return re.findall(r'<td><a href="/insights/([^"]+)">', page)


def _badges(page: str, insight_id: str) -> list[str]:
    row = re.search(rf'/insights/{insight_id}">.*?</tr>', page, re.S)
    assert row is not None, insight_id
    return re.findall(r'class="badge b-([a-z_]+)"', row.group(0))


def test_the_list_is_by_score_with_status_and_trend_across_runs(desk: Desk) -> None:
    grows, steady, fades, done = (insight(n, NOW, score=s) for n, s in
                                  ((1, 4.0), (2, 3.0), (3, 2.0), (4, 1.0)))
    record_run(desk.settings, desk.conn, [grows, steady, fades, done], "r1",
               NOW - timedelta(days=7))
    grown = insight(1, NOW, score=4.0, conversations=5)
    new = insight(5, NOW, score=9.0)
    record_run(desk.settings, desk.conn, [grown, steady, new, done], "r2", NOW)
    file_ticket(desk.settings, desk.conn, done, NOW - timedelta(days=6),
                [("done", NOW - timedelta(days=2), "linear-webhook")])
    page = desk.client.get("/").text
    assert _ids(page) == ["ins_00005", "ins_00001", "ins_00002", "ins_00003", "ins_00004"]
    assert _badges(page, "ins_00005") == ["proposed", "new"]
    assert _badges(page, "ins_00001") == ["proposed", "growing"]
    assert _badges(page, "ins_00002") == ["proposed", "steady"]
    assert _badges(page, "ins_00003") == ["proposed", "fading"]  # not in the latest run
    assert _badges(page, "ins_00004") == ["done", "steady"]
    assert page.count('<svg class="spark"') == 5 and "New insights per week" in page
    per_week = re.findall(r"<title>(\d{4}-\d\d-\d\d): (\d+)</title>", page)
    assert sum(int(n) for _, n in per_week) == 5  # each insight once, in its first week
    assert all(date.fromisoformat(week).weekday() == 0 for week, _ in per_week)


def test_filters_by_status_verdict_channel_and_page(desk: Desk) -> None:
    items = [insight(1, NOW, verdict="missing", channels=["help"]),
             insight(2, NOW, doc_path="guide/cors.md", channels=["sdk-python"]),
             insight(3, NOW, channels=["help", "general"])]
    record_run(desk.settings, desk.conn, items, "r1", NOW)
    file_ticket(desk.settings, desk.conn, items[2], NOW)
    get = desk.client.get
    assert _ids(get("/?status=filed").text) == ["ins_00003"]
    assert _ids(get("/?status=proposed").text) == ["ins_00001", "ins_00002"]
    assert _ids(get("/?verdict=missing").text) == ["ins_00001"]
    assert _ids(get("/?channel=general").text) == ["ins_00003"]
    assert _ids(get("/?page=guide/cors.md").text) == ["ins_00002"]
    assert _ids(get("/?channel=help&verdict=partial").text) == ["ins_00003"]
    refused = get("/?status=lost")
    assert refused.status_code == 400
    assert "status &#39;lost&#39; is not one of proposed, accepted" in refused.text


def test_the_list_is_paginated(desk: Desk) -> None:
    items = [insight(n, NOW, score=100 - n, conversations=1) for n in range(PAGE_SIZE + 7)]
    record_run(desk.settings, desk.conn, items, "r1", NOW)
    first = desk.client.get("/").text
    second = desk.client.get("/?p=2").text
    assert len(_ids(first)) == PAGE_SIZE and len(_ids(second)) == 7
    assert 'href="/?p=2" rel="next"' in first and "page 2 of 2" in second
    assert set(_ids(first)).isdisjoint(_ids(second))
    assert desk.client.get("/?p=0").status_code == 400


def test_the_insight_page_shows_evidence_page_diff_ticket_history_and_runs(desk: Desk) -> None:
    item = insight(7, NOW, score=3.5)
    record_run(desk.settings, desk.conn, [item], "r1", NOW - timedelta(days=7))
    record_run(desk.settings, desk.conn, [item], "r2", NOW)
    file_ticket(desk.settings, desk.conn, item, NOW - timedelta(days=6),
                [("in_progress", NOW - timedelta(days=5), "linear-webhook"),
                 ("done", NOW - timedelta(days=1), "cli")])
    page = desk.client.get(f"/insights/{item.id}").text
    message = item.quotes[0].message_id
    assert f'href="https://discord.com/channels/{GUILD}/{CHANNEL}/{message}"' in page
    assert "dev_sam" in page and "in #help" in page
    assert 'href="https://docs.example/guide/auth.md#tokens"' in page
    assert '<span class="d-add">+Put the token in TP_TOKEN.</span>' in page
    assert "on topic but does not say what users asked" in page  # the verdict and why
    history = re.findall(r'<tr class=""><td><span class="badge b-(\w+)">.*?<td>([\w-]+)</td>',
                         page, re.S)
    assert history == [("open", "docloop"), ("in_progress", "linear-webhook"), ("done", "cli")]
    assert page.count('href="/runs/r') == 2
    assert "orange weeks are after the ticket was done" in page
    assert re.search(r"In the 4 weeks before the ticket was done: \d, \d, \d, \d questions", page)
    assert "discord_reply_on_done</code> is off, so nothing is sent" in page
    replies = re.findall(r"<tr><td>(\d+)</td><td>" + CHANNEL, page)
    assert replies and set(replies) <= set(item.conversation_ids)  # one per conversation


def test_a_section_url_from_a_run_keeps_one_anchor(desk: Desk) -> None:
    """A run's match stores the section's URL (anchor included); the desk linked it with the
    anchor appended a second time."""
    item = insight(11, NOW)
    assert item.doc is not None
    item.doc.url = "https://docs.example/guide/auth/#tokens"
    record_run(desk.settings, desk.conn, [item], "r1", NOW)
    page = desk.client.get(f"/insights/{item.id}").text
    assert 'href="https://docs.example/guide/auth/#tokens"' in page
    assert "#tokens#tokens" not in page


def test_the_insight_page_links_the_next_candidate_pages(desk: Desk) -> None:
    """The pages its ticket names after its own, linked to their sections (an http(s) URL
    only); a `missing` insight's nearest pages."""
    item = insight(8, NOW)
    assert item.doc is not None
    item.doc.alternatives = [
        PageHit(path="guide/keys.md", url="https://docs.example/guide/keys.md",
                heading="API keys", anchor="api-keys", score=0.5),
        PageHit(path="guide/env.md", url="javascript:alert(1)", heading="Env", score=0.4),
        PageHit(path="guide/far.md", url="https://docs.example/guide/far.md", heading="Far",
                score=0.3)]
    gone = insight(9, NOW, verdict="missing")
    assert gone.doc is not None
    gone.doc.alternatives = item.doc.alternatives
    record_run(desk.settings, desk.conn, [item, gone], "r1", NOW)
    page = desk.client.get(f"/insights/{item.id}").text
    assert "Next candidates" in page
    assert ('<a href="https://docs.example/guide/keys.md#api-keys" rel="noopener noreferrer">'
            "guide/keys.md › API keys</a>") in page
    assert "guide/env.md › Env" in page and "javascript:" not in page
    named = page.split("Next candidates", 1)[1].split("</p>", 1)[0]
    assert "guide/far.md" not in named  # two named, as on the ticket
    nearest = desk.client.get(f"/insights/{gone.id}").text
    assert "Nearest pages" in nearest and "guide/far.md › Far</a>" in nearest


def test_coverage_links_a_candidate_page_an_insight_was_moved_to(desk: Desk) -> None:
    item = insight(8, NOW)
    assert item.doc is not None
    item.doc.alternatives = [PageHit(path="guide/keys.md", heading="API keys",
                                     url="https://docs.example/guide/keys.md",
                                     anchor="api-keys", score=0.5)]
    record_run(desk.settings, desk.conn, [item], "r1", NOW)
    page = desk.client.get(f"/insights/{item.id}").text
    moved = desk.client.post(f"/insights/{item.id}/edit", follow_redirects=False, data={
        "csrf": _csrf(page), "title": item.title, "suggestion": "", "page": "guide/keys.md"})
    assert moved.status_code == 303, moved.text[:300]
    assert ('<a href="https://docs.example/guide/keys.md" rel="noopener noreferrer">'
            "guide/keys.md</a>") in desk.client.get("/coverage").text


@pytest.mark.usefixtures("minilm")
def test_a_page_typed_into_the_edit_form_moves_the_insight_and_stays_on_resave(
        desk: Desk, tmp_path: Path) -> None:
    """Beyond the match's candidates, any page of the local docs index; the edit form then
    offers it selected, so saving a new title keeps it."""
    write_docs(tmp_path / "docs", {"guide/auth.md": "# Auth\n\nTokens.\n",
                                   "guide/quotas.md": "# Quotas\n\nLimits per plan.\n"})
    index_docs(desk.settings.model_copy(update={"docs_base_url": "https://docs.example/"}),
               tmp_path / "docs", [])
    item = insight(10, NOW)
    record_run(desk.settings, desk.conn, [item], "r1", NOW)
    page = desk.client.get(f"/insights/{item.id}").text
    form = {"csrf": _csrf(page), "title": item.title, "suggestion": "", "page": "guide/auth.md"}
    typo = desk.client.post(f"/insights/{item.id}/edit", data=form | {
        "other_page": "guide/quota.md"}, follow_redirects=False)
    assert typo.status_code == 400 and "nor a page of the docs index" in typo.text
    moved = desk.client.post(f"/insights/{item.id}/edit", data=form | {
        "other_page": "guide/quotas.md"}, follow_redirects=False)
    assert moved.status_code == 303, moved.text[:300]
    shown = desk.client.get(f"/insights/{item.id}").text
    assert '<option value="guide/quotas.md" selected>' in shown
    assert 'href="https://docs.example/guide/quotas/"' in shown
    desk.client.post(f"/insights/{item.id}/edit", follow_redirects=False, data={
        "csrf": _csrf(shown), "title": "Quotas per plan", "suggestion": "",
        "page": "guide/quotas.md", "other_page": ""})
    with registry.open_stores(desk.settings) as stores:
        stored = stores.reviews.get(item.id)
    assert stored is not None and (stored.page, stored.title) == ("guide/quotas.md",
                                                                   "Quotas per plan")


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found is not None, page[:300]
    return found.group(1)


def test_insights_on_the_same_section_come_first_among_merge_candidates(desk: Desk) -> None:
    """Two insights matched to one docs section are often one problem split in two: the
    page says so and offers them first for a merge, above higher-scored ones elsewhere."""
    here = insight(1, NOW, score=2.0)
    twin = insight(2, NOW, score=1.0, title="Token rejected after login")
    elsewhere = insight(3, NOW, score=9.0, doc_path="guide/limits.md")
    filed = insight(4, NOW, score=5.0)  # same section, but filed already: nothing to merge
    record_run(desk.settings, desk.conn, [here, twin, elsewhere, filed], "r1", NOW)
    file_ticket(desk.settings, desk.conn, filed, NOW, [])
    page = desk.client.get(f"/insights/{here.id}").text
    options = re.findall(r'<option value="(ins_\d+)">([^<]*)</option>', page)
    assert [(i, label.startswith("same section · ")) for i, label in options] == [
        (twin.id, True), (elsewhere.id, False)]
    assert re.search(r'Also matched to this section and not filed.*?<a href="/insights/'
                     rf'{twin.id}">Token rejected after login</a></p>', page, re.S)
    assert "Also matched to this section" not in desk.client.get(
        f"/insights/{elsewhere.id}").text


def test_user_supplied_text_is_escaped_everywhere(desk: Desk) -> None:
    item = insight(1, NOW, title=XSS, quote_text=XSS, doc_path=f"{XSS}.md")
    record_run(desk.settings, desk.conn, [item], "r1", NOW)
    for path in ("/", f"/insights/{item.id}", "/runs/r1", "/coverage", "/?channel=" + XSS):
        page = desk.client.get(path).text
        assert "<script>" not in page and "<img src=x" not in page, path
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in desk.client.get("/").text


def test_runs_and_a_run_report_with_what_changed(desk: Desk) -> None:
    a, b, c = insight(1, NOW), insight(2, NOW), insight(3, NOW)
    record_run(desk.settings, desk.conn, [a, b], "r1", NOW - timedelta(days=7), messages=40)
    report = record_run(desk.settings, desk.conn, [insight(1, NOW, conversations=5), c], "r2",
                        NOW, messages=12)
    report.errors.append("file failed for insight ins_00003 (x): boom")
    report.stats.llm.cost_usd = 0.0123
    report.stats.review = ReviewStats(proposed=1, accepted=3, rejected=1, acceptance_rate=0.75,
                                      proposed_now=1, by_verdict={"missing": ReviewCounts(
                                          accepted=1, rejected=1, acceptance_rate=0.5)})

    registry.sqlite_stores(desk.conn).runs.record(report)
    runs = desk.client.get("/runs").text
    assert re.findall(r'href="/runs/(r\d)"', runs) == ["r2", "r1"]
    assert "$0.0123" in runs
    page = desk.client.get("/runs/r2").text
    assert "1 new, 1 no longer reported, 1 changed in size." in page
    assert "+2 conversations, now 5" in page and "boom" in page
    assert "previous run" in page and 'href="/runs/r1"' in page
    assert "3 accepted, 1 rejected, acceptance rate 75%" in page
    assert re.search(r"<th>verdict</th><td>missing</td>.*?50%", page, re.S)
    assert desk.client.get("/runs/nope").status_code == 404


def test_coverage_ranks_pages_and_lists_topics_without_one(desk: Desk) -> None:
    record_run(desk.settings, desk.conn, [
        insight(1, NOW, doc_path="a.md", conversations=2),
        insight(2, NOW, doc_path="b.md", conversations=4),
        insight(3, NOW, doc_path="b.md", conversations=1, verdict="covered"),
        insight(4, NOW, verdict="missing", title="Webhooks behind a proxy")], "r1", NOW)
    page = desk.client.get("/coverage").text
    ranked = re.findall(r'<a href="https://docs.example/([\w.]+)"', page)
    assert ranked == ["b.md", "a.md"]
    assert "Webhooks behind a proxy" in page.split("Topics with no page")[1]


def test_the_filed_to_done_chart_counts_tickets_by_days(desk: Desk) -> None:
    items = [insight(n, NOW) for n in range(3)]
    record_run(desk.settings, desk.conn, items, "r1", NOW)
    for days, item in zip((0.5, 2, 40), items, strict=True):
        filed = NOW - timedelta(days=50)
        file_ticket(desk.settings, desk.conn, item, filed,
                    [("done", filed + timedelta(days=days), "linear-webhook")])
    page = desk.client.get("/runs").text
    assert "3 tickets done" in page
    bars = dict(re.findall(r"<title>([^<:]+): (\d+)</title>", page))
    assert (bars["&lt;1d"], bars["1-3d"], bars["&gt;4w"], bars["3-7d"]) == ("1", "1", "1", "0")


def test_an_unknown_insight_is_a_404_page_with_headers(desk: Desk) -> None:
    answer = desk.client.get("/insights/nope")
    assert answer.status_code == 404 and "no insight nope" in answer.text
    assert answer.headers["x-frame-options"] == "DENY"


def test_an_error_page_is_titled_by_its_heading(desk: Desk) -> None:
    """A browser tab or history entry says what went wrong, not an empty ' · docloop'."""
    answer = desk.client.get("/runs/nope")
    assert "<title>Not found · docloop</title>" in answer.text


def test_status_counts_follow_every_change(desk: Desk) -> None:
    """The counts are cached per data version: filing, a status change and a review move it."""
    items = [insight(n, NOW) for n in range(3)]
    record_run(desk.settings, desk.conn, items, "r1", NOW)

    def counts() -> dict[str, str]:
        page = desk.client.get("/").text
        return dict(re.findall(r'class="badge b-(\w+)">\w+</span> (\d+)</a>', page))

    assert (counts()["proposed"], counts()["filed"]) == ("3", "0")
    file_ticket(desk.settings, desk.conn, items[0], NOW)
    assert (counts()["proposed"], counts()["filed"]) == ("2", "1")

    registry.sqlite_stores(desk.conn).records.set_status(
        f"DL-{items[0].id[-5:]}", "done", NOW, "cli")
    assert (counts()["filed"], counts()["done"]) == ("0", "1")
    from docloop import review

    with registry.open_stores(desk.settings) as stores:
        review.reject(desk.settings, stores, items[1].id, "cli", NOW, reason="noise")
    assert (counts()["proposed"], counts()["rejected"]) == ("1", "1")


def test_a_home_from_before_the_run_history_lists_its_stored_insights(desk: Desk) -> None:
    """Insights (snapshots) stored by earlier versions, no run summary: adopted once."""
    items = [insight(1, NOW, score=2.0), insight(2, NOW, score=5.0)]
    stores = registry.sqlite_stores(desk.conn)
    stores.insights.save((i.id, np.ones(4, dtype=np.float32),
                          list(zip(i.problem_ids, i.conversation_ids, strict=True)))
                         for i in items)
    stores.insights.save_snapshots(items)
    assert _ids(desk.client.get("/").text) == ["ins_00002", "ins_00001"]
    assert _ids(desk.client.get("/").text) == ["ins_00002", "ins_00001"]
    runs = desk.client.get("/runs").text
    assert re.findall(r'href="/runs/([\w-]+)"', runs) == ["before-run-history"]
    assert "rebuilt from the insights stored before" in desk.client.get(
        "/runs/before-run-history").text
