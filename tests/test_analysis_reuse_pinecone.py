"""A run with nothing new reuses the last analysis on the Pinecone docs index too.

Before: `reuse.supported` required `docs_index = "sqlite"`, so with Pinecone
(the AWS deployment's default) every run extracted, embedded and clustered
its window again. Now the Pinecone index tells its version from its keyword
store (local file or S3 object) without asking Pinecone. These run the CLI
against the local Pinecone stand-in, and read the version from a keyword
store in (moto) S3.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docloop import db, registry, steps
from docloop.backends.docs_index.pinecone_index import PineconeDocsIndex
from docloop.cli import main
from docloop.config import Settings, load_settings
from docloop.stages.index_docs import index_docs
from tests.docs_helpers import HashingEmbedder, write_docs
from tests.fake_pinecone import FakePinecone

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "tidepool"
BASE_URL = "https://docs.tidepool.example/"


@pytest.fixture(autouse=True)
def hashing_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `local` embedder is the instant hashing one (the index's version never
    depends on the embedder being loaded)."""
    monkeypatch.setitem(registry.BACKENDS["embedder"], "local",
                        "tests.docs_helpers:HashingEmbedder")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePinecone]:
    """The Pinecone stand-in, selected by the environment as a user would."""
    with FakePinecone(dimension=HashingEmbedder.dim) as served:
        monkeypatch.setenv("DOCLOOP_PINECONE_HOST", served.host)
        monkeypatch.setenv("PINECONE_API_KEY", served.api_key)
        monkeypatch.setenv("DOCLOOP_DOCS_BASE_URL", BASE_URL)
        yield served


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry per time a run analysed (extracted, embedded, clustered) its window."""
    seen: list[str] = []
    analyse: Callable[..., Any] = steps.analyse

    def counting(*args: Any, **kwargs: Any) -> Any:
        seen.append("analysed")
        return analyse(*args, **kwargs)

    monkeypatch.setattr(steps, "analyse", counting)
    return seen


@pytest.fixture
def work(tmp_path: Path, fake: FakePinecone) -> Path:
    """Copies of the example's docs (indexed into Pinecone) and export."""
    _index_docs(_copy_example(tmp_path))
    return tmp_path


def _copy_example(tmp_path: Path) -> Path:
    """Copies of the example's docs and export, so a test can change them."""
    shutil.copytree(EXAMPLE / "docs", tmp_path / "docs")
    shutil.copytree(EXAMPLE / "discord", tmp_path / "discord")
    return tmp_path


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _index_docs(work: Path) -> None:
    _cli("index-docs", str(work / "docs"), "--index", "pinecone", "--base-url", BASE_URL)


def _run(work: Path, name: str) -> dict[str, Any]:
    out = work / f"{name}.json"
    _cli("run", "--index", "pinecone", "--source", f"discord-export:{work / 'discord'}",
         "--since", "all", "--json", str(out))
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def test_a_run_with_nothing_new_reuses_the_analysis_without_asking_pinecone(
        work: Path, fake: FakePinecone, analysed: list[str]) -> None:
    first = _run(work, "one")
    assert first["stats"]["analysis_reused"] is None
    assert any(i["doc"]["path"] for i in first["insights"])  # matched in Pinecone
    before = dict(fake.calls)
    second = _run(work, "two")
    assert analysed == ["analysed"]
    assert "nothing changed since run" in second["stats"]["analysis_reused"]
    assert [i["doc"] for i in second["insights"]] == [i["doc"] for i in first["insights"]]
    assert [i["ticket"]["id"] for i in second["insights"]] == \
        [i["ticket"]["id"] for i in first["insights"]]
    asked = {route: count - before.get(route, 0) for route, count in fake.calls.items()
             if count != before.get(route, 0)}
    assert asked == {"/describe_index_stats": 1}  # the CLI's preflight only: no query


def test_re_indexing_changed_docs_into_pinecone_analyses_again(
        work: Path, analysed: list[str]) -> None:
    _run(work, "one")
    _edit_a_page_and_index(work)
    second = _run(work, "two")
    assert second["stats"]["analysis_reused"] is None and len(analysed) == 2
    third = _run(work, "three")
    assert third["stats"]["analysis_reused"] and len(analysed) == 2


def _edit_a_page_and_index(work: Path) -> None:
    page = work / "docs" / "faq.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n## Another question\n\nAn answer.\n",
                    encoding="utf-8")
    _index_docs(work)


@pytest.mark.aws
def test_the_aws_composition_reuses_with_the_keyword_store_in_s3(
        tmp_path: Path, fake: FakePinecone, analysed: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment's default: DynamoDB/S3 stores, Pinecone docs, keywords in S3."""
    from tests.aws_support import BUCKET, TABLE, aws_settings

    work = _copy_example(tmp_path)
    with aws_settings(tmp_path / "home", monkeypatch):
        for name, value in {"DOCLOOP_STORE": "dynamodb", "DOCLOOP_DYNAMODB_TABLE": TABLE,
                            "DOCLOOP_S3_BUCKET": BUCKET}.items():
            monkeypatch.setenv(name, value)
        _index_docs(work)
        import boto3

        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(
            Bucket=BUCKET, Prefix="docs/")["Contents"]]
        assert keys == ["docs/docs-tidepool-example/keywords.sqlite.gz"]
        _run(work, "one")
        assert _run(work, "two")["stats"]["analysis_reused"] and len(analysed) == 1
        _edit_a_page_and_index(work)
        assert _run(work, "three")["stats"]["analysis_reused"] is None and len(analysed) == 2
    assert not _local_docs_index(tmp_path / "home")


def _local_docs_index(home: Path) -> bool:
    """Whether docloop's own database under `home` holds a (SQLite) docs index."""
    if not (home / "docloop.db").exists():
        return False
    with closing(db.connect(home / "docloop.db")) as conn:
        return bool(conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'docs_pages'")
                    .fetchall())


def _settings(home: Path, host: str, **more: object) -> Settings:
    return load_settings(overrides={"home": home, "docs_index": "pinecone",
                                    "pinecone_host": host, "pinecone_namespace": "acme", **more})


def _version(settings: Settings, s3: Any = None) -> str:
    with registry.open_stores(settings) as stores:
        return PineconeDocsIndex.version(settings, stores, s3)


def test_the_version_names_the_index_and_changes_with_the_keyword_store(
        tmp_path: Path, fake: FakePinecone) -> None:
    home = tmp_path / "home"
    empty = _version(_settings(home, fake.host))
    assert not (home / "pinecone").exists()  # reading a version creates no keyword file
    write_docs(tmp_path / "docs", {"a.md": "# A\n\nAlpha.\n", "b.md": "# B\n\nBeta.\n"})
    index_docs(_settings(home, fake.host), tmp_path / "docs", [])
    indexed = _version(_settings(home, fake.host))
    assert indexed != empty and indexed == _version(_settings(home, fake.host))
    assert _version(_settings(home, "https://other.example")) != indexed
    assert _version(_settings(home, fake.host, pinecone_namespace="other")) != indexed
    write_docs(tmp_path / "docs", {"b.md": "# B\n\nBeta, changed.\n"})
    index_docs(_settings(home, fake.host), tmp_path / "docs", [])
    assert _version(_settings(home, fake.host)) not in (indexed, empty)
    assert not _local_docs_index(home)  # the local SQLite index plays no part


@pytest.mark.aws
def test_on_s3_the_version_costs_one_head_and_a_get_only_after_re_indexing(
        tmp_path: Path, fake: FakePinecone, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="docloop-test")
        calls: list[str] = []
        for operation in ("HeadObject", "GetObject"):
            s3.meta.events.register(f"before-call.s3.{operation}",
                                    lambda model, **_: calls.append(model.name))
        writer = _settings(tmp_path / "writer", fake.host, s3_bucket="docloop-test")
        reader = _settings(tmp_path / "lambda", fake.host, s3_bucket="docloop-test")
        write_docs(tmp_path / "docs", {"a.md": "# A\n\nAlpha.\n"})
        index_docs(writer, tmp_path / "docs", [])  # publishes docs/acme/keywords.sqlite.gz
        calls.clear()
        first = _version(reader, s3)
        assert calls == ["HeadObject", "GetObject"]  # a cold container downloads it once
        calls.clear()
        assert _version(reader, s3) == first and calls == ["HeadObject"]  # warm: ETag same
        write_docs(tmp_path / "docs", {"a.md": "# A\n\nAlpha, changed.\n"})
        index_docs(writer, tmp_path / "docs", [])
        calls.clear()
        assert _version(reader, s3) != first and calls == ["HeadObject", "GetObject"]
