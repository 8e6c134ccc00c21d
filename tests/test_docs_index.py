"""The SQLite docs index: incremental sync, hybrid search, query cleaning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from docloop import db
from docloop.backends.docs_index.rerank import HYBRID_ORDER, RankSettings
from docloop.backends.docs_index.sqlite import SQLiteDocsIndex, embedding_text
from docloop.docs.loader import load_pages
from docloop.docs.query import clean_query, fts_query, keyword_terms
from tests.docs_helpers import HashingEmbedder, write_docs

DOCS = {
    "uploads.md": "# Uploading files\n\nUse `UploadFile` to receive a file from a form.\n\n"
                  "## Size limits\n\nLarge uploads are spooled to disk.\n",
    "cors.md": "# CORS\n\nThe browser blocks cross-origin requests unless the server sends "
               "Access-Control-Allow-Origin.\n\n## CORSMiddleware\n\nAdd the middleware.\n",
    "testing.md": "# Testing\n\nUse the TestClient with pytest to call your endpoints.\n",
}


@pytest.fixture
def index() -> SQLiteDocsIndex:
    return SQLiteDocsIndex(db.memory(), HashingEmbedder())


def _sync(index: SQLiteDocsIndex, root: Path, files: dict[str, str]):  # type: ignore[no-untyped-def]
    write_docs(root, files)
    return index.sync(load_pages(root, "https://d.dev"))


def test_sync_is_incremental(index: SQLiteDocsIndex, tmp_path: Path) -> None:
    first = _sync(index, tmp_path, DOCS)
    assert (first.added, first.changed, first.removed, first.unchanged) == (3, 0, 0, 0)
    assert first.embedded == first.chunks == 5
    again = index.sync(load_pages(tmp_path, "https://d.dev"))
    assert (again.added, again.unchanged, again.embedded) == (0, 3, 0)
    (tmp_path / "testing.md").write_text("# Testing\n\nNew text about fixtures.\n")
    (tmp_path / "cors.md").unlink()
    third = index.sync(load_pages(tmp_path, "https://d.dev"))
    assert (third.added, third.changed, third.removed, third.unchanged) == (0, 1, 1, 1)
    assert third.embedded == 1 and third.chunks == 3
    assert index.page_source("cors.md") is None
    assert [c.text for c in index.page_chunks("testing.md")] == ["New text about fixtures."]
    fts_rows = index.conn.execute("SELECT count(*) FROM docs_fts").fetchone()[0]
    assert fts_rows == 3


def test_failed_sync_leaves_index_as_it_was(index: SQLiteDocsIndex, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _sync(index, tmp_path, DOCS)
    (tmp_path / "cors.md").write_text("# CORS\n\nchanged\n")
    (tmp_path / "uploads.md").unlink()

    def boom(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(index, "_insert_page", boom)
    with pytest.raises(RuntimeError):
        index.sync(load_pages(tmp_path, "https://d.dev"))
    assert index.page_count() == 3
    assert "Access-Control" in (index.page_source("cors.md") or "")


def test_search_is_one_entry_per_page_best_section(index: SQLiteDocsIndex,
                                                   tmp_path: Path) -> None:
    _sync(index, tmp_path, DOCS)
    hits = index.search("browser blocked my request: no Access-Control-Allow-Origin header", 5)
    assert hits[0].path == "cors.md" and hits[0].heading == "CORS"
    assert hits[0].url == "https://d.dev/cors/"
    assert len({h.path for h in hits}) == len(hits) == 3
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert 0 < hits[0].keyword <= 1 and hits[0].similarity > 0


def test_exact_api_name_is_found_by_keyword(index: SQLiteDocsIndex, tmp_path: Path) -> None:
    _sync(index, tmp_path, DOCS)
    assert index.search("UploadFile", 1)[0].path == "uploads.md"
    assert index.search("CORSMiddleware", 1)[0].anchor == "corsmiddleware"


def test_search_vector_uses_the_given_vector(index: SQLiteDocsIndex, tmp_path: Path) -> None:
    _sync(index, tmp_path, DOCS)
    vector = index.embedder.embed(["pytest TestClient endpoints"])[0]
    assert index.search_vector("", vector, 1)[0].path == "testing.md"


def test_search_ranked_re_ranks_with_the_given_settings(index: SQLiteDocsIndex,
                                                        tmp_path: Path) -> None:
    _sync(index, tmp_path, DOCS)
    query = "UploadFile form browser Access-Control-Allow-Origin"
    hybrid = index.search_ranked(query, 3, HYBRID_ORDER)
    assert [h.path for h in hybrid] == [h.path for h in
                                        SQLiteDocsIndex(index.conn, index.embedder,
                                                        rank=HYBRID_ORDER).search(query, 3)]
    only_fused = RankSettings(fused=0.0, cosine=0.0, names=0.0, words=0.0, headings=0.0,
                              support=0.0, breadth=1.0, topic=0.0)
    broadest = index.search_ranked(query, 3, only_fused)
    scores = [h.score for h in broadest]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0  # the breadth feature alone
    assert index.rank == RankSettings()  # the index's own settings are untouched


def test_page_similarity_is_the_best_chunk_cosine_of_that_page(
        index: SQLiteDocsIndex, tmp_path: Path) -> None:
    _sync(index, tmp_path, DOCS)
    vector = index.embedder.embed(["pytest TestClient endpoints"])[0]
    best = max(float(np.dot(index.embedder.embed([embedding_text(c)])[0], vector))
               for c in index.page_chunks("testing.md"))
    assert index.page_similarity("testing.md", vector) == pytest.approx(best, abs=1e-5)
    assert index.page_similarity("no/such/page.md", vector) == 0.0


def test_best_similarities_are_the_best_chunk_cosine_over_all_pages(
        index: SQLiteDocsIndex, tmp_path: Path) -> None:
    _sync(index, tmp_path, DOCS)
    vectors = index.embedder.embed(["pytest TestClient endpoints", "browser cross-origin"])
    expected = [max(index.page_similarity(p, v) for p in DOCS) for v in vectors]
    assert index.best_similarities(vectors).tolist() == pytest.approx(expected, abs=1e-5)


def test_empty_index_and_fts_syntax_in_queries(index: SQLiteDocsIndex, tmp_path: Path) -> None:
    assert index.search("anything") == []
    _sync(index, tmp_path, DOCS)
    for nasty in ['"unbalanced', "a AND (b OR", "col:value*", "NEAR(x y)", "^start", "-", ""]:
        assert isinstance(index.search(nasty), list)


def test_query_cleaning_drops_traceback_noise() -> None:
    trace = ('Traceback (most recent call last):\n  File "/app/main.py", line 3, in <module>\n'
             "    import x\n      ^^^^\nModuleNotFoundError: No module named 'multipart' at 0x7f3a")
    cleaned = clean_query(trace)
    assert "main.py" not in cleaned and "0x7f3a" not in cleaned and "^" not in cleaned
    assert "ModuleNotFoundError" in cleaned
    assert keyword_terms("How do I use allow_origins in the CORS thing?") == \
        ["allow", "origins", "cors"]
    assert fts_query("the and of") is None
    assert fts_query('say "cors" NEAR') == '"say" OR "cors" OR "near"'


def test_matrix_cache_is_refreshed_after_sync(index: SQLiteDocsIndex, tmp_path: Path) -> None:
    _sync(index, tmp_path, {"a.md": "# A\n\nalpha words"})
    assert [h.path for h in index.search("alpha")] == ["a.md"]
    _sync(index, tmp_path, {"b.md": "# B\n\nbeta words"})
    assert {h.path for h in index.search("beta words")} == {"a.md", "b.md"}
    assert np.isfinite([h.score for h in index.search("beta")]).all()
