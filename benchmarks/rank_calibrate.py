"""Calibrate the page re-ranker leave-one-community-out, and measure each ingredient.

Run: PYTHONPATH=src:benchmarks python benchmarks/rank_calibrate.py [SET ...]

Queries are built as the acceptance builds them for `docloop docs search`: one per
labelled message (its text) and one per group (its messages' texts joined by
newlines); hit@k = the labelled page is among the first k pages. Missing-page
groups have no page and are left out of hit@k.

Each corpus is indexed once (rank_sets.py) and every query's candidate pages and
their features are computed once; every setting is then scored by re-ranking in
Python. For each set the weights are chosen on the *other* sets (mean of group and
message hit@1 over them, each set counting equally) and reported on it; the shipped
weights are chosen on all sets. Over all sets it writes benchmarks/results/rank_calibrate.md.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from docloop import db
from docloop.backends.docs_index.rerank import FEATURES, HYBRID_ORDER, RankSettings
from docloop.docs.query import clean_query
from docloop.registry import sqlite_stores
from docloop.stages.index_docs import open_index
from rank_sets import REAL, LabelledSet, indexed_settings, load_sets

NOTE = (
    "Queries go through the same search as `docloop docs search --queries FILE --top 10 "
    "--json` (one per labelled message, one per group with its texts joined), on each "
    "corpus indexed as `docloop index-docs` does. \"today\" is the hybrid order alone. "
    "Each set's row uses weights chosen on the other five sets; the weight grid is in the "
    "script. Weights the calibration set to 0 (cosine, breadth) are kept as knobs, inert.")
RESULT = Path(__file__).resolve().parent / "results" / "rank_calibrate.md"
POOL = 30  # candidate pages kept per query; settings may use fewer
GRID = {  # ingredients that measured no gain on any set (cosine, headings, support) stay off:
    # every extra knob makes the leave-one-out choice noisier on ~25 group queries per set
    "candidates": (10,),
    "cosine": (0.0,),
    "names": (0.0, 0.2, 0.4),
    "words": (0.0, 0.2, 0.4),
    "headings": (0.0,),
    "support": (0.0,),
    "breadth": (0.0, -0.4, -0.8),
    "topic": (1.0, 2.0, 4.0),
    "hub": (0.0, -0.25, -0.5),
    "section": (0.0, 0.2, 0.4),
    "bm25": (1.0, 2.0, 3.0),
}
INGREDIENTS = ("cosine", "names", "words", "headings", "support", "breadth", "topic", "hub",
               "section", "bm25")


@dataclass
class Queries:
    """A set's queries as arrays: candidate features (padded) and the right page's position."""

    kind: np.ndarray  # "message" or "group", per query
    features: np.ndarray  # (queries, POOL, features), zero rows beyond a query's pool
    size: np.ndarray  # pages in each query's pool
    gold: np.ndarray  # position of the labelled page in the pool, -1 when absent


def set_queries(labelled: LabelledSet) -> Queries:
    """Message and group queries of one set with their candidate pools (pages only)."""
    settings = indexed_settings(labelled.docs)
    conn = db.connect(settings.db_path)
    try:
        index = open_index(settings, sqlite_stores(conn))
        items = [("message", m.text, m.page) for m in labelled.messages if m.page]
        items += [("group", "\n".join(m.text for m in ms), ms[0].page)
                  for ms in labelled.groups().values() if ms[0].page]
        vectors = index.embedder.embed([clean_query(text) or text for _, text, _ in items])
        features = np.zeros((len(items), POOL, len(FEATURES)))
        size = np.zeros(len(items), dtype=int)
        gold = np.full(len(items), -1)
        for row, ((_, text, page), vector) in enumerate(zip(items, vectors, strict=True)):
            pool = index.candidates(text, vector, POOL)
            features[row, : len(pool.paths)] = pool.features
            size[row] = len(pool.paths)
            gold[row] = pool.paths.index(page) if page in pool.paths else -1
        return Queries(np.array([k for k, _, _ in items]), features, size, gold)
    finally:
        conn.close()


def hits(queries: Queries, settings: RankSettings) -> dict[str, float]:
    """Group and message hit@1 / hit@3 under `settings` (ties keep the hybrid order)."""
    limit = min(settings.candidates, POOL)
    scores = queries.features[:, :limit] @ settings.weights()
    inside = (queries.gold >= 0) & (queries.gold < np.minimum(queries.size, limit))
    rows = np.arange(len(scores))
    gold_score = scores[rows, np.clip(queries.gold, 0, limit - 1)]
    positions = np.arange(limit)[None, :]
    valid = positions < queries.size[:, None]
    ahead = valid & ((scores > gold_score[:, None]) | ((scores == gold_score[:, None])
                                                      & (positions < queries.gold[:, None])))
    rank = np.where(inside, ahead.sum(axis=1) + 1, POOL + 1)
    found = {}
    for kind in ("group", "message"):
        mine = queries.kind == kind
        for k in (1, 3):
            found[f"{kind} hit@{k}"] = float(np.mean(rank[mine] <= k))
        found[f"{kind} MRR"] = float(np.mean(1.0 / rank[mine]))
    return found


def objective(figures: dict[str, float]) -> float:
    """Mean group and message hit@1; MRR breaks ties (a setting that puts the right page
    second rather than fifth is the better one, and ties are many on ~25 groups a set)."""
    hit1 = (figures["group hit@1"] + figures["message hit@1"]) / 2
    return hit1 + 0.1 * (figures["group MRR"] + figures["message MRR"]) / 2


def grid() -> list[RankSettings]:
    keys = list(GRID)
    return [RankSettings(**dict(zip(keys, values, strict=True)))  # type: ignore[arg-type]
            for values in itertools.product(*GRID.values())]


def choose(scores: dict[str, list[float]], names: list[str], options: list[RankSettings]
           ) -> RankSettings:
    """The option with the best mean objective over `names` (first wins ties)."""
    mean = np.mean([scores[n] for n in names], axis=0)
    return options[int(np.argmax(mean))]


def report(sets: dict[str, Queries]) -> tuple[str, RankSettings]:
    """The leave-one-out and ablation tables, and the settings chosen on all sets."""
    options = grid()
    scores = {name: [objective(hits(qs, o)) for o in options] for name, qs in sets.items()}
    shipped = choose(scores, list(sets), options)
    lines = ["### Leave-one-community-out", "",
             "| set | weights chosen on the other sets | group hit@1 | group hit@3 | "
             "message hit@1 | message hit@3 | today: group hit@1 / message hit@1 |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, queries in sets.items():
        chosen = choose(scores, [n for n in sets if n != name], options)
        f = hits(queries, chosen)
        base = hits(queries, HYBRID_ORDER)
        lines.append(f"| {name} | {_describe(chosen)} | {f['group hit@1']:.2f} | "
                     f"{f['group hit@3']:.2f} | {f['message hit@1']:.2f} | "
                     f"{f['message hit@3']:.2f} | {base['group hit@1']:.2f} / "
                     f"{base['message hit@1']:.2f} |")
    lines += ["", f"Shipped (chosen on all sets): {_describe(shipped)}", ""]
    lines += ablation(sets, shipped)
    return "\n".join(lines) + "\n", shipped


def ablation(sets: dict[str, Queries], shipped: RankSettings) -> list[str]:
    """Shipped weights with each ingredient off in turn (and all off = today's order)."""
    variants = {"shipped": shipped, "hybrid only (today)": HYBRID_ORDER}
    for ingredient in INGREDIENTS:
        variants[f"without {ingredient}"] = replace(shipped, **{ingredient: 0.0})
    lines = ["### Ablation (shipped weights, one ingredient off)", "",
             "group hit@1 / hit@3, message hit@1 / hit@3", "",
             "| variant | " + " | ".join(sets) + " |", "| --- |" + " --- |" * len(sets)]
    for label, settings in variants.items():
        cells = []
        for queries in sets.values():
            f = hits(queries, settings)
            cells.append(f"{f['group hit@1']:.2f} / {f['group hit@3']:.2f}, "
                         f"{f['message hit@1']:.2f} / {f['message hit@3']:.2f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _describe(settings: RankSettings) -> str:
    return (f"top {settings.candidates}, cosine {settings.cosine}, names {settings.names}, "
            f"words {settings.words}, headings {settings.headings}, support {settings.support}, "
            f"breadth {settings.breadth}, topic {settings.topic}, hub {settings.hub}, "
            f"section {settings.section}, bm25 {settings.bm25}")


def main(args: list[str]) -> None:
    names = [a for a in args if not a.startswith("--")]
    sets = {s.name: set_queries(s) for s in load_sets(names or None)}
    if not sets:
        sys.exit("no labelled set found (needs ../shared)")
    text, _ = report(sets)
    header = (f"## Page re-ranking calibration\n\nCommand: `PYTHONPATH=src:benchmarks python "
              f"benchmarks/rank_calibrate.py`. Real sets: {', '.join(REAL)}.\n\n{NOTE}\n\n")
    print(header + text)
    if not names:  # every set: the figures RESULTS.md quotes
        RESULT.write_text(header + text, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
