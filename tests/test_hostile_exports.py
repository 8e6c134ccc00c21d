"""Hostile export files through `docloop run`: one-line errors, exit 2, nothing stored.

A folder import is all or nothing: every file is read and validated inside one
transaction, so a bad file anywhere leaves the database as it was. Lone
surrogates (valid JSON, not text) are cleaned to U+FFFD, not rejected.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import ijson
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from docloop.backends.sources.json_stream import LoneSurrogateFilter
from docloop.cli import main
from tests.dce_helpers import export, message, write

CALM = ["ok", "thanks", "sounds good", "see you", "nice"]  # no questions: no model needed


def folder_of_three(root: Path) -> Path:
    """Three valid export files; tests spoil the third."""
    folder = root / "exports"
    for n in range(3):
        chan = {"id": f"50{n}", "type": "GuildTextChat", "categoryId": "400",
                "category": "Text", "name": f"chan{n}", "topic": None}
        write(folder / f"{n}.json", export(
            [message(f"{n}{i:02d}", CALM[i % len(CALM)], minute=i) for i in range(44)], chan))
    return folder


def run(folder: Path) -> Result:
    return CliRunner().invoke(main, ["run", "--source", f"discord-export:{folder}",
                                     "--since", "all", "--tracker", "none"])


def stored_count(home: Path) -> int:
    path = home / "docloop.db"
    if not path.is_file():
        return 0
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        return conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] if (
            "messages" in tables) else 0
    finally:
        conn.close()


def assert_rejected(result: Result, home: Path, name: str) -> None:
    """Exit 2, one error line on stderr naming the file (beside logs), nothing stored."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("INFO ")]
    assert len(errors) == 1 and errors[0].startswith("error: ") and name in errors[0], errors
    assert "Traceback" not in result.output
    assert stored_count(home) == 0


def test_json_nested_200000_deep_is_rejected_in_one_line(tmp_path: Path) -> None:
    folder = folder_of_three(tmp_path)
    depth = 200_000
    (folder / "2.json").write_text(
        '{"channel": {"id": "7"}, "messages": [{"id": "1", "x": '
        + "[" * depth + "]" * depth + "}]}", encoding="utf-8")
    result = run(folder)
    assert_rejected(result, tmp_path / "home", "2.json")
    assert "nested deeper" in result.stderr


def test_a_truncated_third_file_leaves_nothing_of_the_first_two(tmp_path: Path) -> None:
    folder = folder_of_three(tmp_path)
    text = (folder / "2.json").read_text(encoding="utf-8")
    (folder / "2.json").write_text(text[: len(text) // 2], encoding="utf-8")
    assert_rejected(run(folder), tmp_path / "home", "2.json")


def test_lone_surrogate_in_the_third_file_is_cleaned_and_everything_stored(
        tmp_path: Path) -> None:
    folder = folder_of_three(tmp_path)
    text = (folder / "2.json").read_text(encoding="utf-8")
    (folder / "2.json").write_text(text.replace('"sounds good"', '"sounds \\ud800 good"', 1),
                                   encoding="utf-8")
    result = run(folder)
    assert result.exit_code == 0, (result.output, result.exception)
    assert stored_count(tmp_path / "home") == 132
    conn = sqlite3.connect(tmp_path / "home" / "docloop.db")
    contents = [r[0] for r in conn.execute("SELECT content FROM messages WHERE content LIKE ?",
                                           ("sounds%",))]
    assert "sounds \ufffd good" in contents


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["a", "\\", "u", "d800", "dc00", "\ud800", "\udc00",
                                  "\U0001f600", "é", '"', " "]), max_size=40),
       st.sampled_from([1, 5, 13, 65536]))
def test_lone_surrogate_filter_matches_the_standard_library(parts: list[str], buf: int) -> None:
    raw = json.dumps("".join(parts)).encode()
    expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in json.loads(raw))
    ((_, parsed),) = list(ijson.basic_parse(LoneSurrogateFilter(io.BytesIO(raw)), buf_size=buf))
    assert parsed == expected


HOSTILE_VALUES: list[Any] = [
    None, True, 0, -1, 1.5, "", "x", [], {}, [[[]]], {"id": {}}, "9" * 50,
    "\ud800", "\u202e\u0000", "2024-13-45T99:99:99", "0001-01-01T00:00:00+01:00",
]
RAW_VALUES = ["1" + "0" * 5000, "1e999999", "-0.0", '"\\udc00\\ud800"', "[" * 70 + "]" * 70,
              "[" * 5000 + "]" * 5000, "NaN", "0x10", '"\\u0000"', "{}"]
PATHS = [("channel",), ("channel", "id"), ("channel", "type"), ("channel", "categoryId"),
         ("messages",), ("messages", 0), ("messages", 1, "id"), ("messages", 1, "timestamp"),
         ("messages", 1, "timestampEdited"), ("messages", 1, "author"),
         ("messages", 1, "author", "id"), ("messages", 1, "author", "isBot"),
         ("messages", 1, "content"), ("messages", 1, "type"), ("messages", 1, "reference"),
         ("messages", 1, "reactions"), ("messages", 1, "attachments"), ("guild",)]
MARK = "\u2603HOSTILE\u2603"


def _mutated(base: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(base))
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is MARK and isinstance(node, dict):
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return data


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS),
       value=st.one_of(st.sampled_from([*HOSTILE_VALUES, MARK]), st.sampled_from(RAW_VALUES)),
       cut=st.one_of(st.none(), st.floats(0.0, 1.0)))
def test_fuzzed_third_file_never_gives_a_traceback_or_a_partial_write(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        path: tuple[Any, ...], value: Any, cut: float | None) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    monkeypatch.setenv("DOCLOOP_HOME", str(root / "home"))
    folder = folder_of_three(root)
    base = json.loads((folder / "2.json").read_text(encoding="utf-8"))
    if value in RAW_VALUES and isinstance(value, str):
        text = json.dumps(_mutated(base, path, MARK + "raw")).replace(
            json.dumps(MARK + "raw"), value)
    else:
        text = json.dumps(_mutated(base, path, value))
    data = text.encode("utf-8", "surrogatepass")
    if cut is not None:
        data = data[: int(len(data) * cut)]
    (folder / "2.json").write_bytes(data)
    result = run(folder)
    event(f"exit {result.exit_code}")
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert_rejected(result, root / "home", "2.json")
    else:
        assert stored_count(root / "home") >= 88
