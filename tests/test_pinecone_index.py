"""The Pinecone docs index against the local data-plane stand-in, through the real SDK.

Composed as production composes it: settings -> registry.build_docs_index ->
PineconeDocsIndex behind the cached embedder (a hashing embedder stands in for
MiniLM so the tests are fast; test_pinecone_agreement.py uses the real model).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from docloop import db, registry
from docloop.backends.docs_index.hybrid import HybridDocsIndex
from docloop.backends.docs_index.pinecone_index import (
    MAX_REQUEST_BYTES,
    UPSERT_BATCH,
    PineconeDocsIndex,
    namespace_for,
)
from docloop.backends.docs_index.sqlite import SQLiteDocsIndex
from docloop.cli import main
from docloop.config import Settings, load_settings
from docloop.docs.loader import load_pages
from docloop.errors import ConfigError, TransientError
from tests.docs_helpers import HashingEmbedder, write_docs
from tests.fake_pinecone import FakePinecone, rate_limited, unavailable

REPO = Path(__file__).resolve().parents[1]
TIDEPOOL = REPO / "examples" / "tidepool"
DOCS = {
    "uploads.md": "# Uploading files\n\nUse `UploadFile` to receive a file from a form.\n\n"
                  "## Size limits\n\nLarge uploads are spooled to disk.\n\n"
                  "## Streaming\n\nStream big files chunk by chunk.\n",
    "cors.md": "# CORS\n\nThe browser blocks cross-origin requests unless the server sends "
               "Access-Control-Allow-Origin.\n\n## CORSMiddleware\n\nAdd the middleware.\n",
    "testing.md": "# Testing\n\nUse the TestClient with pytest to call your endpoints.\n",
}


@pytest.fixture(autouse=True)
def hashing_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `local` embedder is the instant hashing one in these tests."""
    monkeypatch.setitem(registry.BACKENDS["embedder"], "local",
                        "tests.docs_helpers:HashingEmbedder")


@pytest.fixture
def fake() -> Iterator[FakePinecone]:
    with FakePinecone(dimension=HashingEmbedder.dim) as served:
        yield served


@pytest.fixture
def env(fake: FakePinecone, monkeypatch: pytest.MonkeyPatch) -> FakePinecone:
    """The environment that selects the Pinecone index at the fake's host."""
    monkeypatch.setenv("DOCLOOP_DOCS_INDEX", "pinecone")
    monkeypatch.setenv("DOCLOOP_PINECONE_HOST", fake.host)
    monkeypatch.setenv("PINECONE_API_KEY", fake.api_key)
    return fake


def _index(**overrides: object) -> tuple[HybridDocsIndex, Settings]:
    settings = load_settings(overrides=overrides)
    stores = registry.sqlite_stores(db.connect(settings.db_path))
    return registry.build_docs_index(settings, stores), settings


def _pages(root: Path, files: dict[str, str]):  # type: ignore[no-untyped-def]
    write_docs(root, files)
    return load_pages(root, "https://d.dev")


def test_registry_builds_the_pinecone_index_behind_the_cached_embedder(env: FakePinecone) -> None:
    index, _ = _index()
    assert isinstance(index, PineconeDocsIndex)
    assert type(index.embedder).__name__ == "CachedEmbedder"
    assert index.namespace == "docs"


def test_sync_is_incremental_and_deletes_stale_chunks(env: FakePinecone, tmp_path: Path) -> None:
    index, _ = _index()
    first = index.sync(_pages(tmp_path, DOCS))
    assert (first.added, first.chunks, first.vectors_upserted) == (3, 6, 6)
    assert env.vector_ids("docs") == set(index.store.layout().chunk_ids)
    again = index.sync(load_pages(tmp_path, "https://d.dev"))
    assert (again.unchanged, again.embedded, again.vectors_upserted, again.write_requests) == \
        (3, 0, 0, 0)
    assert env.calls["/vectors/upsert"] == 1  # the unchanged re-index sent nothing
    (tmp_path / "uploads.md").write_text("# Uploading files\n\nOnly one section now.\n")
    (tmp_path / "cors.md").unlink()
    third = index.sync(load_pages(tmp_path, "https://d.dev"))
    assert (third.changed, third.removed, third.unchanged) == (1, 1, 1)
    assert third.vectors_upserted == 1 and third.vectors_deleted == 4  # 2 stale + 2 of cors
    assert env.vector_ids("docs") == set(index.store.layout().chunk_ids)
    assert len(env.vector_ids("docs")) == third.chunks == 2
    assert index.page_source("cors.md") is None


def test_metadata_is_small_and_has_no_chunk_text(env: FakePinecone, tmp_path: Path) -> None:
    long_text = "word " * 5000
    index, _ = _index()
    index.sync(_pages(tmp_path, {"big.md": f"# Big\n\n## Part\n\n{long_text}\n"}))
    metadata = [r.metadata for r in env.namespaces["docs"].values()]
    assert {"path", "url", "title", "heading", "heading_path", "anchor", "snippet"} <= \
        set(metadata[0])
    assert all(len(m["snippet"]) <= 300 for m in metadata)
    assert all(len(json.dumps(m)) < 4000 for m in metadata)
    assert all(None not in m.values() for m in metadata)
    assert "word word" in index.page_chunks("big.md")[0].text  # the text is in the store


def test_a_page_with_many_chunks_is_upserted_in_batches(env: FakePinecone,
                                                        tmp_path: Path) -> None:
    sections = "".join(f"## Section {i}\n\nParagraph number {i} about topic {i}.\n\n"
                       for i in range(250))
    index, _ = _index()
    stats = index.sync(_pages(tmp_path, {"many.md": f"# Many\n\n{sections}"}))
    assert stats.vectors_upserted == stats.chunks == 250
    assert env.calls["/vectors/upsert"] == 3 == stats.write_requests
    vectors, size = env.largest_upsert
    assert vectors <= UPSERT_BATCH and size <= MAX_REQUEST_BYTES


def test_wide_vectors_are_batched_by_request_size(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    """3,072-dim vectors (text-embedding-3-large) make 100 vectors larger than 2 MB."""

    class WideEmbedder(HashingEmbedder):
        name, dim = "wide-test", 3072

        def embed(self, texts):  # type: ignore[no-untyped-def]
            rng = np.random.default_rng(len(texts))
            out = rng.standard_normal((len(texts), self.dim)).astype(np.float32)
            return out / np.linalg.norm(out, axis=1, keepdims=True)

    monkeypatch.setattr("tests.docs_helpers.HashingEmbedder.from_settings",
                        classmethod(lambda cls, settings, **deps: WideEmbedder()))
    sections = "".join(f"## S{i}\n\nText {i}.\n\n" for i in range(150))
    with FakePinecone(dimension=3072) as fake:
        monkeypatch.setenv("PINECONE_API_KEY", fake.api_key)
        index, _ = _index(docs_index="pinecone", pinecone_host=fake.host)
        stats = index.sync(_pages(tmp_path, {"wide.md": f"# Wide\n\n{sections}"}))
        assert stats.vectors_upserted == 150
        assert stats.write_requests >= 3  # by bytes, not by the 100-vector batch
        assert fake.largest_upsert[1] <= MAX_REQUEST_BYTES


def test_search_ranks_exactly_as_the_sqlite_index(env: FakePinecone, tmp_path: Path) -> None:
    pages = load_pages(TIDEPOOL / "docs", "https://tidepool.dev")
    remote, _ = _index()
    remote.sync(pages)
    local = SQLiteDocsIndex(db.memory(), HashingEmbedder())
    local.sync(pages)
    for query in ("webhook signature fails after json parse", "TP-413 payload too large",
                  "schedules run an hour late", "how do I test tasks without the API"):
        ours = [(h.path, h.heading, round(h.score, 4)) for h in remote.search(query, 5)]
        theirs = [(h.path, h.heading, round(h.score, 4)) for h in local.search(query, 5)]
        assert ours == theirs
    vector = HashingEmbedder().embed(["retry a failed job"])[0]
    assert remote.page_similarity("concepts/jobs.md", vector) == \
        pytest.approx(local.page_similarity("concepts/jobs.md", vector), abs=1e-5)
    assert remote.best_similarities(np.array([vector])) == \
        pytest.approx(local.best_similarities(np.array([vector])), abs=1e-5)


def test_catch_all_scores_are_stored_at_index_time_alike_on_both_indexes(
        env: FakePinecone, tmp_path: Path) -> None:
    pages = load_pages(TIDEPOOL / "docs", "https://tidepool.dev")
    remote, _ = _index()
    remote.sync(pages)
    local = SQLiteDocsIndex(db.memory(), HashingEmbedder())
    local.sync(pages)
    stored = json.loads(local.meta("page_hubs") or "{}")
    assert set(stored) == {p.path for p in pages} and max(stored.values()) == 1.0
    assert remote.store.page_hubs() == local.store.page_hubs() == stored
    # an incremental sync that drops the strongest hub re-scores the remaining pages
    strongest = max(stored, key=stored.__getitem__)
    remote.sync([p for p in pages if p.path != strongest])
    assert strongest not in remote.store.page_hubs()
    assert max(remote.store.page_hubs().values()) == 1.0
    # a keyword file from before the vector copies is rebuilt, not scored on a part
    with db.transaction(remote.store.conn):
        remote.store.conn.execute("UPDATE docs_chunks SET vector = x''")
    assert remote.sync(pages).added == len(pages)
    assert remote.store.page_hubs() == stored


def test_another_embedder_or_a_lost_keyword_store_starts_over(env: FakePinecone,
                                                              tmp_path: Path) -> None:
    index, settings = _index()
    index.sync(_pages(tmp_path, DOCS))
    env.namespaces["docs"]["orphan"] = next(iter(env.namespaces["docs"].values()))
    for db_file in (settings.home / "pinecone").glob("*.db*"):
        db_file.unlink()
    rebuilt, _ = _index()
    stats = rebuilt.sync(load_pages(tmp_path, "https://d.dev"))
    assert stats.added == 3 and "orphan" not in env.vector_ids("docs")
    assert env.calls["/vectors/delete"] == 1  # one deleteAll


def test_namespace_comes_from_the_setting_or_the_base_url() -> None:
    assert namespace_for(Settings(pinecone_namespace="team-a")) == "team-a"
    assert namespace_for(Settings(docs_base_url="https://Docs.Acme.dev/v2/")) == \
        "docs-acme-dev-v2"
    assert namespace_for(Settings()) == "docs"


def test_rate_limits_and_server_errors_are_retried(env: FakePinecone, tmp_path: Path) -> None:
    env.script.extend([rate_limited(0), unavailable()])
    index, _ = _index()
    assert index.sync(_pages(tmp_path, DOCS)).vectors_upserted == 6
    assert env.calls["/describe_index_stats"] == 3  # 429, 503, then the answer


def test_a_service_that_stays_down_is_a_transient_error(env: FakePinecone,
                                                        tmp_path: Path) -> None:
    env.script.extend([unavailable()] * 4)
    index, _ = _index()
    with pytest.raises(TransientError, match="503"):
        index.sync(_pages(tmp_path, DOCS))


# -- the CLI -----------------------------------------------------------------------------


def test_index_search_and_run_through_the_cli(fake: FakePinecone, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCLOOP_PINECONE_HOST", fake.host)
    monkeypatch.setenv("PINECONE_API_KEY", fake.api_key)
    docs = str(TIDEPOOL / "docs")
    indexed = CliRunner().invoke(main, ["index-docs", docs, "--index", "pinecone",
                                        "--base-url", "https://tidepool.dev"])
    assert indexed.exit_code == 0, indexed.output
    namespace = "tidepool-dev"
    assert len(fake.vector_ids(namespace)) > 20
    again = CliRunner().invoke(main, ["index-docs", docs, "--index", "pinecone",
                                      "--base-url", "https://tidepool.dev"])
    assert "0 added, 0 changed" in again.stderr and fake.calls["/vectors/upsert"] == 1
    monkeypatch.setenv("DOCLOOP_DOCS_BASE_URL", "https://tidepool.dev")
    found = CliRunner().invoke(main, ["docs", "search", "webhook signature verification fails",
                                      "--index", "pinecone", "--json"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)[0]["path"] == "guides/webhooks.md"
    assert not (tmp_path / "home" / "docloop.db").exists() or \
        SQLiteDocsIndex(db.connect(tmp_path / "home" / "docloop.db"),
                        HashingEmbedder()).page_count() == 0  # nothing went to the local index
    report = tmp_path / "run.json"
    ran = CliRunner().invoke(main, ["run", "--index", "pinecone", "--since", "all",
                                    "--source", f"discord-export:{TIDEPOOL / 'discord'}",
                                    "--json", str(report)])
    assert ran.exit_code == 0, ran.output
    insights = json.loads(report.read_text())["insights"]
    assert insights and any(i["doc"]["path"] for i in insights)
    assert fake.calls["/query"] > len(insights)


def test_search_without_index_docs_base_url_names_the_namespace_to_use(
        fake: FakePinecone, monkeypatch: pytest.MonkeyPatch) -> None:
    """README's own sequence: index-docs --base-url, then docs search without one."""
    monkeypatch.setenv("DOCLOOP_PINECONE_HOST", fake.host)
    monkeypatch.setenv("PINECONE_API_KEY", fake.api_key)
    indexed = CliRunner().invoke(main, ["index-docs", str(TIDEPOOL / "docs"), "--index",
                                        "pinecone", "--base-url", "https://tidepool.dev"])
    assert indexed.exit_code == 0, indexed.output
    found = CliRunner().invoke(main, ["docs", "search", "webhook signature", "--index",
                                      "pinecone"])
    assert found.exit_code == 2
    assert "namespace 'docs' holds no pages" in found.output
    assert "'tidepool-dev'" in found.output and "DOCLOOP_DOCS_BASE_URL" in found.output


@pytest.mark.parametrize(("setup", "message"), [
    ("no-host", "DOCLOOP_PINECONE_HOST"),
    ("no-key", "PINECONE_API_KEY"),
    ("wrong-key", "refused PINECONE_API_KEY (401"),
    ("no-index", "no Pinecone index answers at"),
    ("dimension", "has dimension 8 but embedder"),
])
def test_bad_settings_are_one_line_exit_2(setup: str, message: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with FakePinecone(dimension=8 if setup == "dimension" else HashingEmbedder.dim) as fake:
        if setup != "no-host":
            monkeypatch.setenv("DOCLOOP_PINECONE_HOST", fake.host)
        if setup != "no-key":
            monkeypatch.setenv("PINECONE_API_KEY", "wrong" if setup == "wrong-key"
                               else fake.api_key)
        fake.exists = setup != "no-index"
        for args in (["index-docs", str(TIDEPOOL / "docs")], ["docs", "search", "x"],
                     ["run", "--since", "all", "--source",
                      f"discord-export:{TIDEPOOL / 'discord'}"]):
            result = CliRunner().invoke(main, [*args, "--index", "pinecone"])
            assert result.exit_code == 2, (args, result.output)
            assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert fake.upserted == 0
    assert not (tmp_path / "home" / "docloop.db").exists() or _no_messages(tmp_path)


def _no_messages(tmp_path: Path) -> bool:
    conn = db.connect(tmp_path / "home" / "docloop.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "messages" not in tables:
        return True
    return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0]) == 0


def test_preflight_error_is_config_error_before_anything_is_written(env: FakePinecone) -> None:
    env.api_key = "another"
    index, _ = _index()
    with pytest.raises(ConfigError, match="401"):
        index.check_embedder()
