"""One writer per home: runs and syncs hold DOCLOOP_HOME's run lock, a second one waits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.lock import LOCK_NAME, HomeBusyError, hold_home
from tests.fake_linear import API_KEY, TEAM, FakeLinear

REPO = Path(__file__).resolve().parents[1]
EXPORT = REPO / "examples" / "tidepool" / "discord"


def test_a_second_holder_waits_a_bounded_time_then_names_the_first(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with hold_home(home):
        started = time.monotonic()
        with pytest.raises(HomeBusyError, match=f"pid {os.getpid()}") as caught, \
                hold_home(home, wait_s=0.3):
            pass
        assert time.monotonic() - started >= 0.3
        assert "another docloop run" in str(caught.value)
    with hold_home(home, wait_s=0):  # released on exit
        assert (home / LOCK_NAME).read_text().strip() == str(os.getpid())
    assert oct((home / LOCK_NAME).stat().st_mode & 0o777) == "0o600"


def test_a_killed_holder_leaves_no_lock_behind(tmp_path: Path) -> None:
    home = tmp_path / "home"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from docloop.lock import hold_home\n"
         "with hold_home(Path(sys.argv[1])):\n print('held', flush=True); time.sleep(60)",
         str(home)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(HomeBusyError, match=f"pid {holder.pid}"), \
                hold_home(home, wait_s=0.2):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with hold_home(home, wait_s=5):
        pass


@pytest.mark.parametrize("args", [
    ["run", "--source", f"discord-export:{EXPORT}", "--since", "all"],
    ["tickets", "set-status", "DL-1", "done"],
    ["tickets", "sync"],
])
def test_commands_that_write_exit_2_while_another_run_holds_the_home(
        tmp_path: Path, args: list[str]) -> None:
    home = tmp_path / "home"
    env = {"DOCLOOP_LOCK_WAIT_S": "0.2", "DOCLOOP_TRACKER": "linear",
           "LINEAR_API_KEY": API_KEY, "LINEAR_TEAM_ID": TEAM}
    if args[0] == "run":
        env["DOCLOOP_TRACKER"] = "local"
    with hold_home(home), FakeLinear() as linear:  # `sync` proves its settings first
        env["DOCLOOP_LINEAR_API_URL"] = linear.url
        result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 2, result.output
    assert f"another docloop run (pid {os.getpid()}) holds {home}" in result.stderr
    assert not (home / "docloop.db").exists()


def _run(home: Path, out: Path, **env: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DOCLOOP_HOME": str(home), "DOCLOOP_LOCK_WAIT_S": "300", **env}
    return subprocess.Popen(
        [sys.executable, "-m", "docloop.cli", "run", "--source", f"discord-export:{EXPORT}",
         "--since", "all", "--json", str(out)], env=env, stderr=subprocess.PIPE, text=True)


def _two_runs(tmp_path: Path, **env: str) -> dict[str, list[str]]:
    """Start two runs at once on one fresh home; each ticket's actions across both reports."""
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    procs = [_run(tmp_path / "home", out, **env) for out in outs]
    codes = [(p.wait(timeout=600), p.stderr.read() if p.stderr else "") for p in procs]
    assert [rc for rc, _ in codes] == [0, 0], codes
    reports = [json.loads(out.read_text(encoding="utf-8")) for out in outs]
    first, second = sorted(reports, key=lambda r: r["started_at"])
    assert first["finished_at"] <= second["started_at"]  # one after the other, not interleaved
    actions: dict[str, list[str]] = {}
    for report in reports:
        for insight in report["insights"]:
            if insight["ticket"]:
                actions.setdefault(insight["ticket"]["id"], []).append(
                    insight["ticket"]["action"])
    assert actions and all(sorted(a) == ["created", "unchanged"] for a in actions.values())
    return actions


@pytest.mark.usefixtures("minilm")
def test_two_runs_at_once_on_a_fresh_home_both_succeed_and_file_each_ticket_once(
        tmp_path: Path) -> None:
    """Before: `table messages already exists`, or both runs at once, each filing."""
    actions = _two_runs(tmp_path)
    outbox = sorted(p.stem for p in (tmp_path / "home" / "outbox").iterdir())
    assert outbox == sorted(actions)


@pytest.mark.usefixtures("minilm")
def test_two_linear_runs_at_once_report_what_happened(tmp_path: Path) -> None:
    """Before: both reported `created` for the same issue while one of them got an error."""
    with FakeLinear() as fake:
        actions = _two_runs(tmp_path, DOCLOOP_TRACKER="linear", LINEAR_API_KEY=API_KEY,
                            LINEAR_TEAM_ID=TEAM, DOCLOOP_LINEAR_API_URL=fake.url)
        created = [q for q in fake.requests if "issueCreate" in q]
    assert len(created) == len(actions)
