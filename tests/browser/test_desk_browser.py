"""The review desk as a person uses it, in a real Chromium, against `docloop serve`.

The example home is the bundled Tidepool example run with review on (index
the docs, `docloop run`): every insight is proposed and nothing is filed
until someone accepts it on the desk.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from docloop import db, registry
from docloop.config import Settings
from docloop.models import TicketRecord
from tests.browser.conftest import (
    WEBHOOK_SECRET,
    Server,
    copy_example,
    docloop,
    docloop_env,
    screenshot,
    start_server,
    stop_server,
)
from tests.desk_support import insight, record_run

XSS = '<img src=x onerror=alert(1)><script>alert("xss")</script>'
TOKEN = "desk-browser-token-0123456789"
ISSUE_ID = "0f8c6a1e-5d0a-4a53-8d33-6c2b2a6a3f11"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`docloop serve` over the Tidepool example, run with review on."""
    tmp = tmp_path_factory.mktemp("desk")
    tidepool, home = copy_example(tmp), tmp / "home"
    env = docloop_env(home, DOCLOOP_REVIEW="1")
    docloop("index-docs", str(tidepool / "docs"), "--base-url",
            "https://docs.tidepool.example/", env=env)
    docloop("run", "--source", f"discord-export:{tidepool / 'discord'}", "--since", "all",
            env=env)
    server = start_server(home, DOCLOOP_REVIEW="1")
    yield server
    stop_server(server)


def _proposed(page: Any, server: Server) -> list[str]:
    page.goto(f"{server.url}/?status=proposed")
    links = page.locator("table.insights tbody td a[href^='/insights/']")
    return [str(h).removeprefix("/insights/") for h in
            (links.nth(i).get_attribute("href") for i in range(links.count()))]


def _outbox(server: Server) -> list[Path]:
    return sorted((server.home / "outbox").glob("*.md"))


def test_review_end_to_end_accept_reject_edit_merge(page: Any, example: Server) -> None:
    page.goto(example.url + "/")
    assert page.title() == "Insights · docloop"
    screenshot(page, "insights")
    proposed = _proposed(page, example)
    assert len(proposed) >= 5 and _outbox(example) == []

    first, second, third, keep, absorbed = proposed[:5]
    page.goto(f"{example.url}/insights/{first}")
    screenshot(page, "insight")
    page.get_by_role("button", name="Accept and file").click()
    assert page.get_by_role("status").inner_text() == "Accepted: the ticket is filed."
    filed = _outbox(example)
    assert len(filed) == 1
    ticket_id = filed[0].stem
    assert page.locator("section", has_text="Ticket").get_by_text(ticket_id).count() >= 1

    page.goto(f"{example.url}/insights/{second}")
    page.get_by_label("Reject — reason").fill("a product bug, not a docs gap")
    page.get_by_role("button", name="Reject").click()
    assert page.get_by_role("status").inner_text() == "Rejected."
    assert "reason: a product bug, not a docs gap" in page.locator("main").inner_text()
    assert "proposed again when it reaches" in page.locator("main").inner_text()

    page.goto(f"{example.url}/insights/{third}")
    page.get_by_label("Edit — title").fill("Document where the token is read from")
    page.get_by_label("suggestion").fill("Add a 'Where the token comes from' section.")
    page.get_by_role("button", name="Save edits").click()
    assert page.locator("h1").inner_text() == "Document where the token is read from"
    page.get_by_role("button", name="Accept and file").click()
    newest = [p for p in _outbox(example) if p.stem != ticket_id]
    assert len(newest) == 1
    assert "Document where the token is read from" in newest[0].read_text("utf-8")

    page.goto(f"{example.url}/insights/{keep}")
    page.get_by_label("Merge another insight into this one").select_option(absorbed)
    page.get_by_role("button", name="Merge into this one").click()
    assert page.get_by_role("status").inner_text() == "Merged."
    decisions = page.locator("table.decisions").inner_text()
    assert f"absorbed {absorbed}" in decisions and "local" in decisions
    assert absorbed not in _proposed(page, example)
    page.goto(f"{example.url}/insights/{absorbed}")
    assert page.url.endswith(f"/insights/{keep}")  # a merged insight leads to the kept one
    assert not page.dialogs


def test_a_signed_webhook_status_change_reaches_the_page(page: Any, example: Server,
                                                          shared_dir: Path) -> None:
    insight_id = _proposed(page, example)[0]
    settings = Settings(home=example.home)
    conn = db.connect(settings.db_path)
    filed = datetime.now(UTC) - timedelta(hours=1)
    registry.sqlite_stores(conn).records.put(TicketRecord(
        id="DL-webhook", tracker="linear", external_id=ISSUE_ID, identifier="DOC-7",
        insight_id=insight_id, title="from Linear", created_at=filed, updated_at=filed))
    conn.close()
    payload = json.loads((shared_dir / "fixtures" / "linear" /
                          "generaltask-gotest-Issue-update-state-to-Done.json").read_text())
    payload["webhookTimestamp"] = int(datetime.now(UTC).timestamp() * 1000)
    payload["data"]["id"] = ISSUE_ID
    body = json.dumps(payload).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    answer = httpx.post(f"{example.url}/webhooks/linear", content=body, headers={
        "Linear-Signature": signature, "Linear-Delivery": "browser-1",
        "Content-Type": "application/json"})
    assert answer.json()["status"] == "applied"
    page.goto(f"{example.url}/insights/{insight_id}")
    history = page.locator("table.history").inner_text()
    assert re.search(r"done\s+linear-webhook", history), history
    page.goto(f"{example.url}/?status=done")
    assert page.locator(f"a[href='/insights/{insight_id}']").count() == 1


def test_runs_and_coverage_pages(page: Any, example: Server) -> None:
    page.goto(example.url + "/runs")
    screenshot(page, "runs")
    page.locator("table.runs tbody a").first.click()
    assert page.locator("h1").inner_text().startswith("Run ")
    assert "This is the first recorded run." in page.locator("main").inner_text()
    screenshot(page, "run")
    page.goto(example.url + "/coverage")
    assert page.get_by_role("heading", name="Pages by the problems they attract").count() == 1
    assert page.locator("table").first.locator("tbody tr").count() >= 2
    screenshot(page, "coverage")


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Server]:
    """A desk whose chat messages, doc page and titles all carry script payloads."""
    settings = Settings(home=tmp_path / "home")
    conn = db.connect(settings.db_path)
    now = datetime.now(UTC)
    item = insight(1, now, title=XSS, quote_text=f"my error: {XSS}", doc_path=f"{XSS}.md",
                   channels=[XSS])
    assert item.doc is not None
    item.doc.heading = f"Doc title {XSS}"  # a page's heading as the docs index keeps it
    record_run(settings, conn, [item], "r1", now)
    conn.close()
    server = start_server(settings.home)
    yield server
    stop_server(server)


def test_script_payloads_in_messages_and_doc_titles_render_as_text(
        page: Any, hostile: Server) -> None:
    page.goto(hostile.url + "/")
    assert page.get_by_role("link", name=XSS).count() == 1  # the title, as text
    page.get_by_role("link", name=XSS).click()
    main = page.locator("main").inner_text()
    assert f"my error: {XSS}" in main and f"{XSS}.md" in main and f"Doc title {XSS}" in main
    assert page.locator("main img, main script").count() == 0
    screenshot(page, "xss-as-text")
    page.goto(hostile.url + "/coverage")
    assert not page.dialogs


@pytest.fixture
def exposed(tmp_path: Path) -> Iterator[Server]:
    """The desk bound to every interface, so it demands the token."""
    server = start_server(tmp_path / "home", host="0.0.0.0",
                          DOCLOOP_DASHBOARD_TOKEN=f"maria:{TOKEN}")
    yield server
    stop_server(server)


def test_without_the_token_the_desk_is_refused_and_login_lets_a_person_in(
        page: Any, exposed: Server) -> None:
    refused = page.goto(exposed.url + "/runs")
    assert refused.status == 401
    assert page.get_by_label("Dashboard token").count() == 1
    screenshot(page, "login")
    page.get_by_label("Dashboard token").fill("not-the-token-000000")
    page.get_by_role("button", name="Sign in").click()
    assert "not one of this desk" in page.locator("main").inner_text()
    page.get_by_label("Dashboard token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    assert page.url == exposed.url + "/runs"
    assert page.locator(".who").inner_text() == "maria"
    session = [c for c in page.context.cookies() if c["name"] == "docloop_session"]
    assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Strict"
    assert httpx.get(exposed.url + "/").status_code == 401  # another client, no token
    assert httpx.get(exposed.url + "/healthz").status_code == 200


def test_posts_without_the_csrf_field_are_refused(page: Any, exposed: Server) -> None:
    page.goto(exposed.url + "/login")
    csrf_less = page.request.post(exposed.url + "/login", form={"token": TOKEN})
    assert csrf_less.status == 403
    signed_in = page.request.post(exposed.url + "/login", form={
        "token": TOKEN, "csrf": page.locator("input[name=csrf]").first.get_attribute("value")})
    assert signed_in.ok
    forged = page.request.post(exposed.url + "/insights/ins_1/accept", form={"csrf": "0" * 64})
    assert forged.status == 403
