"""The Pinecone index's keyword store in S3 (moto): written by index-docs, read and cached
by a reader with a home of its own (a Lambda container), incremental across homes."""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from docloop import db, registry
from docloop.backends.docs_index.pinecone_index import PineconeDocsIndex
from docloop.config import load_settings
from docloop.errors import ConfigError
from docloop.stages.index_docs import index_docs
from tests.docs_helpers import HashingEmbedder, write_docs
from tests.fake_pinecone import FakePinecone

pytestmark = pytest.mark.aws
boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")
BUCKET = "docloop-test"
KEY = "docs/acme/keywords.sqlite.gz"
DOCS = {"uploads.md": "# Uploading files\n\nUse `UploadFile` for forms.\n\n## Limits\n\n"
                      "Large uploads are spooled to disk.\n",
        "cors.md": "# CORS\n\nBrowsers block cross-origin requests without "
                   "Access-Control-Allow-Origin.\n"}


@pytest.fixture(autouse=True)
def hashing_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.BACKENDS["embedder"], "local",
                        "tests.docs_helpers:HashingEmbedder")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePinecone]:
    with FakePinecone(dimension=HashingEmbedder.dim) as served:
        monkeypatch.setenv("PINECONE_API_KEY", served.api_key)
        yield served


def _settings(home: Path, fake: FakePinecone, bucket: str = BUCKET):  # type: ignore[no-untyped-def]
    return load_settings(overrides={"home": home, "docs_index": "pinecone",
                                    "pinecone_host": fake.host, "pinecone_namespace": "acme",
                                    "s3_bucket": bucket})


def _open(home: Path, fake: FakePinecone, s3: Any) -> PineconeDocsIndex:
    settings = _settings(home, fake)
    return PineconeDocsIndex.from_settings(settings, embedder=HashingEmbedder(), s3=s3)


def test_index_docs_publishes_and_a_reader_downloads_once(s3: Any, fake: FakePinecone,
                                                          tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, DOCS)
    index_docs(_settings(tmp_path / "writer", fake), docs, [])
    stored = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read())
    assert stored.startswith(b"SQLite format 3")
    gets: list[str] = []
    s3.meta.events.register("before-call.s3.GetObject", lambda **kw: gets.append("get"))
    reader = _open(tmp_path / "lambda", fake, s3)
    assert reader.page_count() == 2 and reader.search("UploadFile form", 1)[0].path == \
        "uploads.md"
    again = _open(tmp_path / "lambda", fake, s3)  # a warm container: the ETag is unchanged
    assert again.page_count() == 2 and gets == ["get"]


def test_index_docs_from_a_fresh_home_is_incremental(s3: Any, fake: FakePinecone,
                                                     tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, DOCS)
    index_docs(_settings(tmp_path / "first", fake), docs, [])
    (docs / "cors.md").unlink()
    stats = index_docs(_settings(tmp_path / "second", fake), docs, [])
    assert (stats.sync.unchanged, stats.sync.removed, stats.sync.vectors_upserted) == (1, 1, 0)
    assert fake.vector_ids("acme") == {c.id for c in _open(tmp_path / "third", fake, s3)
                                       .page_chunks("uploads.md")}


def test_a_missing_bucket_is_a_config_error(s3: Any, fake: FakePinecone,
                                            tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home", fake, bucket="no-such-bucket")
    with pytest.raises(ConfigError, match=r"s3://no-such-bucket/docs/acme/keywords\.sqlite\.gz"):
        PineconeDocsIndex.from_settings(settings, embedder=HashingEmbedder(), s3=s3)


def test_the_local_keyword_file_is_a_docloop_database(fake: FakePinecone,
                                                      tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, DOCS)
    settings = load_settings(overrides={"home": tmp_path / "home", "docs_index": "pinecone",
                                        "pinecone_host": fake.host})
    index_docs(settings, docs, [])
    files = list((tmp_path / "home" / "pinecone").glob("docs-*.db"))
    assert len(files) == 1
    conn = db.connect(files[0])
    assert conn.execute("SELECT count(*) FROM docs_pages").fetchone()[0] == 2
    assert isinstance(conn, sqlite3.Connection)
