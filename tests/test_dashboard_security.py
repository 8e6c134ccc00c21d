"""The review desk's door: tokens, login cookie, CSRF, headers, and what stays outside it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from docloop import db, registry
from docloop.cli import main
from docloop.config import Settings
from docloop.errors import ConfigError
from docloop.web.app import create_app
from docloop.web.dashboard.auth import Gate, check_bind, parse_tokens
from tests.desk_support import insight, record_run

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdefgh"


def _client(tmp_path: Path, token: str | None = f"alice:{ALICE},bob:{BOB}") -> TestClient:
    settings = Settings(home=tmp_path / "home", linear_webhook_secret="s" * 20,
                        dashboard_token=token)
    return TestClient(create_app(settings, now=lambda: NOW))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield _client(tmp_path)


def _csrf(client: TestClient, path: str = "/login", **headers: str) -> str:
    page = client.get(path, headers=headers).text
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found is not None, page[:300]
    return found.group(1)


def test_without_proof_a_request_gets_401_and_the_login_form(client: TestClient) -> None:
    for path in ("/", "/runs", "/coverage", "/insights/x", "/runs/y"):
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert '<form class="login" method="post" action="/login">' in answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/", headers={"Authorization": "Bearer wrong-token-000000000"}
                      ).status_code == 401
    assert client.get("/", headers={"Authorization": f"Basic {ALICE}"}).status_code == 401


def test_a_bearer_token_opens_every_page(client: TestClient) -> None:
    for path in ("/", "/runs", "/coverage"):
        answer = client.get(path, headers={"Authorization": f"Bearer {ALICE}"})
        assert answer.status_code == 200, path
        assert "alice" in answer.text and ALICE not in answer.text  # no secret rendered


def test_the_login_form_sets_an_httponly_strict_cookie_without_the_token(
        client: TestClient) -> None:
    csrf = _csrf(client)
    wrong = client.post("/login", data={"csrf": csrf, "token": "nope", "next": "/runs"})
    assert wrong.status_code == 401 and "not one of this desk" in wrong.text
    answer = client.post("/login", data={"csrf": csrf, "token": BOB, "next": "/runs"},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/runs"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("docloop_session=") and BOB not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    page = client.get("/runs")
    assert page.status_code == 200 and '<span class="who">bob</span>' in page.text
    signed_out = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert "docloop_session=;" in signed_out.headers["set-cookie"]
    client.cookies.delete("docloop_session")
    assert client.get("/runs").status_code == 401


def test_login_never_redirects_off_the_site(client: TestClient) -> None:
    csrf = _csrf(client)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        answer = client.post("/login", data={"csrf": csrf, "token": ALICE, "next": target},
                             follow_redirects=False)
        assert answer.headers["location"] == "/", target


def test_posts_without_a_genuine_csrf_field_are_refused(tmp_path: Path) -> None:
    client = _client(tmp_path)
    bearer = {"Authorization": f"Bearer {ALICE}"}
    assert client.post("/login", data={"token": ALICE}).status_code == 403  # no cookie yet
    csrf = _csrf(client)
    assert client.post("/login", data={"token": ALICE}).status_code == 403  # no field
    assert client.post("/login", data={"token": ALICE, "csrf": "0" * 64}).status_code == 403
    stranger = _client(tmp_path)  # another desk signs with another key
    foreign = _csrf(stranger)
    assert client.post("/login", data={"token": ALICE, "csrf": foreign}).status_code == 403
    for action in ("accept", "reject", "edit", "merge"):
        refused = client.post(f"/insights/ins_00001/{action}", headers=bearer,
                              data={"reason": "x"})
        assert refused.status_code == 403, action
    assert client.post("/login", data={"token": ALICE, "csrf": csrf},
                       follow_redirects=False).status_code == 303


def test_decisions_record_the_token_name(tmp_path: Path) -> None:
    client = _client(tmp_path)
    settings = Settings(home=tmp_path / "home", review=True)
    conn = db.connect(settings.db_path)
    record_run(settings, conn, [insight(1, NOW), insight(2, NOW)], "r1", NOW)
    bearer = {"Authorization": f"Bearer {BOB}"}
    csrf = _csrf(client, "/insights/ins_00001", **bearer)
    answer = client.post("/insights/ins_00002/reject", headers=bearer,
                         data={"csrf": csrf, "reason": "duplicate"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith(
        "/insights/ins_00002?done=reject")
    decision = registry.sqlite_stores(conn).reviews.decisions("ins_00002")[-1]
    assert (decision.actor, decision.action) == ("bob", "rejected")
    page = client.get(answer.headers["location"], headers=bearer).text
    assert "Rejected." in page and "<td>bob</td>" in page
    conn.close()


def test_security_headers_on_every_desk_response(client: TestClient) -> None:
    bearer = {"Authorization": f"Bearer {ALICE}"}
    for answer in (client.get("/"), client.get("/login"), client.get("/", headers=bearer),
                   client.get("/nowhere", headers=bearer), client.get("/static/desk.css"),
                   client.post("/login", data={"token": "x"})):
        csp = answer.headers["content-security-policy"]
        assert "script-src" not in csp and "default-src 'none'" in csp
        assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"


def test_the_webhook_and_healthz_keep_their_own_rules(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "tickets": 0}
    unsigned = client.post("/webhooks/linear", content=b"{}")
    assert unsigned.status_code == 401 and unsigned.headers["content-type"].startswith(
        "application/json")  # the receiver's answer, not the desk's login page


def test_tokens_parse_named_or_bare_and_bad_ones_never_echo(tmp_path: Path) -> None:
    assert [t.name for t in parse_tokens(f"alice:{ALICE}, bob:{BOB}")] == ["alice", "bob"]
    assert [t.name for t in parse_tokens(ALICE)] == ["dashboard"]
    assert parse_tokens(None) == [] and parse_tokens("") == []
    for raw, says in ((f"cli:{ALICE}", "unusable name"), ("alice:short", "shorter than 16"),
                      (f"a:{ALICE},a:{BOB}", "used twice"), (f"a b:{ALICE}", "unusable name")):
        with pytest.raises(ConfigError, match=says) as caught:
            parse_tokens(raw)
        assert ALICE not in str(caught.value) and "short" not in str(caught.value).split(
            "shorter")[0]


def test_session_and_bearer_checks_are_per_token() -> None:
    gate = Gate(parse_tokens(f"alice:{ALICE},bob:{BOB}"))
    alice, bob = gate.tokens
    assert gate.actor(f"Bearer {BOB}", None) == "bob"
    assert gate.actor(None, alice.session) == "alice"
    assert gate.actor(None, ALICE) is None  # the token itself is not a session
    assert alice.session != bob.session and len(alice.session) == 64
    assert Gate([]).actor(None, None) == "local"


def test_binding_beyond_loopback_needs_a_token() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, [])
    check_bind("0.0.0.0", parse_tokens(ALICE))
    for host in ("0.0.0.0", "192.168.1.10", "::", "desk.example"):
        with pytest.raises(ConfigError, match="DOCLOOP_DASHBOARD_TOKEN"):
            check_bind(host, [])


def test_serve_refuses_to_start_open_on_all_interfaces(tmp_path: Path) -> None:
    env = {"DOCLOOP_HOME": str(tmp_path / "home"), "LINEAR_WEBHOOK_SECRET": "s" * 20}
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "8999"], env=env)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "refusing to serve the review desk on 0.0.0.0" in lines[0]


def test_without_tokens_on_loopback_there_is_nothing_to_sign_in_to(tmp_path: Path) -> None:
    client = _client(tmp_path, token=None)
    assert client.get("/runs").status_code == 200
    answer = client.get("/login?next=/coverage", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/coverage"
    assert "Sign out" not in client.get("/").text
