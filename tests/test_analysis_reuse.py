"""A run with nothing new reuses the last analysis; any change to its inputs computes anew.

Before: every run extracted, embedded and clustered its whole window again,
seconds per 10k messages of history, to reach the insights it already had.
These run `docloop run` on the bundled example through the CLI and count
how often the analysis itself ran.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docloop import steps
from docloop.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "tidepool"

pytestmark = pytest.mark.usefixtures("minilm")


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a run analysed its window (one entry per call)."""
    calls: list[int] = []
    real: Callable[..., Any] = steps.analyse

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(steps, "analyse", counted)
    return calls


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """Copies of the example's docs (indexed) and export, so a test can change them."""
    shutil.copytree(EXAMPLE / "docs", tmp_path / "docs")
    shutil.copytree(EXAMPLE / "discord", tmp_path / "discord")
    _invoke("index-docs", str(tmp_path / "docs"), "--base-url", "https://docs.tidepool.example/")
    return tmp_path


def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _run(work: Path, name: str, *extra: str) -> dict[str, Any]:
    out = work / f"{name}.json"
    _invoke("run", "--source", f"discord-export:{work / 'discord'}", "--since", "all",
            "--json", str(out), *extra)
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _without_tickets(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in i.items() if k != "ticket"} for i in report["insights"]]


def test_a_run_with_nothing_new_reuses_the_analysis_and_says_so(
        work: Path, analyses: list[int]) -> None:
    first = _run(work, "one")
    second = _run(work, "two")
    assert len(analyses) == 1
    assert first["stats"]["analysis_reused"] is None
    assert "nothing changed since run" in second["stats"]["analysis_reused"]
    assert _without_tickets(second) == _without_tickets(first)
    for key in ("window_messages", "conversations", "problems", "insights"):
        assert second["stats"][key] == first["stats"][key]
    assert second["stats"]["messages"] == second["stats"]["embedded"] == 0
    assert {i["ticket"]["action"] for i in second["insights"]} == {"unchanged"}
    assert [i["ticket"]["id"] for i in second["insights"]] == \
        [i["ticket"]["id"] for i in first["insights"]]
    (markdown,) = (Path.cwd() / "home" / "reports").glob(f"{second['run_id']}.md")
    assert "Analysis reused: nothing changed since run" in markdown.read_text(encoding="utf-8")


def test_a_status_change_from_the_tracker_shows_in_a_reused_run(
        work: Path, analyses: list[int]) -> None:
    first = _run(work, "one")
    ticket = first["insights"][0]["ticket"]["id"]
    _invoke("tickets", "set-status", ticket, "done")
    second = _run(work, "two")
    assert len(analyses) == 1 and second["stats"]["analysis_reused"]
    statuses = {i["ticket"]["id"]: i["ticket"]["status"] for i in second["insights"]}
    assert statuses[ticket] == "done"


def _edit_a_docs_page(work: Path) -> None:
    page = work / "docs" / "faq.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n## Another question\n\nAn answer.\n",
                    encoding="utf-8")
    _invoke("index-docs", str(work / "docs"), "--base-url", "https://docs.tidepool.example/")


def _add_a_message(work: Path) -> None:
    path = next((work / "discord").glob("*help*[[]1187342617392545849[]].json"))
    data = json.loads(path.read_text(encoding="utf-8"))
    new = dict(data["messages"][-1], id="1999999999999999999", content="One more question?")
    data["messages"].append(new)
    path.write_text(json.dumps(data), encoding="utf-8")


def _change_reactions(work: Path) -> None:
    """The same messages, one with new reactions (a re-export days later)."""
    path = next((work / "discord").glob("*help*[[]1187342617392545849[]].json"))
    data = json.loads(path.read_text(encoding="utf-8"))
    data["messages"][0]["reactions"] = [{"emoji": {"id": None, "name": "😂", "code": "joy"},
                                         "count": 5, "users": []}]
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(("change", "extra"), [
    (None, ("--min-conversations", "3")),   # a setting that shapes the analysis
    (None, ("--since", "20")),              # a window without the first week's messages
    (_edit_a_docs_page, ()),                # the docs re-indexed with a changed page
    (_add_a_message, ()),                   # one new message
    (_change_reactions, ()),                # reactions changed in place
], ids=["setting", "since", "docs", "message", "reactions"])
def test_any_change_to_the_inputs_analyses_again(
        work: Path, analyses: list[int], change: Callable[[Path], None] | None,
        extra: tuple[str, ...]) -> None:
    _run(work, "one")
    if change is not None:
        change(work)
    second = _run(work, "two", *extra)
    assert second["stats"]["analysis_reused"] is None
    assert len(analyses) == 2


def test_a_run_whose_match_failed_is_not_reused(
        work: Path, analyses: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    import docloop.stages.enrich as enrich
    from docloop.errors import StageError

    real = enrich.match_insight
    calls: list[str] = []

    def flaky(insight: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(insight.id)
        if insight.id == calls[0]:  # one insight fails every time: its task records it
            raise StageError("docs index unavailable")
        return real(insight, *args, **kwargs)

    monkeypatch.setattr(enrich, "match_insight", flaky)
    out = work / "failed.json"
    result = CliRunner().invoke(main, ["run", "--source", f"discord-export:{work / 'discord'}",
                                       "--since", "all", "--json", str(out)])
    assert result.exit_code == 1
    monkeypatch.setattr(enrich, "match_insight", real)  # the docs index is back
    second = _run(work, "two")
    assert second["stats"]["analysis_reused"] is None and len(analyses) == 2
    assert not any(i["error"] for i in second["insights"])


def test_a_run_whose_fold_missed_an_insight_is_not_reused(
        work: Path, analyses: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """The match before the fold failed once, its task's match then worked: the run is
    fine (exit 0) but decided its folds without that insight, so the next run analyses
    again rather than reuse it."""
    import docloop.stages.enrich as enrich
    from docloop.errors import StageError

    real = enrich.match_insight
    calls: list[int] = []

    def once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise StageError("docs index unavailable")
        return real(*args, **kwargs)

    monkeypatch.setattr(enrich, "match_insight", once)
    # every insight counts as small, so the fold matches them before their tasks do
    monkeypatch.setattr("docloop.stages.settle.SMALL_MESSAGES", 10_000)
    first = _run(work, "one")
    assert not any(i["error"] for i in first["insights"])
    second = _run(work, "two")
    assert second["stats"]["analysis_reused"] is None and len(analyses) == 2


def test_a_model_run_that_ran_out_of_budget_is_not_reused(
        work: Path, analyses: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """Conversations the model never saw must be sent next run, not skipped by reuse."""
    from tests.fake_openai import FakeOpenAI
    from tests.llm_support import use_fake
    from tests.scripted_model import PlausibleModel

    with FakeOpenAI(PlausibleModel()) as fake:
        use_fake(monkeypatch, fake.base_url, DOCLOOP_ANALYZER="llm",
                 DOCLOOP_LLM_TOKEN_BUDGET="4000")
        out = work / "one.json"
        CliRunner().invoke(main, ["run", "--source", f"discord-export:{work / 'discord'}",
                                  "--since", "all", "--json", str(out)],
                           catch_exceptions=False)
        first = json.loads(out.read_text(encoding="utf-8"))
        assert any("budget" in w for w in first["warnings"])
        out = work / "two.json"
        CliRunner().invoke(main, ["run", "--source", f"discord-export:{work / 'discord'}",
                                  "--since", "all", "--json", str(out)],
                           catch_exceptions=False)
        second = json.loads(out.read_text(encoding="utf-8"))
    assert second["stats"]["analysis_reused"] is None and len(analyses) == 2


def test_a_memo_saved_before_notes_were_kept_loads_without_any() -> None:
    """The notes column (migration 2) comes with an empty list for the memo already saved."""
    from datetime import UTC, datetime

    from docloop import db
    from docloop.storage.analysis_memo import MIGRATIONS, AnalysisMemoStore

    conn = db.memory()
    db.ensure_schema(conn, "analysis_memo", MIGRATIONS[:1])  # the schema an older docloop made
    conn.execute("INSERT INTO analysis_memo VALUES (1, 'fp', '[\"i1\"]', 3, 4, 'r1', ?)",
                 (datetime(2026, 1, 5, tzinfo=UTC).isoformat(),))
    memo = AnalysisMemoStore(conn).load()
    assert memo is not None and memo.insight_ids == ["i1"] and memo.notes == []
