"""The Linear webhook receiver: only signed, fresh, first deliveries change anything."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from docloop import db, registry
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.config import Settings, load_settings
from docloop.models import TicketRecord
from docloop.web.app import create_app
from docloop.webhook_receiver import receive_linear_webhook

SECRET = "whsec-test"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ISSUE_ID = "0f8c6a1e-5d0a-4a53-8d33-6c2b2a6a3f11"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    store = SQLiteRecordStore(db.connect(home / "docloop.db"))
    store.put(TicketRecord(id="DL-1", tracker="linear", external_id=ISSUE_ID, identifier="DOC-1",
                           insight_id="ins_1", title="CORS", created_at=NOW, updated_at=NOW))
    return home


# every case runs three times: through `docloop serve`'s starlette app, straight into
# receive_linear_webhook, and through the webhook Lambda handler (API Gateway HTTP API events)
WEB_ONLY = {"test_parallel_first_webhooks_on_a_fresh_home_are_all_answered",
            "test_serve_refuses_to_start_without_a_secret"}
_transport = "web"


@pytest.fixture(autouse=True,
                params=["web", "direct", pytest.param("lambda", marks=pytest.mark.aws)])
def transport(request: pytest.FixtureRequest) -> Iterator[str]:
    global _transport
    if request.param != "web" and request.function.__name__ in WEB_ONLY:
        pytest.skip("exercises the web server itself")
    _transport = request.param
    yield request.param
    _transport = "web"


@dataclass
class _Answer:
    status_code: int
    body: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return self.body


class _DirectClient:
    """Posts straight into receive_linear_webhook (bytes, headers, now, secret, store)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.web = TestClient(create_app(settings, now=lambda: NOW))

    def post(self, url: str, content: bytes, headers: dict[str, str | bytes]) -> _Answer:
        assert url == "/webhooks/linear"
        sent = {k: v.decode("latin-1") if isinstance(v, bytes) else v
                for k, v in headers.items()}
        secret = self.settings.linear_webhook_secret
        reply = receive_linear_webhook(
            content, sent, NOW, secret.get_secret_value() if secret else None,
            lambda: closing(registry.build_records(self.settings)))
        return _Answer(reply.status, json.loads(json.dumps(reply.body)))

    def get(self, url: str) -> Any:
        return self.web.get(url)


class _LambdaClient(_DirectClient):
    """Posts an API Gateway (HTTP API, payload 2.0) event to the webhook Lambda handler."""

    def __init__(self, settings: Settings, env: dict[str, str]) -> None:
        super().__init__(settings)
        self.env = env

    def post(self, url: str, content: bytes, headers: dict[str, str | bytes]) -> _Answer:
        from docloop.aws import handlers
        from tests.aws_bridge import LambdaContext, http_api_event

        sent = {k: v.decode("latin-1") if isinstance(v, bytes) else v
                for k, v in headers.items()}
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(handlers, "clock", lambda: NOW)
            patch.delenv("LINEAR_WEBHOOK_SECRET", raising=False)
            for name, value in self.env.items():
                patch.setenv(name, value)
            reply = handlers.webhook(http_api_event(content, sent, url),
                                     LambdaContext("docloop-webhook", 512, "arn:test", 10))
        assert reply["headers"]["content-type"] == "application/json"
        return _Answer(reply["statusCode"], json.loads(reply["body"]))


def _client(home: Path, secret: str | None = SECRET) -> Any:
    env = {"DOCLOOP_HOME": str(home)} | ({"LINEAR_WEBHOOK_SECRET": secret} if secret else {})
    settings = load_settings(environ=env)
    if _transport == "direct":
        return _DirectClient(settings)
    if _transport == "lambda":
        return _LambdaClient(settings, env)
    return TestClient(create_app(settings, now=lambda: NOW))


def _status(home: Path) -> tuple[str, int]:
    record = SQLiteRecordStore(db.connect(home / "docloop.db")).get("DL-1")
    assert record is not None
    return record.status, len(record.history)


def _payload(shared: Path, name: str, issue_id: str = ISSUE_ID) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared / "fixtures" / "linear" / name).read_text("utf-8"))
    data["webhookTimestamp"] = int(NOW.timestamp() * 1000)
    if data["type"] == "Issue":
        data["data"]["id"] = issue_id
    return data


def _post(client: TestClient, payload: Any, delivery: str | None = "d-1", secret: str = SECRET,
          raw: bytes | None = None, signature: str | None = None,
          headers: dict[str, str] | None = None) -> Any:
    body = raw if raw is not None else json.dumps(payload).encode()
    sig = signature if signature is not None else hmac.new(
        secret.encode(), body, hashlib.sha256).hexdigest()
    sent = {"Linear-Signature": sig, "Content-Type": "application/json", **(headers or {})}
    if delivery is not None:
        sent["Linear-Delivery"] = delivery
    return client.post("/webhooks/linear", content=body, headers=sent)


def test_update_to_done_is_applied_once(home: Path, shared_dir: Path) -> None:
    client = _client(home)
    payload = _payload(shared_dir, "generaltask-gotest-Issue-update-state-to-Done.json")
    response = _post(client, payload)
    assert response.status_code == 200 and response.json()["status"] == "applied"
    assert _status(home) == ("done", 2)
    replay = _post(client, payload)
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert _status(home) == ("done", 2)


def test_create_event_and_title_change_do_not_change_status(home: Path, shared_dir: Path) -> None:
    client = _client(home)
    created = _post(client, _payload(shared_dir, "generaltask-gotest-Issue-create.json"), "d-a")
    assert created.json()["status"] == "unchanged"  # Todo (unstarted) is already "open"
    title = _payload(shared_dir, "generaltask-gotest-Issue-update-title-change.json")
    assert _post(client, title, "d-b").json()["status"] == "unchanged"  # still Todo
    assert _status(home) == ("open", 1)


def _set_status(home: Path, *statuses: str, at: datetime = NOW) -> None:
    store = SQLiteRecordStore(db.connect(home / "docloop.db"))
    for status in statuses:
        store.set_status("DL-1", status, at, "test")  # type: ignore[arg-type]


def _history(home: Path) -> list[str]:
    record = SQLiteRecordStore(db.connect(home / "docloop.db")).get("DL-1")
    assert record is not None
    return [change.status for change in record.history]


def test_edit_without_state_change_is_ignored_and_still_deduplicated(
        home: Path, shared_dir: Path) -> None:
    _set_status(home, "in_progress")
    client = _client(home)
    edit = _payload(shared_dir, "triggerdev-IssueUpdated-title-change.json")  # state: Todo
    response = _post(client, edit, "d-edit")
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert "updated: title, updatedAt" in response.json()["reason"]
    assert _history(home) == ["open", "in_progress"]  # not moved back to "open"
    assert _post(client, edit, "d-edit").json()["status"] == "duplicate"


@pytest.mark.parametrize("updated_from", [{"title": "old"}, {"labelIds": []}, None])
def test_edits_keep_a_regressed_ticket_regressed(home: Path, shared_dir: Path,
                                                 updated_from: dict[str, Any] | None) -> None:
    _set_status(home, "done", "regressed")
    edit = _payload(shared_dir, "generaltask-gotest-Issue-update-state-to-Done.json")
    edit.pop("updatedFrom", None)
    if updated_from is not None:
        edit["updatedFrom"] = updated_from  # the issue is still completed in Linear
    response = _post(_client(home), edit)
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert _status(home) == ("regressed", 3)


REGRESSED_AT = NOW - timedelta(hours=1)


def _moved(shared: Path, created_at: datetime) -> dict[str, Any]:
    """A state change (completed → started) that Linear recorded at `created_at`."""
    moved = _payload(shared, "generaltask-gotest-Issue-update-state-to-Done.json")
    moved["data"]["state"] = {"id": "s-started", "name": "In Progress", "type": "started"}
    moved["updatedFrom"] = {"stateId": "s-done", "updatedAt": "2026-11-01T09:00:00.000Z"}
    moved["createdAt"] = created_at.isoformat().replace("+00:00", "Z")
    return moved


def test_a_real_state_change_moves_a_regressed_ticket(home: Path, shared_dir: Path) -> None:
    _set_status(home, "done", "regressed", at=REGRESSED_AT)
    moved = _moved(shared_dir, NOW - timedelta(seconds=1))
    assert _post(_client(home), moved).json()["status"] == "applied"
    assert _history(home)[-1] == "in_progress"


def test_a_late_retry_of_a_change_made_before_the_regression_leaves_it_regressed(
        home: Path, shared_dir: Path) -> None:
    """Linear retries for hours with a fresh webhookTimestamp; createdAt keeps the change's time."""
    _set_status(home, "done", "regressed", at=REGRESSED_AT)
    late = _moved(shared_dir, REGRESSED_AT - timedelta(minutes=5))
    response = _post(_client(home), late)
    assert response.json()["status"] == "ignored"
    assert "before the regression" in response.json()["reason"]
    assert _status(home) == ("regressed", 4)
    assert _applied(home) == ["open", "done", "regressed"]  # the late one: kept, ignored


def _applied(home: Path) -> list[str]:
    record = SQLiteRecordStore(db.connect(home / "docloop.db")).get("DL-1")
    assert record is not None
    return [change.status for change in record.history if change.applied]


def _state_change(shared: Path, state_type: str, created_at: datetime) -> dict[str, Any]:
    """Linear moving the issue into a state of `state_type` at `created_at`."""
    payload = _moved(shared, created_at)
    payload["data"]["state"] = {"id": f"s-{state_type}", "name": state_type, "type": state_type}
    return payload


def test_a_late_started_does_not_move_a_done_ticket_back(home: Path, shared_dir: Path) -> None:
    """Linear promises no order: `started` (T1) arrives after `completed` (T2 > T1)."""
    client = _client(home)
    t1, t2 = NOW - timedelta(minutes=10), NOW - timedelta(minutes=2)
    done = _post(client, _state_change(shared_dir, "completed", t2), "d-done")
    assert done.json()["status"] == "applied"
    late = _post(client, _state_change(shared_dir, "started", t1), "d-started")
    assert late.status_code == 200 and late.json()["status"] == "ignored"
    assert "stale change" in late.json()["reason"]
    assert _applied(home) == ["open", "done"]
    record = SQLiteRecordStore(db.connect(home / "docloop.db")).get("DL-1")
    assert record is not None and record.status == "done"
    ignored = record.history[-1]
    assert (ignored.status, ignored.applied, ignored.changed_at) == ("in_progress", False, t1)
    page = client.get(f"/insights/{record.insight_id}").text  # the review desk's history
    assert "Linear state started; ignored: stale change" in page and "ignored</span>" in page
    later = _post(client, _state_change(shared_dir, "started", NOW), "d-reopened")
    assert later.json()["status"] == "applied"  # a real reopen after T2 still counts
    assert _applied(home)[-1] == "in_progress"


def test_remove_cancels(home: Path, shared_dir: Path) -> None:
    payload = _payload(shared_dir, "generaltask-gotest-Issue-create.json")
    payload["action"] = "remove"
    assert _post(_client(home), payload).json()["status"] == "applied"
    assert _status(home)[0] == "canceled"


def test_unknown_issue_and_other_events_are_ignored(home: Path, shared_dir: Path) -> None:
    client = _client(home)
    other = _payload(shared_dir, "generaltask-gotest-Issue-update-state-to-Done.json",
                     issue_id="11111111-2222-4333-8444-555555555555")
    assert _post(client, other, "d-1").json()["status"] == "ignored"
    comment = _payload(shared_dir, "generaltask-gotest-Comment-create.json")
    assert _post(client, comment, "d-2").json()["status"] == "ignored"
    assert _status(home) == ("open", 1)
    assert len(SQLiteRecordStore(db.connect(home / "docloop.db")).all()) == 1


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"signature": "00" * 32}, 401),
    ({"signature": ""}, 401),
    ({"secret": "someone-else"}, 401),
    ({"raw": b"{not json"}, 400),
    ({"raw": b"[1, 2]"}, 400),
    ({"raw": b"x" * (300 * 1024)}, 413),
])
def test_rejections_change_nothing(home: Path, kwargs: dict[str, Any], code: int) -> None:
    payload = {"type": "Issue", "action": "update",
               "webhookTimestamp": int(NOW.timestamp() * 1000),
               "data": {"id": ISSUE_ID, "state": {"type": "completed"}}}
    response = _post(_client(home), payload, **kwargs)
    assert response.status_code == code
    assert _status(home) == ("open", 1)


@pytest.mark.parametrize("offset_s", [-61, 61, -3600])
def test_stale_or_future_timestamps_are_rejected(home: Path, offset_s: int) -> None:
    stamp = int((NOW.timestamp() + offset_s) * 1000)
    payload = {"type": "Issue", "action": "update", "webhookTimestamp": stamp,
               "data": {"id": ISSUE_ID, "state": {"type": "completed"}}}
    assert _post(_client(home), payload).status_code == 401
    assert _status(home) == ("open", 1)


def _done(stamp: Any = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": "Issue", "action": "update",
                               "data": {"id": ISSUE_ID, "state": {"type": "completed"}}}
    if stamp is not None:
        payload["webhookTimestamp"] = stamp
    return payload


NOW_MS = int(NOW.timestamp() * 1000)


@pytest.mark.parametrize("delivery", [None, "", "   ", "d" * 201, "d 1"])
def test_missing_oversized_or_garbage_delivery_ids_are_rejected(home: Path,
                                                                delivery: str | None) -> None:
    response = _post(_client(home), _done(NOW_MS), delivery=delivery)
    assert response.status_code == 400
    assert "Linear-Delivery" in response.json()["error"]
    assert _status(home) == ("open", 1)


def test_a_delivery_id_of_200_characters_is_accepted(home: Path) -> None:
    assert _post(_client(home), _done(NOW_MS), delivery="d" * 200).json()["status"] == "applied"


@pytest.mark.parametrize(("stamp", "headers"), [
    (NOW_MS, {}),
    (NOW_MS + 0.5, {}),  # the schema types it Float!
    (str(NOW_MS), {}),
    (None, {"Linear-Timestamp": str(NOW_MS)}),  # the SDK's fallback when the body has none
])
def test_epoch_millisecond_timestamps_are_accepted(home: Path, stamp: Any,
                                                   headers: dict[str, str]) -> None:
    response = _post(_client(home), _done(stamp), headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "applied"


@pytest.mark.parametrize("stamp", [
    "2026-11-25T12:00:00.000Z",  # ISO form seen in re-serialised third-party copies
    True, "1.7e12", "NaN", {"ms": NOW_MS}, [NOW_MS]])
def test_timestamps_that_are_not_epoch_milliseconds_are_rejected(home: Path,
                                                                 stamp: Any) -> None:
    headers = {"Linear-Timestamp": str(NOW_MS)}  # a valid header does not rescue a bad body
    response = _post(_client(home), _done(stamp), headers=headers)
    assert response.status_code == 400 and "epoch milliseconds" in response.json()["error"]
    assert _status(home) == ("open", 1)


def test_nan_and_infinity_literals_are_rejected(home: Path) -> None:
    for literal in (b"NaN", b"Infinity"):
        raw = b'{"type": "Issue", "webhookTimestamp": ' + literal + b"}"
        assert _post(_client(home), None, raw=raw).status_code == 400


def test_missing_secret_refuses_everything(home: Path) -> None:
    payload = {"type": "Issue", "webhookTimestamp": int(NOW.timestamp() * 1000)}
    assert _post(_client(home, secret=None), payload).status_code == 503


def test_health_and_dashboard_escape_html(home: Path) -> None:
    store = SQLiteRecordStore(db.connect(home / "docloop.db"))
    store.put(TicketRecord(id="DL-2", tracker="local", insight_id="i2",
                           title="<script>alert(1)</script>", created_at=NOW, updated_at=NOW))
    client = _client(home)
    assert client.get("/healthz").json() == {"status": "ok", "tickets": 2}
    page = client.get("/insights/i2").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page


def test_a_non_ascii_signature_is_refused_not_a_server_error(
        home: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Before: hmac.compare_digest raised TypeError on it: 503 and a logged traceback."""
    for signature in ("é" * 64, "ｆ" * 64, "\u00ff"):
        for raw in (signature.encode("utf-8"), signature.encode("latin-1", "replace")):
            response = _client(home).post("/webhooks/linear", content=json.dumps(
                _done(NOW_MS)).encode(), headers={"Linear-Signature": raw,
                                                  "Linear-Delivery": "d-1"})
            assert response.status_code == 401
    assert all(record.exc_info is None for record in caplog.records)
    assert _status(home) == ("open", 1)


@contextmanager
def _served(home: Path) -> Iterator[str]:
    """The receiver under a real uvicorn on a free loopback port (parallel connections)."""
    import uvicorn

    env = {"DOCLOOP_HOME": str(home), "LINEAR_WEBHOOK_SECRET": SECRET}
    app = create_app(load_settings(environ=env), now=lambda: NOW)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/webhooks/linear"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _deliver(url: str, n: int, barrier: threading.Barrier, codes: list[int]) -> None:
    body = json.dumps(_done(NOW_MS)).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    barrier.wait()
    codes.append(httpx.post(url, content=body, timeout=60, headers={
        "Linear-Signature": signature, "Linear-Delivery": f"d-{n}"}).status_code)


def test_parallel_first_webhooks_on_a_fresh_home_are_all_answered(tmp_path: Path) -> None:
    """The first connections to a fresh home race to create the schema; none may answer 503."""
    for attempt in range(3):
        barrier = threading.Barrier(20)
        codes: list[int] = []
        with _served(tmp_path / f"fresh{attempt}") as url:
            threads = [threading.Thread(target=_deliver, args=(url, n, barrier, codes))
                       for n in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        assert codes == [200] * 20


def test_a_garbage_database_answers_503_in_one_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "docloop.db").write_bytes(b"not a database\n" * 100)
    client = _client(home)
    assert _post(client, _done(NOW_MS)).status_code == 503  # Linear retries later
    assert client.get("/healthz").status_code == 503
    assert client.get("/").status_code == 503
    assert all(record.exc_info is None for record in caplog.records)
    assert sum("not a docloop database" in r.getMessage() for r in caplog.records) == 3


def test_a_signed_deeply_nested_body_is_a_bad_request(home: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """Before: json.loads hit the recursion limit: 503, and Linear retried it for hours."""
    depth = 100_000
    raw = b'{"type": "Issue", "data": ' + b"[" * depth + b"]" * depth + b"}"
    assert 190_000 < len(raw) < 256 * 1024
    response = _post(_client(home), None, raw=raw)
    assert response.status_code == 400 and "nested" in response.json()["error"]
    assert all(record.exc_info is None for record in caplog.records)
    assert _status(home) == ("open", 1)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
_states = st.fixed_dictionaries({"id": st.text(max_size=5), "type": st.sampled_from(
    ["triage", "backlog", "unstarted", "started", "completed", "canceled", "other", 3])})
_payloads = st.fixed_dictionaries({
    "type": st.sampled_from(["Issue", "Comment", "", 5]),
    "action": st.sampled_from(["create", "update", "remove", None]),
    "webhookTimestamp": st.sampled_from([NOW_MS, NOW_MS - 30_000, 0, "x", None]),
    "createdAt": st.sampled_from(["2026-11-25T11:59:00Z", "2020-01-01T00:00:00Z", "soon", 7]),
    "updatedFrom": st.one_of(st.none(), st.just({"stateId": "s-old"}), _json),
    "data": st.one_of(_json, st.fixed_dictionaries({"id": st.sampled_from([ISSUE_ID, 3]),
                                                    "state": st.one_of(_states, _json)})),
})
# header values as a client may send them: ASCII, Latin-1 and UTF-8 bytes, control characters
_header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=70),
    st.text(alphabet=st.characters(min_codepoint=0xA0, max_codepoint=0x2FFF),
            min_size=1, max_size=70).map(lambda t: t.encode("utf-8")),
    st.binary(min_size=1, max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b
                                              and b"\0" not in b))


def _database(home: Path) -> list[str]:
    """Every row docloop keeps about tickets and deliveries, to compare before and after."""
    conn = sqlite3.connect(home / "docloop.db")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.one_of(st.binary(max_size=300), _payloads.map(lambda p: json.dumps(p).encode())),
       sign=st.booleans(), headers=st.dictionaries(
           st.sampled_from(["Linear-Signature", "Linear-Delivery", "Linear-Timestamp"]),
           _header_values))
def test_no_input_gives_a_5xx_a_traceback_or_a_change_without_a_valid_delivery(
        home: Path, caplog: pytest.LogCaptureFixture, body: bytes, sign: bool,
        headers: dict[str, str | bytes]) -> None:
    client = _client(home)
    before = _database(home)
    caplog.clear()
    if sign:
        headers["Linear-Signature"] = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = client.post("/webhooks/linear", content=body, headers=headers)
    assert response.status_code < 500
    assert all(record.exc_info is None for record in caplog.records)
    if response.status_code != 200:  # refused: signature, body, timestamp or delivery id
        assert _database(home) == before
    else:
        assert sign and json.loads(body)["webhookTimestamp"] in (NOW_MS, NOW_MS - 30_000)


def test_serve_refuses_to_start_without_a_secret(home: Path) -> None:
    from click.testing import CliRunner

    from docloop.cli import main

    result = CliRunner().invoke(main, ["serve"], env={"DOCLOOP_HOME": str(home)})
    assert result.exit_code == 2 and "LINEAR_WEBHOOK_SECRET" in result.output
