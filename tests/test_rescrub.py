"""Messages stored under older redaction rules are scrubbed again on the next run."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from docloop import db
from docloop.cli import main
from docloop.models import Message
from docloop.registry import sqlite_stores
from docloop.stages.scrub import SCRUB_KEY, rescrub_stored
from docloop.storage.messages import MessageStore
from tests import dce_helpers as dce

KEY = "lin_api_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0"


def _old_message() -> Message:
    """What an older docloop stored: a key in the content and an address in the thread name."""
    return Message(id="1", channel_id="5", channel_name="help", thread_id="7",
                   thread_name="deploy fails for ann@example.com", author_id="9",
                   author_name="ann", content=f"my key {KEY} is rejected\u202e",
                   timestamp=datetime.now(UTC) - timedelta(days=1))


def test_history_stored_under_older_rules_is_scrubbed_once(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "docloop.db")
    store = MessageStore(conn)
    store.upsert([_old_message()])  # straight into the store, as an older version did
    assert rescrub_stored(sqlite_stores(conn)) == 1
    [stored] = store.get(["1"])
    assert KEY not in stored.content and "\u202e" not in stored.content
    assert "ann@example.com" not in (stored.thread_name or "")
    assert store.watermarks(SCRUB_KEY)[SCRUB_KEY]
    assert rescrub_stored(sqlite_stores(conn)) == 0  # the same rules never rewrite again


def test_a_run_scrubs_the_stored_history_before_reading_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    conn = db.connect(home / "docloop.db")
    MessageStore(conn).upsert([_old_message()])
    conn.close()
    export = dce.write(tmp_path / "x.json", dce.export([dce.message("2", "hello there")]))
    result = CliRunner().invoke(main, ["run", "--source", f"discord-export:{export}",
                                       "--since", "all", "--tracker", "none"])
    assert result.exit_code == 0, result.output
    dump = "\n".join(sqlite3.connect(home / "docloop.db").iterdump())
    assert KEY not in dump and "ann@example.com" not in dump


def test_sources_check_shows_names_redacted(tmp_path: Path) -> None:
    chan = dce.channel(name="keys-ann@example.com")
    export = dce.write(tmp_path / "x.json", dce.export([dce.message("2", "hi")], chan))
    result = CliRunner().invoke(main, ["sources", "check", "--source",
                                       f"discord-export:{export}", "--json"])
    assert result.exit_code == 0, result.output
    assert "ann@example.com" not in result.output
    assert json.loads(result.output)[0]["channels"][0]["name"] == "[email]"
