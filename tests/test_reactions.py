"""Reactions: read from both Discord formats, and laughter marks a joke."""

from __future__ import annotations

from pathlib import Path

from docloop.backends.analyzers.offline import OfflineAnalyzer
from docloop.backends.sources.dce import ExportSource
from docloop.backends.sources.reactions import reaction_counts
from docloop.config import Settings
from tests.dce_helpers import export, message, write
from tests.helpers import conv, msg


def dce_reaction(name: str, count: int) -> dict[str, object]:
    return {"emoji": {"id": "", "name": name, "code": "joy", "isAnimated": False,
                      "imageUrl": "https://cdn/x.svg"}, "count": count, "users": []}


def test_counts_from_either_format_and_malformed_entries_skipped() -> None:
    rest = [{"count": 2, "me": False, "emoji": {"id": None, "name": "🔥"}}]
    assert reaction_counts(rest) == {"🔥": 2}
    assert reaction_counts([dce_reaction("😂", 9), dce_reaction("kekw", 1)]) == {
        "😂": 9, "kekw": 1}
    assert reaction_counts([{"emoji": {}}, {"count": "3"}, "x", None]) == {}
    assert reaction_counts(None) == {}


def test_an_export_keeps_reaction_counts(tmp_path: Path) -> None:
    data = export([message("1", "lol", reactions=[dce_reaction("😂", 4)])])
    path = write(tmp_path / "help.json", data)
    source = ExportSource.from_spec("discord-export", str(path), Settings())
    [kept] = [m for batch in source.batches(None, {}) for m in batch.messages]
    assert kept.reactions == {"😂": 4}


def test_a_laughed_at_error_is_a_joke_not_a_problem() -> None:
    joke = msg("1", "a", "`ImportError: cannot import name FastAPI from partially initialized "
               "module` flashbacks", reactions={"😂": 9})
    assert OfflineAnalyzer().extract([conv("1", joke)]) == []


def test_laughter_does_not_hide_a_question_or_a_plain_error_report() -> None:
    question = msg("2", "a", "why does uvicorn crash with ImportError on reload?",
                   reactions={"😂": 5})
    report = msg("3", "b", "ImportError: cannot import name FastAPI when I run uvicorn",
                 reactions={"😂": 2, "👀": 4})
    assert len(OfflineAnalyzer().extract([conv("2", question), conv("3", report)])) == 2
