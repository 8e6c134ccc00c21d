"""The match stage replayed on a run's insights: many match rules, one clustering.

The match stage does not change which insights a run forms, so a sweep over match
rules need not run the loop again: `capture` runs it once per labelled set (shipped
clustering, as `docloop run` makes it) and keeps every insight's match inputs (the
insight, its members' texts and vectors, its centroid, the run's reference) in
`benchmarks/.work/replay-SET.pkl`; `Replay.score` then matches every insight with
a rule and scores the result with the `docloop eval` definitions. Searches are
cached per (query, ranking), so a rule that searches what another searched is free.

Run: PYTHONPATH=src:benchmarks python benchmarks/match_replay.py [SET ...] [--saved]
chooses the `missing` verdict's settings (`below_reference`, `size_margin`,
`unknown_weight`, `chat_share`, `agree_weight`) leave one community out on the captured
insights: for each set the setting with the best pooled `missing` F1 (then the most right
pages, then the best average over its grid neighbours: many settings tie) on the other
sets, next to the verdict main shipped before (BEFORE) measured in the same run. Over all
sets it writes benchmarks/results/match_replay.md and keeps the raw figures in
benchmarks/.work/match_replay-results.pkl (`--saved` re-tabulates them without matching).
Delete benchmarks/.work/replay-*.pkl after a change to clustering or extraction (the
capture is not re-made on its own).
"""

from __future__ import annotations

import itertools
import logging
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
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
from docloop.quality import SHIPPED, QualitySettings
from docloop.registry import sqlite_stores
from docloop.stages.index_docs import open_index
from docloop.stages.insights import shared_words
from docloop.stages.match import MAX_VOTERS, VOTE_K, group_query, match_insight
from docloop.stages.verdict import ChatWords, VerdictSettings
from labelled_sets import WORK, LabelledSet, SetRun, publish

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


def capture(run: SetRun, quality: QualitySettings = SHIPPED) -> list[Captured]:
    """Run the loop once (clustering `quality`, default shipped) and keep each insight's
    match inputs."""
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
        run.clusters_only(quality)
        from docloop.pipeline import RunOptions, run_pipeline
        report = run_pipeline(run.settings, RunOptions(since=run.since, dry_run=True,
                                                       quality=quality))
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

    def __init__(self, labelled: LabelledSet, quality: QualitySettings = SHIPPED,
                 rank: RankSettings | None = None, run: SetRun | None = None,
                 cache: Path | None = None) -> None:
        """The set's insights as clustering `quality` makes them (captured once into
        `cache`, default replay-NAME.pkl beside the sets), their group query re-ranked
        with `rank` (default shipped); `run`: the set's SetRun, when one is open."""
        self.name = labelled.name
        self.run = run or SetRun(labelled)
        cache = cache or WORK.parent / f"replay-{labelled.name}.pkl"
        if cache.is_file():
            self.captured: list[Captured] = pickle.loads(cache.read_bytes())
        else:
            self.captured = capture(self.run, quality)
            cache.write_bytes(pickle.dumps(self.captured))
        self.run.clusters_only(quality)
        assert self.run._conn is not None
        stores = sqlite_stores(self.run._conn)
        self.hybrid = CachedIndex(open_index(self.run.settings, stores, HYBRID_ORDER),
                                  HYBRID_ORDER)
        self.ranked = CachedIndex(self.hybrid.index, rank or RankSettings())
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


# -- the `missing` verdict chosen leave one community out, end to end --------------------

#: the verdict main shipped before the run vocabulary and the members' agreement
BEFORE = VerdictSettings(below_reference=0.15, size_margin=0.2, unknown_weight=0.15,
                         chat_share=1.0, agree_weight=0.0)
GRID = {
    "below_reference": (0.09, 0.12, 0.15, 0.18),
    "size_margin": (0.1, 0.2),
    "unknown_weight": (0.0, 0.1, 0.15, 0.2),
    "chat_share": (1.0, 0.1, 0.05, 0.02),
    "agree_weight": (0.0, 0.2, 0.4, 0.6, 0.8),
}
SHORT = {"below_reference": "below", "size_margin": "size", "unknown_weight": "unknown",
         "chat_share": "chat share", "agree_weight": "agree"}
RESULT = Path(__file__).resolve().parent / "results" / "match_replay.md"


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
                             replay.chat.of_members(words), shared_words(item.problems))[0]
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


def options() -> list[VerdictSettings]:
    return [VerdictSettings(**dict(zip(GRID, values, strict=True)))
            for values in itertools.product(*GRID.values())]


def choose(results: dict[str, list[dict[str, Any]]], names: list[str]) -> int:
    """The option with the best pooled `missing` F1 over `names`, then the most right pages;
    among options that tie, the one whose grid neighbours (each knob one step either way)
    score best on average: the middle of a plateau, not the edge the grid's order reaches
    first (ties left: the first listed)."""
    def pooled(i: int) -> tuple[float, int]:
        tally = Tally()
        for name in names:
            tally = tally.add(results[name][i])
        return tally.f1(), tally.right

    scores = [pooled(i) for i in range(len(next(iter(results.values()))))]

    def around(i: int) -> tuple[float, float]:
        near = [scores[j] for j in neighbours(i)]
        return (sum(f for f, _ in near) / len(near), sum(r for _, r in near) / len(near))
    return max(range(len(scores)), key=lambda i: (scores[i], around(i), -i))


def neighbours(i: int, shape: tuple[int, ...] | None = None) -> list[int]:
    """Option `i` and the options one grid step from it in one knob (options() order, or
    that of a grid of `shape`)."""
    shape = shape or tuple(len(values) for values in GRID.values())
    place = np.unravel_index(i, shape)
    found = [i]
    for axis, size in enumerate(shape):
        for step in (-1, 1):
            moved = list(place)
            moved[axis] += step
            if 0 <= moved[axis] < size:
                found.append(int(np.ravel_multi_index(moved, shape)))
    return found


#: the vote rule's knobs (no calibrator ships them; loco_eval --choose-votes and
#: match_readings.py measure choosing them): the re-ranked group query's weight against the
#: members, the discount on a member's vote for a catch-all page, and how flat the members'
#: rank votes are (vote_k / (vote_k + rank))
VOTE_GRID = {
    "group_weight": (0.0, 0.25, 0.5, 1.0, 2.0),
    "hub_discount": (0.0, 0.25, 0.5, 0.75),
    "vote_k": (1.0, 3.0),
}


def vote_options(verdict: VerdictSettings) -> list[VerdictSettings]:
    """`verdict` with every combination of the vote rule's knobs (VOTE_GRID)."""
    return [replace(verdict, **dict(zip(VOTE_GRID, values, strict=True)))
            for values in itertools.product(*VOTE_GRID.values())]


def choose_votes(results: dict[str, list[dict[str, Any]]], names: list[str]) -> int:
    """The vote rule with the most right pages pooled over `names`, then the best pooled
    `missing` F1; among ties, the one whose grid neighbours have the most right pages on
    average (the middle of a plateau), then the first listed."""
    def pooled(i: int) -> tuple[int, float]:
        tally = Tally()
        for name in names:
            tally = tally.add(results[name][i])
        return tally.right, tally.f1()

    scores = [pooled(i) for i in range(len(next(iter(results.values()))))]
    shape = tuple(len(values) for values in VOTE_GRID.values())

    def around(i: int) -> float:
        near = [scores[j][0] for j in neighbours(i, shape)]
        return sum(near) / len(near)
    return max(range(len(scores)), key=lambda i: (scores[i], around(i), -i))


def describe(option: VerdictSettings) -> str:
    return ", ".join(f"{SHORT[name]} {getattr(option, name)}" for name in GRID)


def main(args: list[str]) -> None:
    grid = options()
    saved = WORK.parent / "match_replay-results.pkl"
    if "--saved" in args:  # re-tabulate the last full run (no matching)
        results, before = pickle.loads(saved.read_bytes())
        args = []
    else:
        results, before = measure(load(args), grid)
        if not args:
            saved.write_bytes(pickle.dumps((results, before)))
    shipped = choose(results, list(results))
    lines = ["| set | chosen on the other sets | right page, `missing` found, precision "
             "(with it) | before, same run | shipped (chosen on all) |",
             "| --- | --- | --- | --- | --- |"]
    loco = Tally()
    real_before = Tally()
    real_shipped = Tally()
    for name in results:
        i = choose(results, [n for n in results if n != name])
        row = Tally().add(results[name][i])
        lines.append(f"| {name} | {describe(grid[i])} | {row.cell()} | "
                     f"{Tally().add(before[name]).cell()} | "
                     f"{Tally().add(results[name][shipped]).cell()} |")
        if name in REAL_SETS:
            loco = loco.add(results[name][i])
            real_before = real_before.add(before[name])
            real_shipped = real_shipped.add(results[name][shipped])
    lines.append(f"| pooled (real sets) | each its own | {loco.cell()} | {real_before.cell()} | "
                 f"{real_shipped.cell()} |")
    lines += ["", f"Shipped (chosen on all sets): {describe(grid[shipped])}."]
    if not args:
        publish(RESULT, lines)
    else:
        print("\n".join(lines))


def measure(replays: list[Replay], grid: list[VerdictSettings],
            ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Every set's metrics with each grid option, and with the verdict before (BEFORE)."""
    results: dict[str, list[dict[str, Any]]] = {}
    before: dict[str, dict[str, Any]] = {}
    for replay in replays:
        before[replay.name] = replay.score(shipped_rule(BEFORE))
        results[replay.name] = [replay.score(shipped_rule(o)) for o in grid]
    return results, before


if __name__ == "__main__":
    main(sys.argv[1:])
