"""`docloop eval`: labels file checks, the acceptance chat, and a run end to end."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from docloop import db
from docloop.cli import main
from docloop.config import Settings
from docloop.errors import InputError
from docloop.evaluation.chat import CHANNELS, write_chat
from docloop.evaluation.labels import lone_groups_warning, read_labels
from docloop.evaluation.runner import scratch_settings
from docloop.stages.search import read_queries
from tests.docs_helpers import write_docs

DOCS = {
    "guide/retries.md": "# Retries\n\nJobs that raise are retried with exponential backoff. "
                        "Set `max_retries` on the queue to change how many times a failed job "
                        "runs again; `retry_delay` sets the first wait.\n",
    "guide/auth.md": "# Authentication\n\nCreate an API token in the dashboard and pass it as "
                     "`TIDE_TOKEN`. A 401 Unauthorized means the token expired or was revoked; "
                     "rotate it under Settings > Tokens.\n",
    "guide/install.md": "# Installation\n\nInstall the SDK with `pip install tidepool`. Python "
                        "3.10 or newer is required.\n",
}
GROUPS = {
    "retries": ("docs/guide/retries.md", [
        "How do I make a failed job retry more times? It gives up after three attempts.",
        "My job fails once and never runs again, how do I set max_retries for retrying?",
        "Is there a way to change how many times a failing job is retried by the queue?"]),
    "auth-401": ("docs/guide/auth.md", [
        "I get 401 Unauthorized from the API even though I set TIDE_TOKEN, why?",
        "Every request returns 401 Unauthorized since yesterday, did my token expire?",
        "API token stopped working, all calls are 401 Unauthorized now. How do I rotate it?"]),
}
NOISE = ["thanks everyone, great release!", "+1", "when will v2 land?"]


def labels_lines() -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    author = 0
    for group, (page, texts) in GROUPS.items():
        for text in texts:
            author += 1
            lines.append({"author": f"user{author}", "text": text, "group": group,
                          "doc_path": page})
    for text in NOISE:
        author += 1
        lines.append({"author": f"user{author}", "text": text, "group": "noise",
                      "doc_path": None})
    order = [0, 3, 6, 1, 4, 7, 2, 5, 8]  # interleaved, as a shuffled file would be
    return [{"id": f"m{i:02d}", **lines[j]} for i, j in enumerate(order)]


def write_labels(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_chat_is_round_robin_top_level_messages_over_six_days(tmp_path: Path) -> None:
    messages = read_labels(write_labels(tmp_path / "l.jsonl", labels_lines()))
    now = datetime(2026, 1, 10, tzinfo=UTC)
    ids = write_chat(messages, tmp_path / "chat", now)
    exports = sorted((tmp_path / "chat").glob("*.json"))
    assert len(exports) == 3 and len(ids) == len(messages)
    by_name = {json.loads(p.read_text())["channel"]["name"]: json.loads(p.read_text())
               for p in exports}
    assert set(by_name) == set(CHANNELS)
    help_ids = [ids[m["id"]] for m in by_name["help"]["messages"]]
    assert help_ids == [m.id for m in messages[0::3]]
    stamps = sorted(datetime.fromisoformat(m["timestamp"])
                    for export in by_name.values() for m in export["messages"])
    assert stamps[0] == now - timedelta(days=6) and stamps[-1] < now
    for export in by_name.values():
        for item in export["messages"]:
            assert "reference" not in item and item["type"] == "Default"


@pytest.mark.parametrize(("line", "expected"), [
    ("{not json", "l.jsonl:2: not valid JSON"),
    (json.dumps({"id": "x", "author": "u", "group": "g", "doc_path": None}),
     "l.jsonl:2: field 'text' must be a non-empty string"),
    (json.dumps({"id": "x", "author": "u", "text": "t", "group": "g"}),
     "l.jsonl:2: field 'doc_path' is missing"),
    (json.dumps({"id": "m00", "author": "u", "text": "t", "group": "g", "doc_path": None}),
     "l.jsonl:2: id 'm00' repeats line 1"),
    (json.dumps({"id": "x", "author": "u", "text": "t", "group": "retries",
                 "doc_path": "docs/other.md"}),
     "l.jsonl:2: field 'doc_path' is 'other.md' but line 1"),
    (json.dumps({"id": "x", "author": "u", "text": "t", "group": "Noise", "doc_path": None}),
     "l.jsonl:2: field 'group' is 'Noise'; write 'noise'"),
    (json.dumps({"id": 1.5, "author": "u", "text": "t", "group": "g", "doc_path": None}),
     "l.jsonl:2: field 'id' must be a non-empty string (or a whole number)"),
    ("[", "l.jsonl:2: not valid JSON (Expecting value): the file looks like one JSON array"),
])
def test_a_bad_labels_line_is_one_error_naming_line_and_field(tmp_path: Path, line: str,
                                                              expected: str) -> None:
    first = json.dumps({"id": "m00", "author": "u0", "text": "retry?", "group": "retries",
                        "doc_path": "docs/guide/retries.md"})
    labels = tmp_path / "l.jsonl"
    labels.write_text(first + "\n" + line + "\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--doc-prefix", "docs/"])
    assert result.exit_code == 2
    assert expected in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "home").exists()  # nothing written, not even the user's home


def test_labels_not_in_utf8_name_the_line_and_the_fix(tmp_path: Path) -> None:
    labels = tmp_path / "l.jsonl"
    first = json.dumps({"id": "a", "author": "u", "text": "retry?", "group": "retries",
                        "doc_path": None}) + "\n"
    labels.write_bytes(first.encode() + first.replace('"a"', '"b"').replace(
        "retry?", "r\u00e9try?").encode("latin-1"))
    with pytest.raises(InputError, match=r"l\.jsonl:2: not UTF-8 text \(byte 0xe9\); save"):
        read_labels(labels)
    labels.write_bytes(first.encode("utf-16"))
    with pytest.raises(InputError, match="the file is UTF-16; save it as UTF-8"):
        read_labels(labels)


def test_windows_page_paths_and_lone_groups_are_read_as_meant(tmp_path: Path) -> None:
    lines = labels_lines()
    lines[0] = {**lines[0], "doc_path": lines[0]["doc_path"].replace("/", "\\")}
    lines.append({"id": "solo", "author": "x", "text": "how do I install?", "group": "install",
                  "doc_path": "docs/guide/install.md"})
    messages = read_labels(write_labels(tmp_path / "l.jsonl", lines), "docs/")
    assert {m.page for m in messages if m.group == "retries"} == {"guide/retries.md"}
    warning = lone_groups_warning(messages)
    assert warning is not None and warning.startswith("1 of 3 groups have one message")
    assert "'install'" in warning and lone_groups_warning(messages[:-1]) is None
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "author": "u", "text": "cold \\ud83e in here", "group": '
                      '"g", "doc_path": null}\n', encoding="utf-8")
    assert read_labels(broken)[0].text == "cold \ufffd in here"  # as `docloop run` reads it
    broken.write_text(json.dumps({"id": "a", "author": "u", "text": "one\u2028line", "group": "g",
                                  "doc_path": None}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert read_labels(broken)[0].text == "one\u2028line"  # U+2028 ends no JSONL line


def test_eval_checks_the_docs_folder_before_it_makes_a_kept_home(tmp_path: Path) -> None:
    labels = write_labels(tmp_path / "labels.jsonl", labels_lines())
    write_docs(tmp_path / "docs", DOCS)
    page = tmp_path / "docs" / "guide" / "auth.md"
    for docs, said in ((page, "is a file, not a folder"), (tmp_path / "nope", "not found")):
        result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(docs),
                                           "--keep-home", str(tmp_path / "kept")])
        assert result.exit_code == 2 and said in result.output
        assert not (tmp_path / "kept").exists()
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--keep-home", str(page)])
    assert result.exit_code == 2 and f"--keep-home {page}: is a file" in result.output


def test_an_interrupted_eval_leaves_its_kept_home_empty(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or a crash) mid-run left a database in the kept home, and the corrected
    command then refused the folder as not empty."""
    write_docs(tmp_path / "docs", DOCS)
    labels = write_labels(tmp_path / "labels.jsonl", labels_lines())

    def interrupted(*args: Any, **kwargs: Any) -> None:
        (tmp_path / "kept" / "docloop.db").write_text("half", encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr("docloop.evaluation.runner.index_docs", interrupted)
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--keep-home", str(tmp_path / "kept")])
    assert result.exit_code != 0
    assert list((tmp_path / "kept").iterdir()) == []


def json_eval_args(tmp_path: Path) -> list[str]:
    """`docloop eval` of the small community (docs and labels written under `tmp_path`),
    the labels' `docs/` prefix removed, JSON out."""
    write_docs(tmp_path / "docs", DOCS)
    labels = write_labels(tmp_path / "labels.jsonl", labels_lines())
    return ["eval", str(labels), "--docs", str(tmp_path / "docs"), "--doc-prefix", "docs/",
            "--json"]


@pytest.mark.usefixtures("minilm")
def test_eval_measures_a_small_community_in_a_scratch_home(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", DOCS)
    labels = write_labels(tmp_path / "labels.jsonl", labels_lines())
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--doc-prefix", "docs/", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["groups"] == 2 and data["missing_groups"] == 0
    assert data["groups_recovered"] == 2 and data["right_page"] == 2
    assert data["noise_leak"] == 0.0 and data["bcubed_f1"] == 1.0
    assert data["search"]["group_hit1"] == 1.0
    rows = {r["group"]: r for r in data["per_group"]}
    assert rows["retries"]["expected_page"] == "guide/retries.md"
    assert rows["retries"]["predicted_page"] == "guide/retries.md"
    insights = {r["page"]: r for r in data["per_insight"]}
    assert insights["guide/retries.md"]["recovers"] == ["retries"]
    assert insights["guide/retries.md"]["title"]  # the ticket's name, to find it by
    assert not (tmp_path / "home").exists()  # the user's DOCLOOP_HOME is never touched


@pytest.mark.usefixtures("minilm")
def test_eval_warns_of_a_template_measured_as_chat_and_of_lone_groups(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", DOCS)
    lines = [{**line, "channel": "help"} for line in labels_lines()]
    lines.append({"id": "solo", "author": "x", "text": "how do I install the sdk?",
                  "group": "install", "doc_path": "docs/guide/install.md"})
    labels = write_labels(tmp_path / "labels.jsonl", lines)
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--doc-prefix", "docs/", "--json"])
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    assert any(w.startswith("1 of 3 groups have one message ('install')") for w in warnings)
    assert any("(channel), as `docloop sources labels` writes them" in w for w in warnings)
    assert len(warnings) == 2 and all(w in result.stderr for w in warnings)


@pytest.mark.usefixtures("minilm")
def test_eval_table_goes_to_stdout(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", DOCS)
    labels = write_labels(tmp_path / "labels.jsonl", labels_lines())
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--doc-prefix", "docs/"])
    assert result.exit_code == 0, result.output
    assert "groups recovered" in result.stdout and "auth-401" in result.stdout


@pytest.mark.usefixtures("minilm")
def test_eval_can_keep_its_home_with_the_tickets_behind_the_same_figures(
        tmp_path: Path) -> None:
    args = json_eval_args(tmp_path)
    scratch = CliRunner().invoke(main, args)
    kept = CliRunner().invoke(main, [*args, "--keep-home", str(tmp_path / "kept")])
    assert scratch.exit_code == kept.exit_code == 0, kept.output
    assert json.loads(kept.stdout) == json.loads(scratch.stdout)
    tickets = sorted((tmp_path / "kept" / "outbox").glob("*.md"))
    assert len(tickets) == 2  # one per recovered problem, readable
    assert any("guide/retries.md" in t.read_text(encoding="utf-8") for t in tickets)


def test_eval_refuses_a_kept_home_that_is_not_empty(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", DOCS)
    labels = write_labels(tmp_path / "labels.jsonl", labels_lines())
    used = tmp_path / "used"
    used.mkdir()
    (used / "docloop.db").write_text("someone's data", encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--keep-home", str(used)])
    assert result.exit_code == 2
    assert f"--keep-home {used}: not an empty folder" in result.output
    assert [p.name for p in used.iterdir()] == ["docloop.db"]


def test_a_saved_eval_table_keeps_every_page_path_on_one_line() -> None:
    """`docloop eval … > eval.txt` printed at 80 columns folded `config/dep-optimization-
    options.md` over five lines; a file gets room for a row's group and both pages."""
    from io import StringIO

    from docloop.evaluation.render import render_table

    row = {"group": "optimize-deps-reload", "size": 5, "in_one_insight": 2, "recovered": False,
           "expected_page": "config/dep-optimization-options.md",
           "predicted_page": "guide/dep-pre-bundling.md", "verdict": "partial",
           "right_page": False}
    result = {"groups": 1, "groups_recovered": 0, "right_page": 0, "right_page_named": 0,
              "missing_groups": 0,
              "missing_found": 0, "missing_precision": None, "bcubed_precision": 1.0,
              "bcubed_recall": 0.4, "bcubed_f1": 0.57, "noise_leak": 0.0, "insights": 1,
              "search": {"group_hit1": 0.0, "group_hit3": 1.0, "message_hit1": 0.2,
                         "message_hit3": 0.8}, "per_group": [row]}
    saved = StringIO()
    render_table(result, saved)
    line = next(x for x in saved.getvalue().splitlines() if "optimize-deps-reload" in x)
    assert "config/dep-optimization-options.md" in line and "guide/dep-pre-bundling.md" in line


def test_the_per_insight_table_prints_the_users_text_not_rich_markup() -> None:
    """A title like `[vite] Internal server error` lost its tag to Rich markup, and a group
    named with a closing tag (`x[/a]`) crashed the table."""
    from io import StringIO

    from docloop.evaluation.render import render_table

    group = {"group": "x[/a]", "size": 2, "in_one_insight": 2, "recovered": True,
             "expected_page": "guide/x.md", "predicted_page": "guide/x.md",
             "verdict": "covered", "right_page": True}
    insight = {"title": "[vite] Internal server error: Failed to resolve import", "page":
               "guide/x.md", "section": "Aliases", "verdict": "covered", "messages": 3,
               "groups": [{"group": "x[/a]", "messages": 2, "of": 2},
                          {"group": None, "messages": 1, "of": None}],
               "recovers": ["x[/a]"], "right_page": ["x[/a]"]}
    result = {"groups": 1, "groups_recovered": 1, "right_page": 1, "right_page_named": 1,
              "missing_groups": 0,
              "missing_found": 0, "missing_precision": None, "bcubed_precision": 1.0,
              "bcubed_recall": 1.0, "bcubed_f1": 1.0, "noise_leak": 1.0, "insights": 1,
              "search": {"group_hit1": 1.0, "group_hit3": 1.0, "message_hit1": 1.0,
                         "message_hit3": 1.0}, "per_group": [group], "per_insight": [insight]}
    saved = StringIO()
    render_table(result, saved)
    text = saved.getvalue()
    assert "[vite] Internal server error" in text
    assert "guide/x.md § Aliases" in text
    assert "2/2 x[/a]; 1 noise" in text and "x[/a] (right page)" in text


def test_labels_and_queries_saved_with_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    """PowerShell's `Out-File -Encoding utf8` starts a file with a BOM; line 1 was "not
    valid JSON"."""
    labels = tmp_path / "labels.jsonl"
    line = json.dumps({"id": "m1", "author": "a", "text": "retry?", "group": "g",
                       "doc_path": "docs/guide/retries.md"})
    labels.write_bytes(("\ufeff" + line + "\r\n").encode())
    assert read_labels(labels, "docs/")[0].page == "guide/retries.md"
    queries = tmp_path / "queries.jsonl"
    queries.write_bytes(("\ufeff" + json.dumps({"id": "q1", "text": "retry"}) + "\n").encode())
    assert read_queries(queries) == [("q1", "retry")]


def test_numeric_ids_and_authors_are_read_as_their_text(tmp_path: Path) -> None:
    """A spreadsheet or database export writes row numbers and user ids as JSON integers;
    eval refused every line ("field 'id' must be a non-empty string")."""
    labels = write_labels(tmp_path / "l.jsonl", [
        {"id": 7, "author": 1234, "text": "retry?", "group": "g", "doc_path": "docs/a.md"},
        {"id": "8", "author": "u", "text": "retries?", "group": "g", "doc_path": "docs/a.md"}])
    first, second = read_labels(labels, "docs/")
    assert (first.id, first.author, first.page) == ("7", "1234", "a.md")
    assert second.id == "8"
    labels.write_text(json.dumps({"id": True, "author": "u", "text": "t", "group": "g",
                                  "doc_path": None}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"l\.jsonl:1: field 'id' must be a non-empty string"):
        read_labels(labels)
    labels.write_text("".join(json.dumps({"id": i, "author": "u", "text": "t", "group": "g",
                                          "doc_path": None}) + "\n" for i in (3, "3")),
                      encoding="utf-8")
    with pytest.raises(InputError, match="id '3' repeats line 1"):
        read_labels(labels)


def test_eval_keeps_its_runs_local_whatever_the_settings_store_in(tmp_path: Path) -> None:
    """A team's docloop.toml may store in DynamoDB and index into Pinecone; eval's scratch
    runs and its copy of the docs must stay in its own home, not land in them."""
    team = Settings(home=tmp_path / "home", store="dynamodb", dynamodb_table="docloop",
                    s3_bucket="team-bucket", docs_index="pinecone",
                    pinecone_host="https://team-index.svc.pinecone.io", review=True,
                    discord_reply_on_done=True, analyzer="offline", embedder="local")
    scratch = scratch_settings(team, tmp_path / "scratch")
    assert (scratch.store, scratch.docs_index) == ("sqlite", "sqlite")
    assert scratch.db_path == tmp_path / "scratch" / "docloop.db"
    assert not scratch.review and not scratch.discord_reply_on_done
    assert scratch.tracker == "none" and scratch.sources == []
    assert (scratch.analyzer, scratch.embedder) == ("offline", "local")  # measured as set


def test_eval_reads_the_labels_from_standard_input_as_from_a_file(tmp_path: Path) -> None:
    """`docloop eval - --docs DIR` measures the labels piped in, and names them `<stdin>` in
    an error."""
    write_docs(tmp_path / "docs", DOCS)
    labels = write_labels(tmp_path / "labels.jsonl", labels_lines())
    args = ["--docs", str(tmp_path / "docs"), "--doc-prefix", "docs/", "--json"]
    from_file = CliRunner().invoke(main, ["eval", str(labels), *args])
    piped = CliRunner().invoke(main, ["eval", "-", *args],
                               input=labels.read_text(encoding="utf-8"))
    assert piped.exit_code == 0, piped.output
    measured = json.loads(piped.stdout)
    assert measured == json.loads(from_file.stdout)
    assert measured["groups_recovered"] == 2
    bad = CliRunner().invoke(main, ["eval", "-", *args],
                             input=labels.read_text(encoding="utf-8") + "{\n")
    assert bad.exit_code == 2
    assert "<stdin>:" in bad.output and "not valid JSON" in bad.output


def _kept_and_read(stderr: str) -> tuple[int, int]:
    """The embeddings an eval with --cache kept and read, from its log lines."""
    kept = re.search(r"eval cache: (\d+) new embedding\(s\) kept", stderr)
    read = re.search(r"eval cache: (\d+) embedding\(s\) read", stderr)
    assert kept is not None, stderr
    return int(kept.group(1)), int(read.group(1)) if read else 0


@pytest.mark.usefixtures("minilm")
def test_eval_cache_carries_the_embeddings_to_the_next_eval_with_the_same_figures(
        tmp_path: Path) -> None:
    args = json_eval_args(tmp_path)
    cache = tmp_path / "cache" / "embeddings.db"
    plain = CliRunner().invoke(main, args)
    first = CliRunner().invoke(main, [*args, "--cache", str(cache)])
    again = CliRunner().invoke(main, [*args, "--cache", str(cache)])
    assert plain.exit_code == first.exit_code == again.exit_code == 0, again.output
    assert json.loads(first.stdout) == json.loads(again.stdout) == json.loads(plain.stdout)
    kept, read = _kept_and_read(first.stderr)
    assert kept > 0 and read == 0  # a new file: everything computed, then kept
    assert _kept_and_read(again.stderr) == (0, kept)  # nothing embedded again
    assert oct(cache.stat().st_mode & 0o777) == "0o600"  # it holds docs and chat text


@pytest.mark.parametrize("kind", ["folder", "text", "foreign"])
def test_eval_refuses_a_cache_it_cannot_use_before_any_work(tmp_path: Path, kind: str) -> None:
    write_docs(tmp_path / "docs", DOCS)
    labels = write_labels(tmp_path / "labels.jsonl", labels_lines())
    cache = tmp_path / "cache.db"
    if kind == "folder":
        cache.mkdir()
    elif kind == "text":
        cache.write_text("notes, not a database\n" * 200, encoding="utf-8")
    else:
        with closing(sqlite3.connect(cache)) as conn:
            conn.execute("CREATE TABLE orders (id INTEGER)")
    before = cache.stat().st_mtime_ns
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--cache", str(cache), "--keep-home",
                                       str(tmp_path / "kept")])
    assert result.exit_code == 2
    assert f"--cache {cache}: " in result.output
    assert cache.stat().st_mtime_ns == before  # left as it was
    assert not (tmp_path / "kept").exists() or not any((tmp_path / "kept").iterdir())


def test_an_eval_that_fails_adds_nothing_to_its_cache(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", DOCS)
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": "a", "author": "u", "group": "g", "doc_path": null}\n',
                      encoding="utf-8")  # no text: a bad line
    cache = tmp_path / "cache.db"
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--cache", str(cache)])
    assert result.exit_code == 2 and not cache.exists()


def test_a_cache_in_a_folder_named_with_uri_marks_is_read_and_a_home_is_not_written(
        tmp_path: Path) -> None:
    """A path is no URI: a `#` or `?` in a folder name (`evals #2`) once cut it short and
    the cache was refused as unreadable. A home that never embedded has no cache table,
    and seeding from it leaves it as it was."""
    from docloop.evaluation.embedding_cache import check_cache_file, seed_embeddings

    cache = tmp_path / "evals #2?" / "cache.db"
    db.connect(cache).close()  # an empty docloop database, as `--cache` would make
    check_cache_file(cache)
    home_db, eval_db = tmp_path / "home" / "docloop.db", tmp_path / "eval" / "docloop.db"
    db.connect(home_db).close()
    before = home_db.read_bytes()
    assert seed_embeddings(eval_db, home_db) == 0
    assert home_db.read_bytes() == before


@pytest.mark.usefixtures("minilm")
def test_a_cache_written_by_another_model_of_the_same_name_is_named_in_the_error(
        tmp_path: Path) -> None:
    """Vectors of another size under the model's name can only have come from --cache (the
    eval home starts empty), so the error names FILE, not the scratch home eval deletes."""
    from docloop.backends.embedders.cache import SQLiteVectorCache
    from docloop.backends.embedders.minilm import MiniLMEmbedder

    model = MiniLMEmbedder.name
    cache = tmp_path / "cache.db"
    with closing(db.connect(cache)) as conn:
        SQLiteVectorCache(conn).store(model, {"0" * 64: np.ones(8, dtype=np.float32)})
    result = CliRunner().invoke(main, [*json_eval_args(tmp_path), "--cache", str(cache)])
    assert result.exit_code == 2, result.output
    assert f"--cache {cache}: holds 8-dim vectors for model '{model}'" in result.output
    assert f"{MiniLMEmbedder.dim}-dim" in result.output
    assert "docloop-eval-" not in result.output
    with closing(db.connect(cache)) as conn:  # nothing added to it
        assert conn.execute("SELECT count(*) FROM embedding_cache").fetchone()[0] == 1
