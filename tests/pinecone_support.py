"""Pinecone vs SQLite on the same docs and embedder: shared by the agreement test and
benchmarks/pinecone_bench.py.

Both indexes are built by the `index-docs` stage in one home, so the second
takes every chunk vector from the embedding cache the first filled (the same
vectors, as in production); then every query is searched in both through
`open_index(...).search_many`, the path `docloop docs search` takes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from docloop import registry
from docloop.config import Settings, load_settings
from docloop.stages.index_docs import IndexStats, index_docs, open_index
from tests.fake_pinecone import FakePinecone

REPO = Path(__file__).resolve().parents[1]
TIDEPOOL = REPO / "examples" / "tidepool"


@dataclass
class Agreement:
    """How often the two indexes put the same page first, and what Pinecone cost."""

    queries: int
    same_top: int
    same_top3: int  # the same three pages in the same order
    pinecone_index: IndexStats
    sqlite_seconds: float
    pinecone_search_seconds: float
    sqlite_search_seconds: float
    requests: dict[str, int]

    @property
    def top1(self) -> float:
        return self.same_top / self.queries if self.queries else 1.0


def tidepool_questions() -> list[str]:
    """The example community's labelled problem messages (noise left out)."""
    labels = json.loads((TIDEPOOL / "labels.json").read_text(encoding="utf-8"))
    texts: dict[str, str] = {}
    for export in sorted((TIDEPOOL / "discord").glob("*.json")):
        for message in json.loads(export.read_text(encoding="utf-8"))["messages"]:
            texts[message["id"]] = message["content"]
    return [texts[mid] for mid, group in labels["messages"].items()
            if group and texts.get(mid, "").strip()]


def realset_questions(shared: Path, name: str) -> list[str]:
    """A ../shared realset's labelled messages (noise left out)."""
    path = shared / "realsets" / name / "messages.jsonl"
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    return [item["text"] for item in items if item["group"] != "noise"]


def compare(docs: Path, questions: list[str], home: Path, fake: FakePinecone,
            environ: Mapping[str, str]) -> Agreement:
    """Index `docs` into SQLite and into the fake Pinecone, search both, compare."""
    local = load_settings(overrides={"home": home}, environ=dict(environ))
    remote = load_settings(overrides={"home": home, "docs_index": "pinecone",
                                      "pinecone_host": fake.host, "pinecone_namespace": docs.name},
                           environ={**environ, "PINECONE_API_KEY": fake.api_key})
    started = time.perf_counter()
    index_docs(local, docs, [])
    sqlite_seconds = time.perf_counter() - started
    pinecone_stats = index_docs(remote, docs, [])
    _top_pages(local, questions)  # fills the embedding cache: both timings exclude the model
    local_top, local_s = _top_pages(local, questions)
    remote_top, remote_s = _top_pages(remote, questions)
    pairs = list(zip(local_top, remote_top, strict=True))
    return Agreement(len(questions), sum(a[:1] == b[:1] for a, b in pairs),
                     sum(a == b for a, b in pairs), pinecone_stats, sqlite_seconds, remote_s,
                     local_s, dict(fake.calls))


def _top_pages(settings: Settings, questions: list[str]) -> tuple[list[list[str]], float]:
    with registry.open_stores(settings) as stores:
        index = open_index(settings, stores)
        started = time.perf_counter()
        hits = index.search_many(questions, 3)
        seconds = time.perf_counter() - started
    return [[h.path for h in found] for found in hits], seconds
