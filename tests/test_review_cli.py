"""Review before filing, end to end on the bundled example, as a docs team runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docloop.cli import main
from tests.test_run_pipeline import EXAMPLE, _index, _week_one

pytestmark = pytest.mark.usefixtures("minilm")
OUTBOX = Path("home") / "outbox"


def _invoke(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def _run(source: Path, out: Path) -> dict[str, Any]:
    _invoke("run", "--review", "--source", f"discord-export:{source}", "--since", "all",
            "--max-insights", "0", "--json", str(out))
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _listed() -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in json.loads(_invoke("review", "list", "--json").stdout)}


def _outbox() -> list[Path]:
    return sorted(OUTBOX.glob("*.md")) if OUTBOX.is_dir() else []


def test_review_desk_from_the_cli(tmp_path: Path) -> None:
    _index()
    first = _run(EXAMPLE / "discord", tmp_path / "one.json")
    ids = [i["id"] for i in first["insights"]]
    assert len(ids) >= 4 and _outbox() == []
    assert all(i["ticket"] is None and i["review"] == "proposed" for i in first["insights"])
    assert first["stats"]["review"]["proposed"] == len(ids) == first["stats"]["review"][
        "proposed_now"]
    listed = _listed()
    assert set(listed) == set(ids)
    assert all({"id", "title", "score", "review", "ticket"} <= set(i) for i in listed.values())
    accepted, rejected, edited, kept, absorbed = ids[:5] if len(ids) >= 5 else (*ids, None)

    _invoke("review", "accept", accepted)
    assert len(_outbox()) == 1
    _invoke("review", "reject", rejected, "--reason", "a support question, not a docs gap")
    suggestion = tmp_path / "suggestion.md"
    suggestion.write_text("Say which **origin** to allow, with an example.\n", encoding="utf-8")
    ours, moved_to, *_ = _listed()[edited]["candidate_pages"]  # docloop's page, then others
    _invoke("review", "edit", edited, "--title", "Edited by the docs team",
            "--suggestion-file", str(suggestion), "--page", moved_to)
    assert _listed()[edited]["page"] == moved_to
    _invoke("review", "accept", edited)
    tickets = _outbox()
    assert len(tickets) == 2
    edited_ticket = _listed()[edited]["ticket"]["id"]
    text = (OUTBOX / f"{edited_ticket}.md").read_text(encoding="utf-8")
    assert "Edited by the docs team" in text and "with an example." in text
    assert f"**Docs:** [{moved_to}" in text and "verdict: **partial**" in text
    assert ours in text.split("**Next candidates**", 1)[1]  # docloop's page comes next
    elsewhere = next(p for p in ("guides/deployment/docker.md", "faq.md", "index.md")
                     if p not in _listed()[kept]["candidate_pages"])
    _invoke("review", "edit", kept, "--page", "guides/nowhere.md", code=2)
    _invoke("review", "edit", kept, "--page", elsewhere)  # any page of the docs index
    assert (_listed()[kept]["page"], _listed()[kept]["page_url"]) == (
        elsewhere, f"https://docs.tidepool.example/{elsewhere.removesuffix('.md')}/")
    if absorbed is not None:
        _invoke("review", "merge", kept, absorbed)

    second = _run(EXAMPLE / "discord", tmp_path / "two.json")
    by_id = {i["id"]: i for i in second["insights"]}
    assert by_id[accepted]["ticket"]["action"] == "unchanged"
    assert by_id[rejected]["ticket"] is None and by_id[rejected]["review"] == "rejected"
    assert second["stats"]["review"]["suppressed"] == 1
    assert second["stats"]["review"]["proposed_now"] == 0
    assert second["stats"]["review"]["accepted"] == 2
    assert second["stats"]["review"]["acceptance_rate"] == pytest.approx(2 / 3, abs=0.001)
    assert len(_outbox()) == 2
    if absorbed is not None:
        assert absorbed not in by_id  # the merge held: its problems stayed with the kept one
        assert set(first_conversations(first, absorbed)) <= set(
            by_id[kept]["conversation_ids"])
    decisions = [(i["id"], i["decided_by"]) for i in _listed().values() if i["decided_by"]]
    assert (accepted, "cli") in decisions and (rejected, "cli") in decisions
    markdown = next((Path("home") / "reports").glob("*.md")).read_text(encoding="utf-8")
    assert "## Review" in markdown and "acceptance rate" in markdown


def first_conversations(report: dict[str, Any], insight_id: str) -> list[str]:
    return next(i["conversation_ids"] for i in report["insights"] if i["id"] == insight_id)


def test_review_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    _index()
    report = _run(EXAMPLE / "discord", tmp_path / "one.json")
    first = report["insights"][0]["id"]
    assert "no insight 'nope'" in _invoke("review", "accept", "nope", code=2).stderr
    _invoke("review", "reject", first)
    refused = _invoke("review", "accept", first, code=2).stderr
    assert refused.startswith("error: ") and refused.count("\n") == 1 and "rejected" in refused
    assert "into itself" in _invoke("review", "merge", first, first, code=2).stderr
    assert "no such file" in _invoke("review", "edit", first, "--suggestion-file",
                                     "missing.md", code=2).stderr
    assert _outbox() == []


def test_a_rejected_insight_returns_when_it_grows(tmp_path: Path) -> None:
    """Week one's insights are all rejected; with the full export some doubled (proposed
    again at the default factor 2.0) and some grew less (still suppressed)."""
    _index()
    stamps = sorted(m["timestamp"][:10] for f in (EXAMPLE / "discord").glob("*.json")
                    for m in json.loads(f.read_text(encoding="utf-8"))["messages"])
    _week_one(tmp_path / "week1", stamps[len(stamps) * 2 // 3])
    first = _run(tmp_path / "week1", tmp_path / "one.json")
    for insight in first["insights"]:
        _invoke("review", "reject", insight["id"])
    second = _run(EXAMPLE / "discord", tmp_path / "two.json")
    before = {i["id"]: len(i["conversation_ids"]) for i in first["insights"]}
    grown = stayed = 0
    for insight in second["insights"]:
        size = len(insight["conversation_ids"])
        if insight["id"] not in before:
            continue
        if size >= 2.0 * before[insight["id"]]:
            grown += 1
            assert insight["review"] == "proposed"
            assert insight["review_note"] == (f"grew from {before[insight['id']]} to {size} "
                                              "conversations since rejected")
        else:
            stayed += 1
            assert insight["review"] == "rejected" and insight["ticket"] is None
    assert grown >= 1 and stayed >= 1
    assert _outbox() == []
