"""The match stage replayed on a run's insights: many match rules, one clustering.

The match stage does not change which insights a run forms, so a sweep over match
rules need not run the loop again: `capture` runs it once per labelled set (shipped
clustering, as `docloop run` makes it) and keeps every insight's match inputs (the
insight, its members' texts and vectors, its centroid, the run's reference) in
`benchmarks/.work/replay-SET.pkl`; `Replay.score` then matches every insight with
a rule and scores the result with the `docloop eval` definitions. Searches are
cached per (query, ranking), so a rule that searches what another searched is free.

benchmarks/verdict_calibrate.py chooses every `VerdictSettings` knob on these captures
(one grid, one objective, leave one community out); loco_eval.py replays that choice.
Delete benchmarks/.work/replay-*.pkl after a change to clustering or extraction (the
capture is not re-made on its own; loco_eval.py re-makes it when the code changed).
"""

from __future__ import annotations

import logging
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import docloop.steps as steps_module
from docloop.backends.docs_index.hybrid import HybridDocsIndex
from docloop.backends.docs_index.rerank import HYBRID_ORDER, RankSettings
from docloop.backends.docs_index.terms import PageTerms
from docloop.docs.query import clean_query
from docloop.evaluation.metrics import Predicted, score_insights
from docloop.evaluation.runner import predicted
from docloop.models import DocChunk, DocMatch, Insight, PageHit, Problem
from docloop.quality import SHIPPED
from docloop.registry import sqlite_stores
from docloop.stages.index_docs import open_index
from docloop.stages.match import MAX_VOTERS, VOTE_K, group_query, match_insight
from docloop.stages.verdict import ChatWords, VerdictSettings
from labelled_sets import WORK, LabelledSet, SetRun

REAL_SETS = ("pydantic", "vite")


@dataclass
class Captured:
    """One insight's match inputs, as the run handed them to the match stage."""

    insight: Insight
    problems: list[Problem]
    vectors: np.ndarray
    centroid: np.ndarray
    reference: float | None
    message_ids: list[str] = field(default_factory=list)  # label ids, known after the run
    run_texts: list[str] = field(default_factory=list)  # every problem's text in the run


def capture(run: SetRun) -> list[Captured]:
    """Run the loop once (shipped settings) and keep each insight's match inputs."""
    kept: dict[str, Captured] = {}
    run_texts: list[str] = []
    original = steps_module.enrich_insight
    original_analyse = steps_module.analyse

    def analysing(*args: Any, **kwargs: Any) -> Any:
        result = original_analyse(*args, **kwargs)
        run_texts.extend(p.body or p.text for p in result.problems)
        return result

    def recording(insight: Insight, problems: Any, vectors: np.ndarray, centroid: np.ndarray,
                  *args: Any) -> None:
        reference = args[2] if len(args) > 2 else None
        kept[insight.id] = Captured(insight.model_copy(deep=True), list(problems),
                                    np.array(vectors), np.array(centroid), reference,
                                    run_texts=run_texts)
        original(insight, problems, vectors, centroid, *args)

    steps_module.enrich_insight = recording  # type: ignore[assignment]
    steps_module.analyse = analysing  # type: ignore[assignment]
    try:
        run.clusters_only(SHIPPED)
        from docloop.pipeline import RunOptions, run_pipeline
        report = run_pipeline(run.settings, RunOptions(since=run.since, dry_run=True,
                                                       quality=SHIPPED))
    finally:
        steps_module.enrich_insight = original  # type: ignore[assignment]
        steps_module.analyse = original_analyse  # type: ignore[assignment]
    ids = run.ids or {m: m for i in report.insights for m in i.message_ids}
    for insight in report.insights:
        kept[insight.id].message_ids = predicted(insight, ids).message_ids
    return [kept[i.id] for i in report.insights]


class CachedIndex:
    """A docs index whose searches are remembered per (text, ranking)."""

    def __init__(self, index: HybridDocsIndex, rank: RankSettings) -> None:
        self.index = index
        self.rank = rank
        self._hits: dict[tuple[str, int], list[PageHit]] = {}
        self._chunks: dict[str, list[DocChunk]] = {}
        self._closest: dict[tuple[str, bytes], Any] = {}

    def search_vector(self, text: str, vector: np.ndarray, top_k: int = 5) -> list[PageHit]:
        key = (text, top_k)
        if key not in self._hits:
            self._hits[key] = self.index.search_vector(text, vector, top_k, self.rank)
        return self._hits[key]

    def page_chunks(self, path: str) -> list[DocChunk]:
        if path not in self._chunks:
            self._chunks[path] = self.index.page_chunks(path)
        return self._chunks[path]

    def page_similarity(self, path: str, vector: np.ndarray) -> float:
        key = (path, vector.tobytes())
        if key not in self._closest:
            self._closest[key] = self.index.page_similarity(path, vector)
        return float(self._closest[key])

    def best_similarities(self, vectors: np.ndarray) -> np.ndarray:
        key = ("", vectors.tobytes())
        if key not in self._closest:
            self._closest[key] = self.index.best_similarities(vectors)
        return np.asarray(self._closest[key])

    def page_terms(self) -> PageTerms:
        return self.index.page_terms()

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.index.embedder.embed(texts)

    def page_hubs(self) -> dict[str, float]:
        return self.index.store.page_hubs()


#: a match rule: (captured insight, the set's replay) -> the insight's DocMatch
Rule = Callable[[Captured, "Replay"], DocMatch]


class Replay:
    """One set's captured insights and its docs index, ready for many match rules."""

    def __init__(self, labelled: LabelledSet) -> None:
        self.name = labelled.name
        self.run = SetRun(labelled)
        cache = WORK.parent / f"replay-{labelled.name}.pkl"
        if cache.is_file():
            self.captured: list[Captured] = pickle.loads(cache.read_bytes())
        else:
            self.captured = capture(self.run)
            cache.write_bytes(pickle.dumps(self.captured))
        self.run.clusters_only(SHIPPED)
        assert self.run._conn is not None
        stores = sqlite_stores(self.run._conn)
        self.hybrid = CachedIndex(open_index(self.run.settings, stores, HYBRID_ORDER),
                                  HYBRID_ORDER)
        self.ranked = CachedIndex(self.hybrid.index, RankSettings())
        self.memo: dict[str, Any] = {}  # per-set values a rule computes once
        texts = self.captured[0].run_texts if self.captured else []
        self.chat = ChatWords.of_run(texts)  # the run's chat vocabulary, as analyse_step

    def group_hits(self, texts: list[str], settings: VerdictSettings) -> list[PageHit]:
        """The members' texts joined, searched re-ranked (as enrich.group_hits searches)."""
        if not texts or settings.group_weight <= 0:
            return []
        query = group_query(texts)
        if query not in self.memo:
            self.memo[query] = self.hybrid.embed([clean_query(query) or query])[0]
        return self.ranked.search_vector(query, self.memo[query], VOTE_K)

    def score(self, rule: Rule) -> dict[str, Any]:
        """The `docloop eval` metrics of the insights matched by `rule`, and how many
        insights said `missing` (`said_missing`)."""
        preds = []
        for item in self.captured:
            match = rule(item, self)
            preds.append(Predicted(item.message_ids, match.path, match.verdict))
        scores = score_insights(self.run.gold, preds)
        scores["said_missing"] = sum(1 for p in preds if p.verdict == "missing")
        return scores


def load(names: list[str] | None = None) -> list[Replay]:
    logging.disable(logging.INFO)
    from labelled_sets import SETS
    return [Replay(s) for s in SETS if s.available() and (not names or s.name in names)]


# -- scoring a rule ----------------------------------------------------------------------

def shipped_rule(settings: VerdictSettings) -> Rule:
    """The match stage as `docloop run` calls it (enrich.enrich_insight), with `settings`."""
    def rule(item: Captured, replay: Replay) -> DocMatch:
        evidence = [(p.with_answer, v) for p, v in zip(item.problems[:MAX_VOTERS], item.vectors,
                                                        strict=False)]
        words = [p.body or p.text for p in item.problems]
        group = replay.group_hits([text for text, _ in evidence], settings)
        return match_insight(item.insight, item.centroid, replay.hybrid, evidence,
                             item.reference, settings, group, words,
                             replay.hybrid.page_hubs(),
                             replay.chat.of_members(words))[0]
    return rule


@dataclass
class Tally:
    """Right pages and `missing` counts of one setting on some sets."""

    right: int = 0
    groups: int = 0
    found: int = 0
    missing_groups: int = 0
    said: int = 0
    said_right: int = 0

    def add(self, m: dict[str, Any]) -> Tally:
        said = m["said_missing"]
        said_right = round((m["missing_precision"] or 0) * said)
        return Tally(self.right + m["right_page"], self.groups + m["groups"],
                     self.found + m["missing_found"], self.missing_groups + m["missing_groups"],
                     self.said + said, self.said_right + said_right)

    def f1(self) -> float:
        p = self.said_right / self.said if self.said else 0.0
        r = self.found / self.missing_groups if self.missing_groups else 0.0
        return 2 * p * r / (p + r) if p + r else 0.0

    def cell(self) -> str:
        precision = f"{self.said_right / self.said:.2f}" if self.said else "n/a"
        return (f"{self.right}/{self.groups}, {self.found}/{self.missing_groups}, "
                f"{precision} ({self.said_right}/{self.said})")


if __name__ == "__main__":
    sys.exit("match_replay.py is a library: the verdict is calibrated by "
             "benchmarks/verdict_calibrate.py")
