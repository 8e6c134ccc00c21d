"""Every labelled set docloop is measured and calibrated on, and how to run one.

Conversation sets (threads, replies, `labels.json`) are ingested as they are;
the real sets (`../shared/realsets/*/messages.jsonl`) become the acceptance
chat of `docloop eval` (`docloop.evaluation.chat`). A `SetRun` keeps one docs
index per corpus and the set's embeddings in a template database under
`benchmarks/.work/`, so a sweep embeds each problem text once: every
evaluation works on an in-memory copy and hands new embeddings back.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from docloop import db
from docloop.backends.analyzers.offline import OfflineAnalyzer
from docloop.backends.docs_index.rerank import HYBRID_ORDER, RankSettings
from docloop.backends.embedders.base import Embedder
from docloop.config import load_settings
from docloop.evaluation.chat import write_chat
from docloop.evaluation.labels import Gold, gold_of, read_labels
from docloop.evaluation.metrics import Predicted, score_insights
from docloop.evaluation.runner import SINCE_DAYS, predicted
from docloop.models import Problem
from docloop.pipeline import RunOptions, run_pipeline
from docloop.quality import SHIPPED, QualitySettings
from docloop.registry import build_embedder, sqlite_stores
from docloop.stages.analyse import analyse
from docloop.stages.index_docs import index_docs
from docloop.stages.ingest import IngestResult, ingest
from docloop.stages.verdict import VerdictSettings

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared"
WORK = HERE / ".work" / "sets"


@dataclass(frozen=True)
class LabelledSet:
    """One labelled community: its messages, labels and docs."""

    name: str
    role: str  # "tuning", "held-out" (written sets) or "real"
    labels: Path  # labels.json (conversation sets) or messages.jsonl (real sets)
    docs: Path
    base_url: str
    discord: Path | None = None  # the export folder of a conversation set
    doc_prefix: str = ""

    def available(self) -> bool:
        return self.labels.is_file() and self.docs.is_dir()

    def gold(self) -> Gold:
        if self.discord is None:
            return gold_of(read_labels(self.labels, self.doc_prefix))
        data = json.loads(self.labels.read_text(encoding="utf-8"))
        return Gold(groups={g: v["page"] for g, v in data["groups"].items()},
                    messages=dict(data["messages"]))


def _conv(name: str, folder: Path, role: str, docs: Path, url: str) -> LabelledSet:
    return LabelledSet(name, role, folder / "labels.json", docs, url, discord=folder / "discord")


FASTAPI_DOCS = SHARED / "corpora" / "fastapi-docs"
SETS = (
    _conv("fastapi", HERE / "data" / "fastapi_conv", "tuning", FASTAPI_DOCS,
          "https://fastapi.tiangolo.com/"),
    _conv("tidepool", REPO / "examples" / "tidepool", "tuning", REPO / "examples" / "tidepool"
          / "docs", "https://docs.tidepool.example/"),
    _conv("fastapi-holdout", HERE / "data" / "fastapi_holdout", "held-out", FASTAPI_DOCS,
          "https://fastapi.tiangolo.com/"),
    _conv("tseslint", HERE / "data" / "tseslint_conv", "held-out",
          SHARED / "corpora" / "typescript-eslint-docs", "https://typescript-eslint.io/"),
    LabelledSet("pydantic", "real", SHARED / "realsets" / "pydantic" / "messages.jsonl",
                SHARED / "corpora" / "pydantic-docs", "https://docs.pydantic.dev/latest/",
                doc_prefix="docs/"),
    LabelledSet("vite", "real", SHARED / "realsets" / "vite" / "messages.jsonl",
                SHARED / "corpora" / "vite-docs", "https://vite.dev/", doc_prefix="docs/"),
)


def publish(path: Path, lines: list[str]) -> None:
    """Write a benchmark's Markdown table (a part of RESULTS.md) and print it."""
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(text)


class SetRun:
    """One set, ready to be measured many times with different quality settings."""

    def __init__(self, labelled: LabelledSet) -> None:
        self.set = labelled
        self.gold = labelled.gold()
        self.home = WORK / labelled.name
        self.home.mkdir(parents=True, exist_ok=True)
        self._template()
        self.now = datetime.now(UTC)
        self.ids: dict[str, str] | None = None
        source = labelled.discord
        if source is None:  # a real set: the acceptance chat
            source = self.home / "chat"
            shutil.rmtree(source, ignore_errors=True)
            self.ids = write_chat(read_labels(labelled.labels, labelled.doc_prefix), source,
                                  self.now)
        self.settings = load_settings(overrides={
            "home": self.home, "sources": [f"discord-export:{source}"], "tracker": "none",
            "max_insights": 0, "min_conversations": 2,
            "docs_base_url": labelled.base_url}, environ={})
        self.since = self.now - timedelta(days=SINCE_DAYS) if self.ids is not None else None
        self._conn: sqlite3.Connection | None = None
        self._ingested: IngestResult | None = None

    def _template(self) -> None:
        """The set's database: the corpus's docs index (kept per corpus, incremental)."""
        index_home = WORK.parent / f"index-{self.set.docs.parent.name}-{self.set.docs.name}"
        index_settings = load_settings(overrides={"home": index_home,
                                                  "docs_base_url": self.set.base_url},
                                       environ={})
        index_docs(index_settings, self.set.docs, [])
        if not (self.home / "docloop.db").is_file():
            shutil.copy(index_settings.db_path, self.home / "docloop.db")

    def clusters_only(self, quality: QualitySettings) -> dict[str, Any]:
        """Extraction, clustering and significance only (no page matching): fast.

        The set is ingested once into an in-memory copy that every call reuses; nothing
        is saved in it, so no call sees another's insight identities.
        """
        if self._conn is None:
            self._conn = self._memory_copy()
            self._ingested = ingest(self.settings, sqlite_stores(self._conn), self.since)
        assert self._ingested is not None
        analysis = analyse(self.settings, sqlite_stores(self._conn), OfflineAnalyzer(quality),
                           self._ingested.conversations, self._ingested.window, quality)
        self._keep_embeddings(self._conn)
        return score_insights(self.gold, [self._predicted(i.message_ids, None, "covered")
                                          for i in analysis.insights])

    def extracted(self, quality: QualitySettings) -> tuple[list[Problem], np.ndarray]:
        """The set's problems under `quality` and their (cached) embeddings."""
        self.clusters_only(quality)  # ingests once and caches the embeddings
        assert self._conn is not None and self._ingested is not None
        problems = OfflineAnalyzer(quality).extract(list(self._ingested.conversations))
        return problems, self.embed([p.embedding_text for p in problems])

    def embedder(self) -> Embedder:
        """The set's embedder, behind its embedding cache."""
        self.clusters_only(SHIPPED)
        assert self._conn is not None
        return build_embedder(self.settings, sqlite_stores(self._conn))

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder().embed(texts)

    def pages(self) -> list[tuple[str, str]]:
        """(path, Markdown source) of every indexed page: the page set docloop searches."""
        self.clusters_only(SHIPPED)
        assert self._conn is not None
        return [(r["path"], r["source"]) for r in self._conn.execute(
            "SELECT path, source FROM docs_pages ORDER BY path")]

    def messages(self) -> list[tuple[str, list[str]]]:
        """Every non-empty message of the window as (text, [its id])."""
        self.clusters_only(SHIPPED)
        assert self._ingested is not None
        return [(m.content, [m.id]) for m in self._ingested.window if m.content.strip()]

    def label_ids(self, message_ids: list[str]) -> list[str]:
        """Message ids as the labels name them."""
        if self.ids is None:
            return message_ids
        return [self.ids[m] for m in message_ids if m in self.ids]

    def full(self, quality: QualitySettings, rank: RankSettings = HYBRID_ORDER,
             verdict: VerdictSettings | None = None,
             group_rank: RankSettings | None = None) -> dict[str, Any]:
        """The whole loop (match included), as `docloop run` makes it, on a copy; `rank`
        (the members' votes), `verdict` and `group_rank` (the joined query's re-ranker) are
        the match stage's knobs (default: shipped)."""
        self.clusters_only(quality)  # embeds this setting's problems into the template
        report = run_pipeline(self.settings, RunOptions(
            since=self.since, dry_run=True, quality=quality, rank=rank,
            verdict=verdict or VerdictSettings(), group_rank=group_rank or RankSettings()))
        ids = self.ids or {m: m for i in report.insights for m in i.message_ids}
        preds = [predicted(i, ids) for i in report.insights]
        scores = score_insights(self.gold, preds)
        scores["said_missing"] = sum(1 for p in preds if p.verdict == "missing")  # pooling
        return scores

    def _predicted(self, message_ids: list[str], page: str | None, verdict: str) -> Predicted:
        return Predicted(self.label_ids(message_ids), page, verdict)

    def _memory_copy(self) -> sqlite3.Connection:
        conn = db.memory()
        source = sqlite3.connect(f"file:{self.settings.db_path}?mode=ro", uri=True)
        source.backup(conn)
        source.close()
        return conn

    def _keep_embeddings(self, conn: sqlite3.Connection) -> None:
        """Copy embeddings the copy computed back into the set's database."""
        conn.execute("ATTACH DATABASE ? AS template", (str(self.settings.db_path),))
        conn.execute("INSERT OR IGNORE INTO template.embedding_cache "
                     "SELECT * FROM main.embedding_cache")
        conn.commit()
        conn.execute("DETACH DATABASE template")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
