"""`docloop run` end to end on the bundled example: the loop a user runs from the README."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.errors import StageError
from docloop.patching import apply_patch

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "tidepool"
LABELS = json.loads((EXAMPLE / "labels.json").read_text(encoding="utf-8"))

pytestmark = pytest.mark.usefixtures("minilm")


def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def _index() -> None:
    result = _invoke("index-docs", str(EXAMPLE / "docs"), "--base-url",
                     "https://docs.tidepool.example/")
    assert result.exit_code == 0, result.output


def _run(source: Path, out: Path, *extra: str) -> dict[str, Any]:
    result = _invoke("run", "--source", f"discord-export:{source}", "--since", "all",
                     "--json", str(out), *extra)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _majority_group(insight: dict[str, Any]) -> str | None:
    groups = Counter(LABELS["messages"].get(m) for m in insight["message_ids"])
    return groups.most_common(1)[0][0]


def test_every_planted_problem_is_found_once_and_no_noise_is_filed(tmp_path: Path) -> None:
    _index()
    report = _run(EXAMPLE / "discord", tmp_path / "run.json")
    found = [_majority_group(i) for i in report["insights"]]
    assert None not in found, "an insight made of noise was reported"
    assert sorted(found) == sorted(LABELS["groups"])  # each planted problem exactly once
    for insight in report["insights"]:
        assert insight["ticket"]["action"] == "created"
        assert len(insight["conversation_ids"]) >= 2 and insight["users"] >= 2
    missing = [i for i in report["insights"] if i["doc"]["verdict"] == "missing"]
    assert all(i["suggestion"]["kind"] == "new-page" for i in missing)


def test_quotes_are_verbatim_and_patches_apply(tmp_path: Path) -> None:
    _index()
    report = _run(EXAMPLE / "discord", tmp_path / "run.json")
    db = sqlite3.connect(Path.cwd() / "home" / "docloop.db")
    stored = dict(db.execute("SELECT id, content FROM messages").fetchall())
    for insight in report["insights"]:
        for quote in insight["quotes"]:
            assert quote["text"] in stored[quote["message_id"]]
        patch = insight["suggestion"]["patch"]
        if patch:
            path = insight["doc"]["path"]
            assert patch.startswith(f"--- a/{path}\n+++ b/{path}\n") and patch.endswith("\n")
            apply_patch((EXAMPLE / "docs" / path).read_text(encoding="utf-8"), patch)


def test_second_run_files_nothing_and_computes_nothing(tmp_path: Path) -> None:
    _index()
    first = _run(EXAMPLE / "discord", tmp_path / "one.json")
    second = _run(EXAMPLE / "discord", tmp_path / "two.json")
    assert second["stats"]["messages"] == 0
    assert second["stats"]["window_messages"] == first["stats"]["window_messages"]
    assert second["stats"]["embedded"] == 0
    assert [i["id"] for i in second["insights"]] == [i["id"] for i in first["insights"]]
    assert {i["ticket"]["action"] for i in second["insights"]} == {"unchanged"}
    assert len(list((Path.cwd() / "home" / "outbox").glob("*.md"))) == len(first["insights"])


def _week_one(target: Path, cutoff: str) -> None:
    """Copy the export keeping only messages before `cutoff` (ISO date)."""
    target.mkdir()
    for file in (EXAMPLE / "discord").glob("*.json"):
        data = json.loads(file.read_text(encoding="utf-8"))
        data["messages"] = [m for m in data["messages"] if m["timestamp"][:10] < cutoff]
        if data["messages"]:
            (target / file.name).write_text(json.dumps(data), encoding="utf-8")


def test_next_week_merges_into_the_same_insights_and_tickets(tmp_path: Path) -> None:
    _index()
    stamps = sorted(m["timestamp"][:10] for f in (EXAMPLE / "discord").glob("*.json")
                    for m in json.loads(f.read_text(encoding="utf-8"))["messages"])
    cutoff = stamps[len(stamps) * 2 // 3]
    _week_one(tmp_path / "week1", cutoff)
    first = _run(tmp_path / "week1", tmp_path / "one.json")
    second = _run(EXAMPLE / "discord", tmp_path / "two.json")
    before = {_majority_group(i): i for i in first["insights"]}
    for insight in second["insights"]:
        earlier = before.get(_majority_group(insight))
        if earlier is None:
            assert insight["ticket"]["action"] == "created"
            continue
        assert insight["id"] == earlier["id"]
        assert insight["ticket"]["id"] == earlier["ticket"]["id"]
        grew = set(insight["message_ids"]) - set(earlier["message_ids"])
        assert insight["ticket"]["action"] == ("updated" if grew else "unchanged")
    tickets = json.loads(_invoke("tickets", "--json").output)
    assert len(tickets) == len({i["ticket"]["id"] for i in second["insights"]})


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    _index()
    db_file = Path.cwd() / "home" / "docloop.db"
    before = db_file.read_bytes()
    report = _run(EXAMPLE / "discord", tmp_path / "dry.json", "--dry-run")
    assert report["insights"] and all(i["ticket"] is None for i in report["insights"])
    assert not (Path.cwd() / "home" / "outbox").exists()
    assert not (Path.cwd() / "home" / "reports").exists()
    assert db_file.read_bytes() == before


def test_cap_files_the_highest_scoring_insights(tmp_path: Path) -> None:
    _index()
    report = _run(EXAMPLE / "discord", tmp_path / "run.json", "--max-insights", "2")
    filed = [i for i in report["insights"] if i["ticket"]]
    assert len(filed) == 2
    assert [i["id"] for i in filed] == [i["id"] for i in report["insights"][:2]]


def test_done_ticket_that_comes_back_is_a_regression(tmp_path: Path) -> None:
    _index()
    stamps = sorted(m["timestamp"][:10] for f in (EXAMPLE / "discord").glob("*.json")
                    for m in json.loads(f.read_text(encoding="utf-8"))["messages"])
    _week_one(tmp_path / "week1", stamps[len(stamps) * 2 // 3])
    first = _run(tmp_path / "week1", tmp_path / "one.json")
    outbox = Path.cwd() / "home" / "outbox"
    for insight in first["insights"]:
        result = _invoke("tickets", "set-status", insight["ticket"]["id"], "done")
        assert result.exit_code == 0
        ticket = (outbox / f"{insight['ticket']['id']}.md").read_text(encoding="utf-8")
        assert "**Status:** done" in ticket and "**Status:** open" not in ticket
    second = _run(EXAMPLE / "discord", tmp_path / "two.json")
    statuses = {i["ticket"]["status"] for i in second["insights"] if i["ticket"]["action"] ==
                "updated"}
    assert statuses == {"regressed"}
    regressed = [i for i in second["insights"] if i["ticket"]["status"] == "regressed"]
    text = (outbox / f"{regressed[0]['ticket']['id']}.md").read_text(encoding="utf-8")
    assert "**Status:** regressed" in text


def test_failure_in_one_insight_is_reported_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _index()
    import docloop.stages.enrich as enrich

    real = enrich.match_insight
    broken: list[str] = []

    def flaky(insight: Any, *args: Any, **kwargs: Any) -> Any:
        # the first insight matched fails every time: before the fold (steps._settle, which
        # leaves it unfolded) and in its own task, which records it
        if not broken:
            broken.append(insight.id)
        if insight.id in broken:
            raise StageError("docs index unavailable")
        return real(insight, *args, **kwargs)

    monkeypatch.setattr(enrich, "match_insight", flaky)
    out = tmp_path / "run.json"
    result = _invoke("run", "--source", f"discord-export:{EXAMPLE / 'discord'}", "--since",
                     "all", "--json", str(out))
    assert result.exit_code == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    failed = [i for i in report["insights"] if i["error"]]
    assert len(failed) == 1 and failed[0]["ticket"] is None
    assert sum(1 for i in report["insights"] if i["ticket"]) == len(report["insights"]) - 1
    assert any("docs index unavailable" in e for e in report["errors"])


def test_bad_source_is_a_clear_error_with_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--source", "slack:123"])
    assert result.exit_code == 2
    assert "invalid source 'slack:123'" in result.output
    missing = CliRunner().invoke(main, ["run", "--source", f"discord-export:{tmp_path / 'no'}"])
    assert missing.exit_code == 2


def test_relative_home_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCLOOP_HOME", ".docloop-rel")
    _index()
    report = _run(EXAMPLE / "discord", tmp_path / "run.json", "--max-insights", "1")
    [filed] = [i for i in report["insights"] if i["ticket"]]
    assert filed["ticket"]["url"].startswith("file:///")
    assert (tmp_path / ".docloop-rel" / "outbox" / f"{filed['ticket']['id']}.md").is_file()


def test_config_errors_create_no_database(tmp_path: Path) -> None:
    for args in (["run"], ["run", "--source", "slack:1"],
                 ["run", "--source", f"discord-export:{tmp_path / 'none'}"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
    assert not (Path.cwd() / "home" / "docloop.db").exists()


def test_json_to_stdout_is_the_only_thing_on_stdout(tmp_path: Path) -> None:
    _index()
    result = CliRunner().invoke(main, ["run", "--source", f"discord-export:{EXAMPLE / 'discord'}",
                                       "--since", "all", "--json", "-", "--tracker", "none"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)  # the summary table went to stderr
    assert report["insights"] and "docloop run" in result.stderr


def test_since_days_setting_sets_the_window(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    _index()
    monkeypatch.setenv("DOCLOOP_SINCE_DAYS", "1")
    narrow = CliRunner().invoke(main, ["run", "--source", f"discord-export:{EXAMPLE / 'discord'}",
                                       "--json", str(tmp_path / "narrow.json")])
    assert narrow.exit_code == 0, narrow.output
    wide = _run(EXAMPLE / "discord", tmp_path / "wide.json")  # an explicit --since all wins
    stamps = [m["timestamp"] for f in (EXAMPLE / "discord").glob("*.json")
              for m in json.loads(f.read_text(encoding="utf-8"))["messages"]]
    newest = max(datetime.fromisoformat(s) for s in stamps)
    expected = 0 if datetime.now(UTC) - newest > timedelta(days=1) else None
    narrow_report = json.loads((tmp_path / "narrow.json").read_text(encoding="utf-8"))
    assert narrow_report["stats"]["window_messages"] < wide["stats"]["window_messages"]
    if expected is not None:
        assert narrow_report["stats"]["window_messages"] == expected
