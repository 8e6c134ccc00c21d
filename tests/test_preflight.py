"""A wrong key, team id or model name is exit 2 before anything is written (issues #10/#11).

Each case runs the real CLI against a fake Linear or OpenAI server on
loopback and checks three things: exit code 2, one line naming the setting
to fix, and DOCLOOP_HOME left as it was (no database when there was none,
the same bytes when there was one).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from docloop import db
from docloop.backends.analyzers.llm_client import LLMClient
from docloop.backends.trackers.local import LocalTracker
from docloop.config import Settings
from docloop.errors import ConfigError, TransientError
from tests.fake_linear import API_KEY, PROJECT, TEAM, FakeLinear
from tests.fake_openai import FakeOpenAI, server_error
from tests.linear_support import timed_client

EXPORT = Path(__file__).resolve().parents[1] / "examples" / "tidepool" / "discord"


def _run(*extra: str) -> Result:
    from docloop.cli import main

    return CliRunner().invoke(main, ["run", "--source", f"discord-export:{EXPORT}",
                                     "--since", "all", *extra])


def _home() -> Path:
    return Path(os.environ["DOCLOOP_HOME"])


def _one_line(result: Result, setting: str) -> str:
    """The one error line (log lines, such as the HTTP client's, may come before it)."""
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert setting in lines[0], lines[0]
    return lines[0]


def _use_linear(monkeypatch: pytest.MonkeyPatch, fake: FakeLinear, key: str = API_KEY,
                team: str = TEAM) -> None:
    for name, value in {"DOCLOOP_TRACKER": "linear", "LINEAR_API_KEY": key,
                        "LINEAR_TEAM_ID": team, "DOCLOOP_LINEAR_API_URL": fake.url}.items():
        monkeypatch.setenv(name, value)


def _use_llm(monkeypatch: pytest.MonkeyPatch, fake: FakeOpenAI, key: str = "sk-test",
             **extra: str) -> None:
    for name, value in {"DOCLOOP_ANALYZER": "llm", "OPENAI_BASE_URL": fake.base_url,
                        "OPENAI_API_KEY": key, "DOCLOOP_TRACKER": "none", **extra}.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(("key", "team", "setting"), [
    ("lin_api_wrong", TEAM, "LINEAR_API_KEY"),
    (API_KEY, "no-such-team", "LINEAR_TEAM_ID"),
])
def test_a_rejected_linear_key_or_team_stops_the_run_before_anything_is_written(
        monkeypatch: pytest.MonkeyPatch, key: str, team: str, setting: str) -> None:
    with FakeLinear() as fake:
        _use_linear(monkeypatch, fake, key, team)
        result = _run()
    assert result.exit_code == 2
    _one_line(result, setting)
    assert len(fake.requests) == 1 and "team(id:" in fake.requests[0]
    assert not fake.issues
    assert not (_home() / "docloop.db").exists()


def test_an_existing_home_is_left_byte_for_byte_as_it_was(
        monkeypatch: pytest.MonkeyPatch) -> None:
    db.connect(_home() / "docloop.db").close()
    before = {p: p.read_bytes() for p in _home().rglob("*") if p.is_file()}
    with FakeLinear() as fake:
        _use_linear(monkeypatch, fake, team="no-such-team")
        result = _run()
    assert result.exit_code == 2
    assert {p: p.read_bytes() for p in _home().rglob("*") if p.is_file()} == before


def test_an_unknown_linear_project_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLinear() as fake:
        _use_linear(monkeypatch, fake)
        monkeypatch.setenv("LINEAR_PROJECT_ID", "no-such-project")
        result = _run()
    assert result.exit_code == 2
    _one_line(result, "LINEAR_PROJECT_ID")


def test_tickets_sync_uses_the_same_linear_preflight(monkeypatch: pytest.MonkeyPatch) -> None:
    from docloop.cli import main

    with FakeLinear() as fake:
        _use_linear(monkeypatch, fake, key="lin_api_wrong")
        result = CliRunner().invoke(main, ["tickets", "sync"])
    assert result.exit_code == 2
    _one_line(result, "LINEAR_API_KEY")
    assert not _home().exists() or not (_home() / "docloop.db").exists()


@pytest.mark.parametrize(("extra", "key", "setting"), [
    ({}, "sk-wrong", "OPENAI_API_KEY"),
    ({"DOCLOOP_LLM_MODEL": "gpt-9"}, "sk-test", "DOCLOOP_LLM_MODEL"),
    ({"DOCLOOP_EMBEDDER": "openai", "DOCLOOP_EMBEDDING_MODEL": "no-such-embed"}, "sk-test",
     "DOCLOOP_EMBEDDING_MODEL"),
])
def test_a_refused_openai_key_or_unknown_model_stops_the_run_before_ingest(
        monkeypatch: pytest.MonkeyPatch, extra: dict[str, str], key: str, setting: str) -> None:
    with FakeOpenAI(api_key="sk-test", models={"gpt-4o-mini", "text-embedding-3-small"}) as fake:
        _use_llm(monkeypatch, fake, key, **extra)
        result = _run()
    assert result.exit_code == 2
    _one_line(result, setting)
    assert fake.calls["/v1/models"] == 1 and fake.chat_calls == 0
    assert not (_home() / "docloop.db").exists()


def test_a_server_without_the_model_list_still_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(models_route=False) as fake:
        _use_llm(monkeypatch, fake, DOCLOOP_EMBEDDER="openai",
                 DOCLOOP_EMBEDDING_MODEL="nomic-embed-text")
        result = _run()
    assert result.exit_code == 0, result.output
    assert fake.calls["/v1/models"] == 1 and fake.chat_calls > 0
    assert (_home() / "docloop.db").is_file()


def test_a_model_server_that_stays_down_is_exit_1_with_nothing_written(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(models={"gpt-4o-mini"}) as fake:
        fake.models_script.extend(server_error(503) for _ in range(4))
        _use_llm(monkeypatch, fake)
        result = _run()
    assert result.exit_code == 1
    assert "nothing was written" in _one_line(result, "LLM server")
    assert not (_home() / "docloop.db").exists()


def test_ollama_lists_a_model_asked_for_without_its_tag_as_name_latest() -> None:
    settings = Settings(analyzer="llm", llm_model="llama3.1")
    with FakeOpenAI(models={"llama3.1:latest"}) as fake:
        LLMClient(settings.model_copy(update={"llm_base_url": fake.base_url}),
                  token_budget=0).check_models({"llm_model": "llama3.1"})
        with pytest.raises(ConfigError, match=r"llama3\.1:latest"):
            LLMClient(settings.model_copy(update={"llm_base_url": fake.base_url}),
                      token_budget=0).check_models({"llm_model": "mistral"})


def test_no_tracker_check_for_tracker_none_or_a_dry_run(tmp_path: Path) -> None:
    from docloop.stages.preflight import preflight_run

    with FakeLinear() as fake:
        wrong = Settings(tracker="linear", linear_api_url=fake.url, linear_team_id="nope",
                         linear_api_key="lin_api_wrong", home=tmp_path / "home")
        preflight_run(wrong, dry_run=True)
        preflight_run(wrong.model_copy(update={"tracker": "none"}), dry_run=False)
    assert fake.requests == []


def test_the_linear_preflight_keeps_the_team_states_for_reopening() -> None:
    from docloop.backends.trackers.linear import LinearTracker

    with timed_client() as (fake, _, client):
        tracker = LinearTracker(client, TEAM, PROJECT, ["docs"], reopen_policy="reopen")
        tracker.preflight()
        fake.issues["issue-1"] = {"id": "issue-1", "identifier": "DOC-1"}
        tracker._reopen("issue-1")  # the states are known: no workflowStates query
    assert fake.issues["issue-1"]["state"]["name"] == "Backlog"  # the first unstarted state
    assert not any("workflowStates" in q for q in fake.requests)


def test_linear_down_through_every_retry_is_a_transient_error() -> None:
    from docloop.backends.trackers.linear import LinearTracker

    with timed_client() as (fake, clock, client):
        fake.faults.extend(["500"] * 5)
        with pytest.raises(TransientError):
            LinearTracker(client, TEAM).preflight()
    assert len(clock.sleeps) == 4 and not fake.issues


def test_an_outbox_that_cannot_be_written_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="DOCLOOP_HOME"):
        LocalTracker(blocker / "home" / "outbox").preflight()
    LocalTracker(tmp_path / "fresh" / "outbox").preflight()
    assert not (tmp_path / "fresh").exists()  # checking writes nothing


@pytest.mark.usefixtures("minilm")
def test_a_run_files_with_the_tracker_its_preflight_proved(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One tracker per run: team and labels are resolved once, not again when filing starts."""
    with FakeLinear() as fake:
        _use_linear(monkeypatch, fake)
        monkeypatch.setenv("DOCLOOP_LINEAR_LABELS", "docs")
        result = _run()
        assert result.exit_code == 0, result.output
        assert fake.issues, "the run should file tickets"
        assert sum("team(" in r for r in fake.requests) == 1
        assert sum("issueLabels" in r for r in fake.requests) == 1
