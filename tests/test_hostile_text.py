"""Hostile text and timestamps through the whole loop: nothing harmful reaches an output.

A community's messages (and a docs page's headings) are untrusted. Control
characters, bidi overrides and zero-width characters must never reach the
database, the outbox, the reports or the JSON; raw HTML must render as text in
a CommonMark viewer that passes HTML through; a message dated 0001 or 9999
must not be stored or skew the scores.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from docloop.cli import main
from tests import dce_helpers as dce

pytestmark = pytest.mark.usefixtures("minilm")

PAYLOAD = "<img src=x onerror=alert(1)>"
HARMFUL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200b\ufeff]")
QUESTIONS = [
    "How do I set the retry policy for webhook deliveries? " + PAYLOAD + " I get RetryError\x00",
    "webhook deliveries keep failing with RetryError, how do I change the retry policy?\u202e",
    "Is there a way to configure retries\u200b for webhook deliveries? RetryError every time",
    "what retry policy do webhook deliveries use? I see RetryError in the logs <script>x</script>",
]


def _stamp(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def _export(tmp_path: Path) -> Path:
    messages = [
        dce.message(str(1000 + n), text, user=dce.author(str(200 + n), f"user{n}\u202e"),
                    timestamp=_stamp(3 - n * 0.5))
        for n, text in enumerate(QUESTIONS)
    ]
    messages.append(dce.message("1900", "ancient question about webhooks?",
                                user=dce.author("299", "old"),
                                timestamp="0001-01-01T00:00:00+00:00"))
    messages.append(dce.message("1901", "future question about webhook retry policy?",
                                user=dce.author("298", "future"),
                                timestamp="9999-12-31T00:00:00+00:00"))
    chan = dce.channel(name="help\u202e<b>x</b>")
    return dce.write(tmp_path / "export" / "help.json", dce.export(messages, chan))


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "webhooks (old).md").write_text(
        "# Webhooks <script>alert(1)</script>\n\n## Retry policy\n\n"
        "Webhook deliveries are retried five times with exponential backoff. A RetryError "
        "means every attempt failed; set `retry_policy` on the endpoint to change it.\n",
        encoding="utf-8")
    return docs


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _outputs(home: Path, report: Path) -> dict[str, str]:
    files = {str(p): p.read_text(encoding="utf-8") for p in home.rglob("*.md")}
    files[str(report)] = report.read_text(encoding="utf-8")
    return files


def test_hostile_text_is_clean_and_inert_everywhere(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _invoke("index-docs", str(_docs(tmp_path)), "--base-url",
                   "https://docs.example/").exit_code == 0
    out = tmp_path / "run.json"
    result = _invoke("run", "--source", f"discord-export:{_export(tmp_path)}", "--since", "all",
                     "--json", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["insights"], "the four webhook questions should make an insight"
    for name, text in _outputs(home, out).items():
        assert not HARMFUL.search(text), f"control/bidi/zero-width character in {name}"
        if name.endswith(".md"):
            html = MarkdownIt("commonmark").render(text)
            assert "<img" not in html and "<script" not in html and "<b>" not in html, name
    conn = sqlite3.connect(home / "docloop.db")
    rows = conn.execute("SELECT content, author_name, channel_name FROM messages").fetchall()
    assert all(not HARMFUL.search("".join(row)) for row in rows)


def test_messages_dated_before_discord_or_far_ahead_are_skipped_and_said(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    result = _invoke("run", "--source", f"discord-export:{_export(tmp_path)}", "--since", "all",
                     "--json", str(out), "--tracker", "none")
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["stats"]["messages"] == len(QUESTIONS)
    assert any("2 message(s) skipped" in w for w in report["warnings"])
    ids = {m for i in report["insights"] for m in i["message_ids"]}
    assert not ids & {"1900", "1901"}


@pytest.mark.parametrize("since", ["99999999999", "36501", "-1", "0", "soon"])
def test_impossible_since_is_a_one_line_error(tmp_path: Path, since: str) -> None:
    result = CliRunner().invoke(main, ["run", "--source",
                                       f"discord-export:{_export(tmp_path)}",
                                       "--since", since])
    assert result.exit_code == 2
    assert "--since" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "home" / "docloop.db").exists()
