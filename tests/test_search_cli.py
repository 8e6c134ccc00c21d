"""`docloop index-docs` and `docloop docs search` end to end, per DESIGN §5."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.backends.embedders.minilm import MiniLMEmbedder
from docloop.cli import main
from tests.docs_helpers import write_docs

pytestmark = pytest.mark.model  # every test here runs the real local model

DOCS = {
    "index.md": "# Acme docs\n\nWelcome to Acme, the widget platform.\n",
    "guide/uploads.md": "# Uploading files\n\nSend files with a multipart form; the server "
                        "stores them.\n\n## Size limits\n\nUploads above 10 MB are rejected with "
                        "413 Payload Too Large.\n",
    "guide/auth.md": "# Authentication\n\nLog in with an API token in the Authorization "
                     "header.\n\n## Token expiry\n\nTokens expire after 30 days.\n",
    "release-notes.md": "# Release notes\n\n## 1.2\n\nUploads, auth, tokens and files changed.\n",
}


@pytest.fixture
def runner(minilm: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOCLOOP_MODEL_DIR", str(minilm.model_dir))
    return CliRunner()


@pytest.fixture
def indexed(runner: CliRunner, tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    write_docs(docs, DOCS)
    result = runner.invoke(main, ["index-docs", str(docs), "--base-url", "https://acme.dev"])
    assert result.exit_code == 0, result.output
    return docs


def test_index_then_reindex_embeds_nothing(runner: CliRunner, indexed: Path) -> None:
    result = runner.invoke(main, ["index-docs", str(indexed), "--base-url", "https://acme.dev"])
    assert result.exit_code == 0
    assert "0 added, 0 changed, 0 removed, 3 unchanged" in result.stderr
    assert "0 embedded" in result.stderr
    assert result.stdout == ""


def test_index_without_a_site_url_warns_that_tickets_cannot_link_pages(
        runner: CliRunner, tmp_path: Path) -> None:
    """Without `--base-url` a page's URL is a route (`guide/uploads/`) that a Linear issue
    would resolve against linear.app: index-docs says so, once, and still indexes."""
    docs = tmp_path / "docs"
    write_docs(docs, DOCS)
    bare = runner.invoke(main, ["index-docs", str(docs)])
    assert bare.exit_code == 0, bare.output
    assert "warning: no --base-url: tickets and the review desk name pages by path" \
        in bare.stderr
    schemeless = runner.invoke(main, ["index-docs", str(docs), "--base-url", "acme.dev/docs"])
    assert "--base-url acme.dev/docs is not an http(s) URL" in schemeless.stderr
    linked = runner.invoke(main, ["index-docs", str(docs), "--base-url", "https://acme.dev"])
    assert "warning" not in linked.stderr


def test_a_reindex_without_base_url_keeps_the_folders_links(
        runner: CliRunner, indexed: Path, tmp_path: Path) -> None:
    """A re-index that forgets `--base-url` (a cron line, a teammate) keeps the URL this
    folder was last indexed under, and says so; `--base-url ''` unlinks on purpose, and
    another folder never inherits it."""
    again = runner.invoke(main, ["index-docs", str(indexed)])
    assert again.exit_code == 0, again.output
    assert "0 changed" in again.stderr and "warning" not in again.stderr
    assert "linking pages under https://acme.dev, as the last index-docs of this folder did" \
        in again.stderr
    assert search_url(runner) == "https://acme.dev/guide/uploads/"

    unlinked = runner.invoke(main, ["index-docs", str(indexed), "--base-url", ""])
    assert "3 changed" in unlinked.stderr and "warning: no --base-url" in unlinked.stderr
    assert search_url(runner) == "guide/uploads/"
    assert "warning: no --base-url" in runner.invoke(main, ["index-docs", str(indexed)]).stderr

    runner.invoke(main, ["index-docs", str(indexed), "--base-url", "https://acme.dev"])
    other = tmp_path / "other"
    write_docs(other, DOCS)
    moved = runner.invoke(main, ["index-docs", str(other)])
    assert "warning: no --base-url" in moved.stderr
    assert search_url(runner) == "guide/uploads/"


def search_url(runner: CliRunner) -> str:
    """The first hit's page URL for an upload question."""
    result = runner.invoke(main, ["docs", "search", "my upload fails with 413", "--json"])
    return str(json.loads(result.stdout)[0]["url"]).split("#")[0]


def test_single_query_json(runner: CliRunner, indexed: Path) -> None:
    result = runner.invoke(main, ["docs", "search", "my upload fails with 413", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits[0]["path"] == "guide/uploads.md"
    assert hits[0]["url"] == "https://acme.dev/guide/uploads/"
    assert hits[0]["heading"] == "Size limits"
    assert "release-notes.md" not in {h["path"] for h in hits}


def test_single_query_table(runner: CliRunner, indexed: Path) -> None:
    result = runner.invoke(main, ["docs", "search", "token expired", "--top", "2"])
    assert result.exit_code == 0
    assert "guide/auth.md" in result.stdout and "Token expiry" in result.stdout


def test_batch_queries_jsonl(runner: CliRunner, indexed: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "text": "how long is my api token valid"}\n\n'
                       '{"id": 7, "text": "file too big error"}\n')
    result = runner.invoke(main, ["docs", "search", "--queries", str(queries), "--json",
                                  "--top", "3"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", 7]  # echoed as given: 7 stays a number
    assert lines[0]["results"][0]["path"] == "guide/auth.md"
    assert lines[1]["results"][0]["path"] == "guide/uploads.md"
    for line in lines:
        paths = [r["path"] for r in line["results"]]
        assert len(paths) == len(set(paths)) <= 3
        assert set(line["results"][0]) == {"path", "url", "heading", "score"}
        scores = [r["score"] for r in line["results"]]
        assert scores == sorted(scores, reverse=True)


def test_batch_queries_read_from_standard_input(runner: CliRunner, indexed: Path) -> None:
    """`--queries -` reads the JSONL lines piped in."""
    piped = '{"id": "a", "text": "how long is my api token valid"}\n'
    result = runner.invoke(main, ["docs", "search", "--queries", "-", "--json", "--top", "1"],
                           input=piped)
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(text) for text in result.stdout.splitlines()]
    assert line["id"] == "a" and line["results"][0]["path"] == "guide/auth.md"
    bad = runner.invoke(main, ["docs", "search", "--queries", "-"], input='{"id": "a"}\n')
    assert bad.exit_code == 2 and '<stdin>:1: expected an object with a "text"' in bad.output
    twice = runner.invoke(main, ["docs", "search", "--queries", "-", "--json"],
                          input=piped + piped)
    assert twice.exit_code == 0, twice.output
    assert '<stdin>: 1 ids repeat ("a" on lines 1, 2)' in twice.stderr


@pytest.mark.parametrize("content,where", [
    ('{"id": "a", "text": "ok"}\n{"id": "b", "text": \n', "q.jsonl:2"),
    ('{"id": "a"}\n', "q.jsonl:1"),
    ('["id", "text"]\n', "q.jsonl:1"),
    ('{"id": null, "text": "ok"}\n', 'q.jsonl:1: "id" must be a string or a number, not null'),
    ('{"id": {"n": 1}, "text": "ok"}\n', 'q.jsonl:1: "id" must be a string or a number'),
    ('{"id": "a", "text": "ok"}\n{"id": NaN, "text": "ok"}\n', "q.jsonl:2: NaN is not JSON"),
    ('{"id": 1e400, "text": "ok"}\n', 'q.jsonl:1: "id" inf cannot be written back as JSON'),
    ('{"id": "a", "text": "ok"}\n{"id": "b\\ud800", "text": "ok"}\n',
     "q.jsonl:2: \"id\" 'b\\ud800' cannot be written back"),
    ('[\n{"id": "a", "text": "ok"}\n]\n', "q.jsonl:1: not valid JSON (Expecting value): the "
                                         "file looks like one JSON array"),
    ('[{"id": "a", "text": "ok"}]\n', "q.jsonl:1: a JSON array; write one object per line"),
])
def test_malformed_queries_file(runner: CliRunner, indexed: Path, tmp_path: Path,
                                content: str, where: str) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text(content)
    result = runner.invoke(main, ["docs", "search", "--queries", str(queries), "--json"])
    assert result.exit_code == 2
    assert where in result.stderr and result.stdout == ""


def test_queries_are_lines_ending_in_a_newline_and_blank_texts_get_no_hits(
        runner: CliRunner, indexed: Path, tmp_path: Path) -> None:
    """A review found a text holding U+2028 (as `json.dumps(ensure_ascii=False)` writes it)
    cut in two lines, a lone surrogate crash the batch after half its output, and a blank
    text answered with confident hits."""
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"id": 1, "text": "upload\u2028fails with 413"},
                                  ensure_ascii=False) + "\r\n"
                       + '{"id": 2, "text": "token \\ud83e expired"}\n'
                       + '{"id": 3, "text": "  "}', encoding="utf-8")
    result = runner.invoke(main, ["docs", "search", "--queries", str(queries), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == [1, 2, 3]
    assert lines[0]["results"][0]["path"] == "guide/uploads.md"
    assert lines[1]["results"][0]["path"] == "guide/auth.md"
    assert lines[2]["results"] == [] and "have no text (ids 3)" in result.stderr
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"id": 1, "text": "ok"}\n{"id": 2, "text": "caf\xe9"}\n')
    result = runner.invoke(main, ["docs", "search", "--queries", str(latin), "--json"])
    assert result.exit_code == 2 and "latin.jsonl:2: not UTF-8 text (byte 0xe9)" in result.stderr
    blank = runner.invoke(main, ["docs", "search", " ", "--json"])
    assert blank.exit_code == 2 and "the query is empty" in blank.stderr


def test_repeated_query_ids_are_answered_and_named(
        runner: CliRunner, indexed: Path, tmp_path: Path) -> None:
    """Two lines with one id are both answered (DESIGN: one line per query), and stderr
    says which id repeats where, since a caller keying results by id would keep one."""
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": 7, "text": "upload fails with 413"}\n'
                       '{"id": "7", "text": "token expired"}\n'
                       '{"id": 7, "text": "token expired"}\n', encoding="utf-8")
    result = runner.invoke(main, ["docs", "search", "--queries", str(queries), "--json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [7, "7", 7]
    assert "1 ids repeat (7 on lines 1, 3)" in result.stderr


def test_search_before_indexing(runner: CliRunner) -> None:
    result = runner.invoke(main, ["docs", "search", "anything"])
    assert result.exit_code == 2 and "index-docs first" in result.stderr


def test_index_missing_folder(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["index-docs", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "not found" in result.stderr


def test_no_default_excludes_indexes_release_notes(runner: CliRunner, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, DOCS)
    result = runner.invoke(main, ["index-docs", str(docs), "--no-default-excludes",
                                  "--exclude", "guide/*"])
    assert result.exit_code == 0
    assert "indexed 2 pages" in result.stderr


#: a troubleshooting page that touches each of the users' words in its own section, and
#: the options page with one section about exactly their problem
SECTION_DOCS = {
    "guide/troubleshooting.md": (
        "# Troubleshooting\n\n## Docker\n\nIn Docker, rebuild the image when the lockfile "
        "changes: changes to dependencies are not picked up by the running container.\n\n"
        "## WSL\n\nOn WSL, keep the project in the Linux file system: changes under /mnt/c "
        "are slow to be picked up.\n\n## HMR\n\nIf HMR does not pick up changes, check the "
        "browser console: the dev server logs every HMR update.\n\n## Dev server\n\nThe "
        "dev server restarts when the config changes.\n"),
    "config/server-options.md": (
        "# Server Options\n\n## server.port\n\nThe port the dev server listens on.\n\n"
        "## server.cors\n\nConfigure CORS for the dev server.\n\n"
        "## server.watch\n\nFile system watcher options. On WSL or in a Docker container "
        "file system events from the host are missed, so HMR does not see changes: set "
        "`usePolling: true` to poll the files instead.\n"),
    "guide/features.md": (
        "# Features\n\n## Hot module replacement\n\nHMR updates modules in place without a "
        "reload.\n\n## CSS\n\nImport CSS files directly.\n"),
}


def test_search_ranks_the_page_with_a_section_about_the_problem_first(
        runner: CliRunner, tmp_path: Path) -> None:
    """`docloop docs search` ranks with the shipped weights through the registry, the
    best section's BM25 computed from the stored chunks: the options page whose one
    section is about HMR missing changes in Docker on WSL comes first, with that section,
    ahead of the troubleshooting page that says each word in another section. (The
    previous weights rank it first too; tests/test_rerank.py isolates the feature.)"""
    docs = tmp_path / "docs"
    write_docs(docs, SECTION_DOCS)
    assert runner.invoke(main, ["index-docs", str(docs)]).exit_code == 0
    question = ("HMR does not pick up changes when the dev server runs in Docker on WSL.\n"
                "My changes are not picked up by HMR inside a Docker container on WSL 2.\n"
                "Docker on WSL: file changes never trigger HMR.")
    result = runner.invoke(main, ["docs", "search", question, "--json", "--top", "3"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits[0]["path"] == "config/server-options.md"
    assert hits[0]["heading"] == "server.watch"
