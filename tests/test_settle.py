"""Small insights matched to another insight's docs section fold into it (stages.settle)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.models import DocMatch
from docloop.stages import enrich, settle
from docloop.stages.settle import Placed, fold_targets
from tests.helpers import run_json

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "tidepool"
GENERIC = ("concepts/models.md", "generic-models")


def test_a_small_insight_folds_into_the_largest_on_its_section() -> None:
    placed = [Placed("big", 5, GENERIC), Placed("pair", 2, GENERIC), Placed("one", 1, GENERIC),
              Placed("elsewhere", 2, ("concepts/models.md", "field-ordering"))]
    assert fold_targets(placed) == {"pair": "big", "one": "big"}


def test_two_small_insights_on_one_section_become_one_the_first_keeping_its_identity() -> None:
    # Pydantic's real pair: two insights of two messages each, both on § Generic models
    assert fold_targets([Placed("first", 2, GENERIC), Placed("second", 2, GENERIC)]) == {
        "second": "first"}


def test_larger_insights_sharing_a_section_and_missing_ones_stay_apart() -> None:
    assert fold_targets([Placed("a", 4, GENERIC), Placed("b", 3, GENERIC)]) == {}
    assert fold_targets([Placed("a", 4, None), Placed("b", 2, None)]) == {}
    assert fold_targets([Placed("a", 4, GENERIC), Placed("b", 2, None)]) == {}
    # a small insight an earlier run filed keeps its ticket, and so its own insight; the
    # records are asked only about insights that would fold
    asked: list[str] = []

    def ticketed(insight_id: str) -> bool:
        asked.append(insight_id)
        return insight_id == "b"

    placed = [Placed("a", 4, GENERIC), Placed("b", 2, GENERIC), Placed("c", 1, GENERIC),
              Placed("d", 2, ("concepts/models.md", "field-ordering"))]
    assert fold_targets(placed, ticketed) == {"c": "a"}
    assert sorted(asked) == ["b", "c"]


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _run(out: Path) -> dict[str, Any]:
    return run_json(EXAMPLE / "discord", out)


@pytest.mark.usefixtures("minilm")
def test_a_run_files_the_folded_insight_once_and_matches_the_others_only_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through `docloop run`: the two smallest of the example's insights are made to match
    one section (every insight counts as small here); the run reports them as one insight
    holding both's messages, filed once, and only that insight is matched again."""
    assert _invoke("index-docs", str(EXAMPLE / "docs")).exit_code == 0
    plain = _run(tmp_path / "plain.json")["insights"]
    smallest = sorted(plain, key=lambda i: (len(i["message_ids"]), i["id"]))[:2]
    pair = {i["id"] for i in smallest}
    again = _force_pair_onto_one_section(monkeypatch, pair)
    monkeypatch.setenv("DOCLOOP_HOME", str(tmp_path / "fresh"))
    assert _invoke("index-docs", str(EXAMPLE / "docs")).exit_code == 0
    folded = _run(tmp_path / "folded.json")["insights"]

    assert len(folded) == len(plain) - 1
    keep = [i for i in folded if i["id"] in pair]
    assert len(keep) == 1  # one of the two keeps its identity, the other is gone
    assert set(keep[0]["message_ids"]) == {m for i in smallest for m in i["message_ids"]}
    assert keep[0]["ticket"]["action"] == "created"
    assert again == [keep[0]["id"]]  # the others kept the match made before the fold
    untouched = {i["id"]: (i["doc"]["path"], i["doc"]["anchor"], i["title"]) for i in plain
                 if i["id"] not in pair}
    assert {i["id"]: (i["doc"]["path"], i["doc"]["anchor"], i["title"]) for i in folded
            if i["id"] not in pair} == untouched


def _force_pair_onto_one_section(monkeypatch: pytest.MonkeyPatch, pair: set[str]) -> list[str]:
    """Make the fold's match put `pair` on one section, count the tasks' own matches, and
    let every insight count as small; returns the ids the tasks matched."""
    real_match = enrich.match_members

    def same_section(insight: Any, *args: Any, **kwargs: Any) -> tuple[DocMatch, list[Any]]:
        match, chunks = real_match(insight, *args, **kwargs)
        if insight.id in pair:
            match = match.model_copy(update={"path": "guides/cron.md", "anchor": "timezones",
                                             "verdict": "covered"})
        return match, chunks

    again: list[str] = []

    def counted(insight: Any, *args: Any, **kwargs: Any) -> tuple[DocMatch, list[Any]]:
        again.append(insight.id)
        return real_match(insight, *args, **kwargs)

    monkeypatch.setattr("docloop.steps.match_members", same_section)
    monkeypatch.setattr(enrich, "match_members", counted)
    monkeypatch.setattr(settle, "SMALL_MESSAGES", 10_000)
    return again


@pytest.mark.usefixtures("minilm")
def test_with_no_small_insight_nothing_is_matched_before_the_tasks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No insight can fold: the analyse step matches none (on AWS the Map's tasks match
    in parallel, as before the fold existed)."""
    assert _invoke("index-docs", str(EXAMPLE / "docs")).exit_code == 0
    again = _force_pair_onto_one_section(monkeypatch, set())
    monkeypatch.setattr(settle, "SMALL_MESSAGES", 0)
    insights = _run(tmp_path / "run.json")["insights"]
    assert sorted(again) == sorted(i["id"] for i in insights)  # each task matched its own


@pytest.mark.usefixtures("minilm")
def test_a_small_insight_filed_by_an_earlier_run_keeps_its_own_ticket(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every insight was filed by the first run; a later run (one message more, so it
    analyses again) that would fold two of them leaves both, each with its ticket."""
    assert _invoke("index-docs", str(EXAMPLE / "docs")).exit_code == 0
    export = tmp_path / "discord"
    shutil.copytree(EXAMPLE / "discord", export)
    first = run_json(export, tmp_path / "one.json")["insights"]
    smallest = sorted(first, key=lambda i: (len(i["message_ids"]), i["id"]))[:2]
    _add_a_message(next(export.glob("*general*.json")))
    _force_pair_onto_one_section(monkeypatch, {i["id"] for i in smallest})
    second = run_json(export, tmp_path / "two.json")
    assert second["stats"]["analysis_reused"] is None
    assert sorted(i["id"] for i in second["insights"]) == sorted(i["id"] for i in first)
    assert {i["id"]: i["ticket"]["id"] for i in second["insights"]} == {
        i["id"]: i["ticket"]["id"] for i in first}


def _add_a_message(path: Path) -> None:
    """One more chat message in an export file (a new id, a minute after the last)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    last = data["messages"][-1]
    data["messages"].append({**last, "id": str(int(last["id"]) + 1),
                             "content": "thanks all, see you at the meetup"})
    data["messageCount"] = len(data["messages"])
    path.write_text(json.dumps(data), encoding="utf-8")
