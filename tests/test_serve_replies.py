"""`docloop serve` closes the loop itself: a webhook that makes a ticket done gets its
Discord replies sent by the server, off the request path, once each."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from docloop import registry
from docloop.config import Settings
from docloop.errors import ConfigError
from docloop.lock import hold_home
from docloop.models import Reply
from docloop.stages.reply import deliver_replies
from docloop.web.app import create_app
from docloop.web.replies import ReplySchedule, ReplyWorker
from tests.discord_support import FakeClock
from tests.fake_discord import FakeDiscord
from tests.reply_support import (
    DOC_URL,
    CrashAfterSend,
    Guild,
    add_conversations,
    remember,
    ticket,
)

SECRET = "whsec-serve-replies"
ISSUE_ID = "6a1d4c2e-93f0-4b8e-a1c7-2f5e8d0b9c34"
#: no settle, quick retries: tests never wait for real
QUICK = ReplySchedule(settle_s=0.0, retry_first_s=0.05, retry_max_s=0.2, lock_wait_s=5.0)


@dataclass
class Served:
    """A home with a Linear ticket for two Discord conversations, and the Discord fake."""

    fake: FakeDiscord
    settings: Settings
    guild: Guild
    clock: FakeClock

    def app(self, schedule: ReplySchedule = QUICK) -> Any:
        replier = registry.build_replier(self.settings, sleep=self.clock.sleep,
                                         clock=self.clock.time)
        return create_app(self.settings, replier=replier, reply_schedule=schedule)

    def replies(self) -> list[Reply]:
        with registry.open_stores(self.settings) as stores:
            return stores.replies.for_ticket("DL-1")

    def posts_to(self, channel_id: str) -> list[dict[str, Any]]:
        return [m for _, m in self.fake.posted if m["channel_id"] == channel_id]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with FakeDiscord() as fake:
        guild = add_conversations(fake)
        settings = Settings(home=tmp_path / "home", discord_api_base=fake.base_url,
                            discord_bot_token=SecretStr(fake.token), discord_reply_on_done=True,
                            linear_webhook_secret=SecretStr(SECRET))
        with registry.open_stores(settings) as stores:
            remember(stores, guild, ticket("linear", ISSUE_ID))
        yield Served(fake, settings, guild, FakeClock())


def _done(changed_at: datetime | None = None) -> dict[str, Any]:
    """Linear's Issue `update` moving the issue to a completed state, signed just now."""
    now = datetime.now(UTC)
    return {"action": "update", "type": "Issue",
            "createdAt": (changed_at or now).isoformat().replace("+00:00", "Z"),
            "data": {"id": ISSUE_ID, "title": "CORS origins", "identifier": "DOC-1",
                     "state": {"id": "s-done", "name": "Done", "color": "#5e6ad2",
                               "type": "completed"}},
            "updatedFrom": {"stateId": "s-started", "updatedAt": "2026-11-01T09:00:00.000Z"},
            "url": "https://linear.app/acme/issue/DOC-1/cors-origins",
            "organizationId": "572f6728-59c0-4844-96b1-34b5e77b704e",
            "webhookTimestamp": int(now.timestamp() * 1000)}


def _post(client: TestClient, payload: dict[str, Any], delivery: str) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = client.post("/webhooks/linear", content=body, headers={
        "Linear-Signature": signature, "Linear-Delivery": delivery,
        "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _settled(client: TestClient) -> None:
    worker: ReplyWorker = client.app.state.replies  # type: ignore[attr-defined]
    assert worker.wait_idle(timeout=20), "the reply worker did not finish"


def _eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_a_done_webhook_posts_one_reply_per_conversation_with_the_page_link(
        served: Served) -> None:
    with TestClient(served.app()) as client:
        answer = _post(client, _done(), "d-1")
        assert (answer["status"], answer["ticket_status"]) == ("applied", "done")
        _settled(client)
        in_thread = served.posts_to(served.guild.thread_id)
        in_channel = served.posts_to(served.guild.channel_id)
        assert len(in_thread) == 1 and len(in_channel) == 1 and len(served.fake.posted) == 2
        assert "message_reference" not in in_thread[0]  # in the thread itself
        assert in_channel[0]["message_reference"]["message_id"] == served.guild.root_id
        assert all(DOC_URL in m["content"] for m in in_thread + in_channel)
        replies = served.replies()
        assert {r.state for r in replies} == {"sent"}
        assert {r.message_id for r in replies} == {m["id"] for _, m in served.fake.posted}
        # the same delivery again, then another delivery of the same state: nothing more
        assert _post(client, _done(), "d-1")["status"] == "duplicate"
        assert _post(client, _done(), "d-2")["status"] == "unchanged"
        _settled(client)
    assert len(served.fake.posted) == 2


def test_done_again_after_a_regression_sends_no_second_reply(served: Served) -> None:
    with TestClient(served.app()) as client:
        _post(client, _done(), "d-1")
        _settled(client)
        with registry.open_stores(served.settings) as stores:  # a run saw it come back
            stores.records.set_status("DL-1", "regressed", datetime.now(UTC), "run")
        fixed_again = datetime.now(UTC) + timedelta(seconds=1)
        answer = _post(client, _done(fixed_again), "d-again")
        assert (answer["status"], answer["ticket_status"]) == ("applied", "done")
        _settled(client)
    assert len(served.fake.posted) == 2


def test_rate_limits_are_waited_out_as_discord_asks(served: Served) -> None:
    served.fake.faults.every_429, served.fake.faults.retry_after = 2, 0.5
    with TestClient(served.app()) as client:
        _post(client, _done(), "d-1")
        _settled(client)
    assert len(served.fake.posted) == 2 and {r.state for r in served.replies()} == {"sent"}
    assert any(r.status == 429 and r.method == "POST" for r in served.fake.requests)
    assert 0.5 in served.clock.sleeps  # Retry-After honoured (the fake clock's wait)


def test_discord_down_leaves_the_reply_pending_and_visible_then_it_goes_once(
        served: Served) -> None:
    served.fake.faults.fail_500 = 5  # every attempt of the first post
    patient = ReplySchedule(settle_s=0.0, retry_first_s=600.0)
    with TestClient(served.app(patient)) as client:
        # the start-up drain first: a wake arriving while a drain fails asks for another
        # drain at once (new work), which is not the outage this test is about
        _settled(client)
        assert _post(client, _done(), "d-1")["status"] == "applied"  # never delayed or failed
        _settled(client)
        states = {r.state: r for r in served.replies()}
        assert set(states) == {"sending", "queued"}  # the drain stopped at the outage
        assert "will retry" in states["sending"].error
        page = client.get("/insights/ins_cors")
        assert page.status_code == 200 and "will retry" in page.text
        assert client.get("/healthz").json()["status"] == "ok"
    with TestClient(served.app()) as client:  # the next start picks them up
        _settled(client)
    assert len(served.fake.posted) == 2 and {r.state for r in served.replies()} == {"sent"}
    assert sum(1 for r in served.fake.requests if r.status == 500) == 5


def test_a_failed_drain_is_retried_with_backoff_while_serving(served: Served) -> None:
    served.fake.faults.fail_500 = 5
    with TestClient(served.app()) as client:
        _post(client, _done(), "d-1")
        _eventually(lambda: {r.state for r in served.replies()} == {"sent"})
    assert len(served.fake.posted) == 2


def test_a_reply_a_crash_left_sending_is_found_at_start_up_not_posted_again(
        served: Served) -> None:
    with registry.open_stores(served.settings) as stores:
        stores.records.set_status("DL-1", "done", datetime.now(UTC), "linear-webhook")
        real = registry.build_replier(served.settings, sleep=served.clock.sleep,
                                      clock=served.clock.time)
        with pytest.raises(KeyboardInterrupt):  # the previous server died mid-send
            deliver_replies(stores, CrashAfterSend(real))
    assert len(served.fake.posted) == 1
    crashed = next(r for r in served.replies() if r.state == "sending")
    before = len(served.fake.requests)
    with TestClient(served.app()) as client:
        _settled(client)
    assert len(served.fake.posted) == 2 and {r.state for r in served.replies()} == {"sent"}
    looked = [r for r in served.fake.requests[before:]
              if r.method == "GET" and r.path.endswith(f"/channels/{crashed.channel_id}/messages")]
    assert looked, "the crashed reply was not looked for in its channel"
    assert len(served.posts_to(crashed.channel_id)) == 1


def test_two_servers_starting_on_the_same_pending_replies_send_each_once(
        served: Served) -> None:
    with registry.open_stores(served.settings) as stores:
        stores.records.set_status("DL-1", "done", datetime.now(UTC), "linear-webhook")
    with ExitStack() as both:
        clients = [both.enter_context(TestClient(served.app())) for _ in range(2)]
        for client in clients:
            _settled(client)
    assert len(served.fake.posted) == 2 and {r.state for r in served.replies()} == {"sent"}


def test_serve_without_a_bot_token_refuses_to_start(served: Served) -> None:
    settings = served.settings.model_copy(update={"discord_bot_token": None})
    with pytest.raises(ConfigError, match="DISCORD_BOT_TOKEN"):
        create_app(settings)


def test_without_the_setting_a_done_webhook_sends_nothing(served: Served) -> None:
    settings = served.settings.model_copy(update={"discord_reply_on_done": False})
    app = create_app(settings)
    assert app.state.replies is None
    with TestClient(app) as client:
        assert _post(client, _done(), "d-1")["ticket_status"] == "done"
    assert served.fake.posted == [] and served.replies() == []


def test_a_command_holding_the_home_defers_the_replies_until_it_is_done(
        served: Served) -> None:
    waits = ReplySchedule(settle_s=0.0, retry_first_s=0.05, retry_max_s=0.1, lock_wait_s=0.05)
    with TestClient(served.app(waits)) as client:
        _settled(client)  # the start-up pass, before the command takes the home
        with hold_home(served.settings.home):  # e.g. `docloop run` or `tickets sync`
            assert _post(client, _done(), "d-1")["status"] == "applied"
            _settled(client)
            assert served.fake.posted == [] and served.replies() == []  # not even queued
        _eventually(lambda: {r.state for r in served.replies()} == {"sent"})
    assert len(served.fake.posted) == 2
