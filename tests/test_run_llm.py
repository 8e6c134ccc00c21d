"""`docloop run` in LLM mode against a local OpenAI-compatible server, end to end."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.patching import apply_patch
from tests.fake_openai import FakeOpenAI
from tests.llm_support import use_fake
from tests.scripted_model import INVENTED, InventingModel, PlausibleModel

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tidepool"

pytestmark = pytest.mark.usefixtures("minilm")


def _run(out: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["run", "--source", f"discord-export:{EXAMPLE / 'discord'}",
                                       "--since", "all", "--json", str(out), *extra],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _index() -> None:
    result = CliRunner().invoke(main, ["index-docs", str(EXAMPLE / "docs")])
    assert result.exit_code == 0, result.output


def test_llm_run_files_verified_tickets_and_reruns_for_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _index()
    with FakeOpenAI(PlausibleModel()) as fake:
        use_fake(monkeypatch, fake.base_url, DOCLOOP_ANALYZER="llm")
        first = _run(tmp_path / "one.json")
        calls = fake.chat_calls
        second = _run(tmp_path / "two.json")
        assert fake.chat_calls == calls  # every outcome was cached
    assert calls > 0 and first["stats"]["llm"]["calls"] == calls
    assert second["stats"]["llm"]["calls"] == 0
    assert first["insights"], "the model's problems formed no insight"
    stored = dict(sqlite3.connect(Path.cwd() / "home" / "docloop.db")
                  .execute("SELECT id, content FROM messages").fetchall())
    for insight in first["insights"]:
        assert insight["ticket"]["action"] == "created"
        for quote in insight["quotes"]:
            assert " ".join(quote["text"].split()) in " ".join(stored[quote["message_id"]].split())
        suggestion = insight["suggestion"]
        if suggestion["patch"]:
            source = (EXAMPLE / "docs" / insight["doc"]["path"]).read_text(encoding="utf-8")
            apply_patch(source, suggestion["patch"])
    assert {i["ticket"]["action"] for i in second["insights"]} == {"unchanged"}


def test_a_key_alone_never_sends_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _index()
    with FakeOpenAI(PlausibleModel()) as fake:
        use_fake(monkeypatch, fake.base_url)
        report = _run(tmp_path / "run.json")
        assert fake.chat_calls == 0
    assert report["stats"]["llm"]["calls"] == 0 and report["insights"]


def test_a_model_inventing_half_its_citations_still_analyses_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _index()
    model = InventingModel(max_batch=4, refuse_word="PyCon")
    with FakeOpenAI(model) as fake:
        use_fake(monkeypatch, fake.base_url, DOCLOOP_ANALYZER="llm")
        first = _run(tmp_path / "one.json")
        calls = fake.chat_calls
        second = _run(tmp_path / "two.json")
        assert fake.chat_calls == calls
        model.refuse_word = "\0"  # the model would now answer: --retry-failed asks again
        retried = _run(tmp_path / "three.json", "--retry-failed")
    llm = first["stats"]["llm"]
    sent, unanalysed = llm["conversations_sent"], llm["conversations_unanalysed"]
    assert sent > 20 and 1 <= unanalysed <= 0.1 * sent
    assert {"quote_not_verbatim", "unknown_conversation_id"} <= set(llm["dropped"])
    assert first["insights"] and any("never analysed" in w for w in first["warnings"])
    assert second["stats"]["llm"]["calls"] == 0
    assert second["stats"]["llm"]["conversations_unanalysed"] == unanalysed
    assert retried["stats"]["llm"]["by_stage"]["extract"]["calls"] == unanalysed
    assert retried["stats"]["llm"]["conversations_unanalysed"] == 0
    for insight in first["insights"]:
        assert all(INVENTED not in quote["text"] for quote in insight["quotes"])
        anchor = insight["suggestion"].get("anchor")
        if anchor:
            page = (EXAMPLE / "docs" / insight["doc"]["path"]).read_text(encoding="utf-8")
            assert page.count(anchor) == 1
