"""Calibrate the page re-ranker leave-one-community-out, and measure each ingredient.

Run: PYTHONPATH=src:benchmarks python benchmarks/rank_calibrate.py [SET ...]

Queries are built as the acceptance builds them for `docloop docs search`: one per
labelled message (its text) and one per group (its messages' texts joined by
newlines); hit@k = the labelled page is among the first k pages. Missing-page
groups have no page and are left out of hit@k.

Each corpus is indexed once (rank_sets.py) and every query's candidate pages and
their features are computed once (cached beside the indexes); every setting is then
scored by re-ranking in numpy. Two ways of choosing the weights are compared, each
leave-one-community-out (a set's row uses only the other sets):

- `grid`: the weight grid below (nine knobs), the setting with the best objective;
  `small grid`: four knobs (bm25, topic, hub, title) on finer steps;
- `listwise`: the listwise logistic ranker of rank_learn.py (every feature, strong L2
  chosen by an inner leave-one-set-out over the training sets); `small listwise`: the
  same over six features.

and two ways of weighting the training sets: `equal` (every set counts the same) and
`real` (the real sets together count as much as the written sets together).

Those twelve methods were the recipe before: the one with the best mean leave-one-out
hit@1 over the sets it saw was shipped. Replayed per fold (loco_eval.py) that race
picked a different method in different folds, three times the old grid without the late
features, and the unseen figures fell well below the method's own. The recipe now
(`Recipe`, what `choose_weights` returns) has one meta-choice: the listwise ranker over
the late feature set, every set equal, its L2 strength chosen by the inner
leave-one-set-out gains over the hybrid order (their mean), and the weights are those
inner fits averaged. Its variants (L2 by the mean minus the spread of the gains, which
was the recipe fixed before the first run, or by the worst set; a refit instead of the
average) are measured in the same run; the race's rows stay for
comparison, and "race (recipe before), per fold" replays the race inside each fold.
Over all sets it writes benchmarks/results/rank_calibrate.md.
"""

from __future__ import annotations

import hashlib
import itertools
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from docloop import db
from docloop.backends.docs_index.rerank import (
    ALL_FEATURES,
    FEATURES,
    HYBRID_ORDER,
    RankSettings,
)
from docloop.backends.embedders.base import Embedder
from docloop.registry import sqlite_stores
from docloop.stages.index_docs import open_index
from rank_learn import Pools, bagged, choose_fits, choose_l2, fit
from rank_sets import REAL, SHARED, WORK, LabelledSet, indexed_settings, load_sets
from search_bench import load_questions, metrics

NOTE = (
    "Queries go through the same search as `docloop docs search --queries FILE --top 10 "
    "--json` (one per labelled message, one per group with its texts joined), on each "
    "corpus indexed as `docloop index-docs` does; each query's 10 candidate pages and their "
    "features are exactly what the re-ranker sees at run time. \"hybrid\" is the hybrid "
    "order alone; \"previous\" the re-ranker shipped before this change (late listwise, "
    "equal, fitted on all six sets; fixed weights, so its rows are not unseen figures). "
    "Every other row of a set uses weights chosen on the *other* five sets only. \"race "
    "(recipe before), per fold\": the previous recipe, the race of the twelve methods "
    "below by mean leave-one-out hit@1 within the five training sets, replayed in each "
    "fold. \"recipe\": what ships now (`Recipe`): the listwise ranker over the late "
    "features and the best section's BM25 (`section_bm25`), every set equal, L2 chosen "
    "by the inner leave-one-set-out gains over the hybrid order (their mean), the inner "
    "fits averaged (bagged). \"recipe before\": the same over the late features alone "
    "(what shipped before `section_bm25`). The variants change one of the two choices; "
    "they were fixed before the first run, with \"mean - spread, bagged\" as the recipe, "
    "which lost (see the reading below). "
    "The race's methods: `grid`: the best setting of the grid in the script; `listwise`: "
    "the listwise logistic ranker (benchmarks/rank_learn.py) over every feature with "
    "strong L2, its strength chosen by leave-one-set-out inside the training sets; "
    "`small`: over six features (fused, bm25, topic, hub, breadth, names); `late`: those "
    "six plus late interaction (`parts`, `agree`) and the user's docs link (`link`); "
    "`selected`: the features chosen greedily inside each fold. `equal`: every training "
    "set counts the same in the objective; `real`: the real sets together count as much "
    "as the written sets together.")
RESULT = Path(__file__).resolve().parent / "results" / "rank_calibrate.md"
SOURCES = Path(__file__).resolve().parent.parent / "src" / "docloop"
#: the re-ranker shipped before this change (late listwise, equal, fitted on all six sets;
#: every weight it did not have is 0)
PREVIOUS = RankSettings(names=1.03, breadth=-0.75, topic=5.48, hub=-0.72, bm25=2.75,
                        parts=5.25, agree=0.54, link=2.83, section_bm25=0.0)
POOL = RankSettings().candidates  # the pages the re-ranker sees at run time
GRID = {  # one value per ingredient that measured no gain (cosine, headings, support)
    "names": (0.0, 0.4), "words": (0.0, 0.2), "breadth": (0.0, -0.4, -0.8),
    "topic": (1.0, 2.0, 4.0), "hub": (0.0, -0.25, -0.5), "section": (0.0, 0.2),
    "bm25": (1.0, 2.0, 3.0), "title": (0.0, 0.25, 0.5), "defines": (0.0, 0.25, 0.5),
}
SMALL_GRID = {  # fewer knobs, finer steps: the page-level evidence only
    "bm25": (0.0, 0.5, 1.0, 2.0, 3.0, 4.0), "topic": (0.0, 0.5, 1.0, 2.0, 3.0, 4.0),
    "hub": (0.0, -0.25, -0.5, -1.0), "title": (0.0, 0.25, 0.5, 1.0),
}
#: the listwise ranker's small feature set: the hybrid score, the page-level evidence
#: and the pasted names (the features whose weights keep their sign in every fold)
SMALL = ("fused", "bm25", "topic", "hub", "breadth", "names")
#: the small set plus late interaction and the user's docs links (this round's features
#: that gained leave-one-community-out; `bm25f` lost and stays out)
LATE = (*SMALL, "parts", "agree", "link")
#: the late set plus the best section's BM25 (`section_bm25`): the recipe's feature set
SECTION = (*LATE, "section_bm25")
L2_OPTIONS = (10.0, 3.0, 1.0, 0.3, 0.1, 0.03)
OFFSET = FEATURES.index("fused")
SELECT_L2 = 1.0  # the L2 strength feature selection fits with (the middle of L2_OPTIONS)
SELECT_GAIN = 0.005  # a feature joins only if the inner objective gains this much
Chooser = Callable[[Mapping[str, Pools], Mapping[str, float]], np.ndarray]


def set_pools(labelled: LabelledSet) -> Pools:
    """Message and group queries of one set with their candidate pools, computed once per
    labels, docs and ranking code (cached as .npz beside the set's index)."""
    cache = WORK / f"{labelled.name}-{_fingerprint(labelled)}.npz"
    if cache.is_file():
        with np.load(cache) as saved:
            return Pools(saved["kind"], saved["features"], saved["size"], saved["gold"])
    settings = indexed_settings(labelled.docs)
    conn = db.connect(settings.db_path)
    try:
        index = open_index(settings, sqlite_stores(conn))
        items = [("message", m.text, m.page) for m in labelled.messages if m.page]
        items += [("group", "\n".join(m.text for m in ms), ms[0].page)
                  for ms in labelled.groups().values() if ms[0].page]
        vectors, parts = index.embed_queries([text for _, text, _ in items], ALL_FEATURES)
        features = np.zeros((len(items), POOL, len(FEATURES)))
        size = np.zeros(len(items), dtype=int)
        gold = np.full(len(items), -1)
        for row, ((_, text, page), vector, part) in enumerate(
                zip(items, vectors, parts, strict=True)):
            pool = index.candidates(text, vector, POOL, ALL_FEATURES, part)
            features[row, : len(pool.paths)] = pool.features
            size[row] = len(pool.paths)
            gold[row] = pool.paths.index(page) if page in pool.paths else -1
    finally:
        conn.close()
    pools = Pools(np.array([k for k, _, _ in items]), features, size, gold)
    np.savez(cache, kind=pools.kind, features=features, size=size, gold=gold)
    return pools


def _fingerprint(labelled: LabelledSet) -> str:
    """The pools' cache key: the labels and every docloop source, since the features read
    more than the index (`names` reads text.py's identifiers, `mentions` the suggester's):
    a key over the index code alone kept pools made by older identifiers."""
    digest = hashlib.sha256(repr(FEATURES).encode())
    for source in sorted(SOURCES.rglob("*.py")):
        digest.update(source.read_bytes())
    digest.update(repr([(m.text, m.group, m.page) for m in labelled.messages]).encode())
    return digest.hexdigest()[:16]


def hits(pools: Pools, weights: np.ndarray) -> dict[str, float]:
    """Group and message hit@1 / hit@3 and MRR (ties keep the hybrid order)."""
    scores = pools.features @ weights
    inside = pools.gold >= 0
    rows = np.arange(len(scores))
    gold_score = scores[rows, np.clip(pools.gold, 0, None)]
    positions = np.arange(scores.shape[1])[None, :]
    valid = positions < pools.size[:, None]
    ahead = valid & ((scores > gold_score[:, None]) | ((scores == gold_score[:, None])
                                                      & (positions < pools.gold[:, None])))
    rank = np.where(inside, ahead.sum(axis=1) + 1, np.inf)
    found = {}
    for kind in ("group", "message"):
        mine = pools.kind == kind
        for k in (1, 3):
            found[f"{kind} hit@{k}"] = float(np.mean(rank[mine] <= k))
        found[f"{kind} MRR"] = float(np.mean(1.0 / rank[mine]))
    return found


def objective(pools: Pools, weights: np.ndarray) -> float:
    """Mean group and message hit@1; MRR breaks ties (a setting that puts the right page
    second rather than fifth is the better one, and ties are many on ~25 groups a set)."""
    f = hits(pools, weights)
    hit1 = (f["group hit@1"] + f["message hit@1"]) / 2
    return hit1 + 0.1 * (f["group MRR"] + f["message MRR"]) / 2


def set_weights(names: list[str], scheme: str) -> dict[str, float]:
    """`equal`: 1 each; `real`: the real sets together weigh as much as the others."""
    real = [n for n in names if n in REAL]
    written = [n for n in names if n not in REAL]
    if scheme == "equal" or not real or not written:
        return {n: 1.0 for n in names}
    return {n: len(written) / len(real) if n in REAL else 1.0 for n in names}


def grid_options(grid: Mapping[str, tuple[float, ...]]) -> np.ndarray:
    """Every setting of `grid` as a weight vector (weights it leaves out are 0)."""
    keys = list(grid)
    rows = []
    for values in itertools.product(*grid.values()):
        weights = {**_as_dict(HYBRID_ORDER), **dict(zip(keys, values, strict=True))}
        rows.append([weights[name] for name in FEATURES])
    return np.array(rows)


class GridChooser:
    """The grid setting with the best weighted objective (first wins ties); every
    option's objective on every set is computed once."""

    def __init__(self, sets: Mapping[str, Pools], grid: Mapping[str, tuple[float, ...]]
                 ) -> None:
        self.options = grid_options(grid)
        self.scores = {n: np.array([objective(p, w) for w in self.options])
                       for n, p in sets.items()}

    def __call__(self, training: Mapping[str, Pools], weights: Mapping[str, float]
                 ) -> np.ndarray:
        total = sum(weights[n] * self.scores[n] for n in training)
        return self.options[int(np.argmax(total))]


class Listwise:
    """The listwise logistic ranker over `features`, fitted on the training sets with its
    L2 strength chosen by leave-one-set-out inside them; the weights of the features
    it does not use are 0."""

    def __init__(self, features: tuple[str, ...] = FEATURES) -> None:
        self.keep = [FEATURES.index(f) for f in features]
        self.offset = self.keep.index(OFFSET)

    def __call__(self, training: Mapping[str, Pools], weights: Mapping[str, float]
                 ) -> np.ndarray:
        # by name: the fits are numerical, so the sets' order would move the last digits
        # (rank_calibrate's table and loco_eval's folds list the sets differently)
        reduced = {n: _only(training[n], self.keep) for n in sorted(training)}
        l2 = choose_l2(reduced, weights, self.offset, L2_OPTIONS, objective)
        fitted = fit(list(reduced.values()), [weights[n] for n in reduced], self.offset, l2)
        full = np.zeros(len(FEATURES))
        full[self.keep] = fitted
        return full


class Selected:
    """Feature selection inside the fold: starting from the hybrid score alone, greedily
    add the feature whose listwise fit (L2 `SELECT_L2`) scores best leave-one-set-out
    *within* the training sets, while that score improves by at least `SELECT_GAIN`; then
    fit the chosen features as `Listwise` does. Its leave-one-community-out row measures
    the whole recipe, feature choice included, on sets it never saw."""

    def __init__(self, pool: tuple[str, ...] = FEATURES) -> None:
        self.pool = pool
        self.chosen: dict[frozenset[tuple[str, float]], tuple[str, ...]] = {}

    def __call__(self, training: Mapping[str, Pools], weights: Mapping[str, float]
                 ) -> np.ndarray:
        features = self.select(training, weights)
        return Listwise(features)(training, weights)

    def select(self, training: Mapping[str, Pools], weights: Mapping[str, float]
               ) -> tuple[str, ...]:
        """The greedily chosen features for these training sets (remembered per fold)."""
        key = frozenset(weights.items())  # the training sets and how each counts
        if key not in self.chosen:
            chosen: tuple[str, ...] = ("fused",)
            best = _inner_score(training, weights, chosen)
            while True:
                trials = {f: _inner_score(training, weights, (*chosen, f))
                          for f in self.pool if f not in chosen}
                if not trials:
                    break
                feature = max(trials, key=trials.__getitem__)
                if trials[feature] < best + SELECT_GAIN:
                    break
                chosen, best = (*chosen, feature), trials[feature]
            self.chosen[key] = chosen
        return self.chosen[key]


SELECTED = Selected()  # one instance, so the report can show the features each fold chose


class Recipe:
    """The shipped calibration recipe, with one meta-choice left: the L2 strength.

    The listwise ranker over a fixed feature set (`SECTION`: every feature that gained
    leave-one-community-out, the late-interaction ones and the best section's BM25
    included), every training set
    counting the same; the L2 strength is the one whose inner leave-one-set-out fits
    `rule` summarises best (`mean`: their mean gain over the hybrid order), and the
    weights are those inner fits averaged (`bag`) rather than a refit on all training
    sets. No method race: choosing among methods by a mean over five sets flipped between
    corners fold to fold (RESULTS.md)."""

    def __init__(self, features: tuple[str, ...] = SECTION, rule: str = "mean",
                 bag: bool = True) -> None:
        self.keep = [FEATURES.index(f) for f in features]
        self.offset = self.keep.index(OFFSET)
        self.rule, self.bag = rule, bag
        self.l2: dict[frozenset[str], float] = {}  # training sets -> the L2 chosen on them

    def __call__(self, training: Mapping[str, Pools], weights: Mapping[str, float]
                 ) -> np.ndarray:
        # by name: the fits are numerical, so the sets' order would move the last digits
        # (rank_calibrate's table and loco_eval's folds list the sets differently)
        reduced = {n: _only(training[n], self.keep) for n in sorted(training)}
        full = np.zeros(len(FEATURES))
        if len(reduced) < 2:  # nothing to hold out: the strongest pull to the hybrid order
            full[self.keep] = fit(list(reduced.values()), [weights[n] for n in reduced],
                                  self.offset, max(L2_OPTIONS))
            return full
        chosen = choose_fits(reduced, weights, self.offset, L2_OPTIONS, objective, self.rule)
        self.l2[frozenset(training)] = chosen.l2
        if self.bag:
            full[self.keep] = bagged(chosen, weights)
        else:
            full[self.keep] = fit(list(reduced.values()), [weights[n] for n in reduced],
                                  self.offset, chosen.l2)
        return full


RECIPE = Recipe()  # one instance, so the report can show the L2 each fold chose
#: the recipe's variants, all measured in the same run. "mean - spread" was the recipe
#: fixed before the first run; it lost there (RESULTS.md says why) and the mean took its
#: place, so the recipe's own rows carry that one choice made having seen the sets
RECIPE_VARIANTS = {
    "recipe (section listwise, equal, L2 by mean, bagged)": RECIPE,
    "recipe before (late listwise, equal, L2 by mean, bagged)": Recipe(LATE),
    "variant: L2 by mean - spread, bagged (fixed first)": Recipe(rule="spread"),
    "variant: L2 by worst set, bagged": Recipe(rule="worst"),
    "variant: L2 by mean - spread, refit": Recipe(rule="spread", bag=False),
    "variant: L2 by mean, refit": Recipe(bag=False),
}


def _inner_score(training: Mapping[str, Pools], weights: Mapping[str, float],
                 features: tuple[str, ...]) -> float:
    """Leave-one-set-out objective within `training` of a listwise fit over `features`."""
    keep = [FEATURES.index(f) for f in features]
    reduced = {n: _only(p, keep) for n, p in training.items()}
    if len(keep) == 1:  # the hybrid score alone: nothing to fit
        return sum(weights[n] * objective(p, np.ones(1)) for n, p in reduced.items()) / sum(
            weights.values())
    total = 0.0
    for left in reduced:
        rest = [n for n in reduced if n != left]
        w = fit([reduced[n] for n in rest], [weights[n] for n in rest], 0, SELECT_L2)
        total += weights[left] * objective(reduced[left], w)
    return total / sum(weights.values())


def loco(sets: Mapping[str, Pools], chooser: Chooser, scheme: str) -> dict[str, np.ndarray]:
    """Each set -> the weights chosen on the other sets."""
    chosen = {}
    for name in sets:
        rest = {n: p for n, p in sets.items() if n != name}
        chosen[name] = chooser(rest, set_weights(list(rest), scheme))
    return chosen


def race_choosers(sets: Mapping[str, Pools]) -> dict[str, Chooser]:
    """The methods the race before this change chose among (the grids' objectives are
    computed once over `sets`; each choice still reads only its training sets)."""
    return {"grid": GridChooser(sets, GRID), "small grid": GridChooser(sets, SMALL_GRID),
            "listwise": Listwise(), "small listwise": Listwise(SMALL),
            "late listwise": Listwise(LATE), "selected listwise": SELECTED}


def race_rows(sets: Mapping[str, Pools], choosers: Mapping[str, Chooser]
              ) -> dict[str, dict[str, np.ndarray]]:
    """Every raced method and set weighting, leave-one-community-out over `sets`."""
    return {f"{label}, {scheme}": loco(sets, chooser, scheme)
            for label, chooser in choosers.items() for scheme in ("equal", "real")}


def race(sets: Mapping[str, Pools], choosers: Mapping[str, Chooser] | None = None
         ) -> np.ndarray:
    """The recipe before this change: the method and set weighting with the best mean
    leave-one-out hit@1 over `sets`, fitted on all of them (its meta-choice flipped from
    fold to fold: RESULTS.md)."""
    choosers = choosers or race_choosers(sets)
    rows = race_rows(sets, choosers)
    best = max(rows, key=lambda m: _mean_hit1(sets, rows[m]))
    label, scheme = best.rsplit(", ", 1)
    return choosers[label](sets, set_weights(list(sets), scheme))


def report(sets: dict[str, Pools]) -> tuple[str, np.ndarray]:
    """The leave-one-out, stability and ablation tables, and the shipped weights: the
    recipe (`RECIPE`) fitted on all sets."""
    choosers = race_choosers(sets)
    methods: dict[str, dict[str, np.ndarray]] = {
        "hybrid": {n: HYBRID_ORDER.weights() for n in sets},
        "previous": {n: PREVIOUS.weights() for n in sets},
        "race (recipe before), per fold": loco(
            sets, lambda training, _: race(training, choosers), "equal")}
    methods.update({label: loco(sets, recipe, "equal")
                    for label, recipe in RECIPE_VARIANTS.items()})
    methods.update(race_rows(sets, choosers))
    shipped = RECIPE(sets, set_weights(list(sets), "equal"))
    lines = ["### Leave-one-community-out", "",
             "group hit@1 / message hit@1 (group hit@3 / message hit@3); every row but "
             "hybrid and previous chosen without the set; mean: (group + message hit@1) / 2 "
             "over the real sets and over all six", "",
             "| method | " + " | ".join(sets) + " | mean real | mean all |",
             "| --- |" + " --- |" * (len(sets) + 2)]
    real = {n: p for n, p in sets.items() if n in REAL}
    for label, chosen in methods.items():
        cells = []
        for name, pools in sets.items():
            f = hits(pools, chosen[name])
            cells.append(f"{f['group hit@1']:.2f} / {f['message hit@1']:.2f} "
                         f"({f['group hit@3']:.2f} / {f['message hit@3']:.2f})")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | "
                     f"{_mean_hit1(real, chosen):.3f} | {_mean_hit1(sets, chosen):.3f} |")
    lines += ["", "Shipped (the recipe fitted on all sets, L2 "
              f"{RECIPE.l2[frozenset(sets)]:g}): " + _describe(shipped), "",
              "### Weights chosen per fold (stability)", "",
              "| method, fold without | L2 | " + " | ".join(FEATURES) + " |",
              "| --- | --- |" + " --- |" * len(FEATURES)]
    for label, chosen in (("race (recipe before)", methods["race (recipe before), per fold"]),
                          ("recipe", methods[next(iter(RECIPE_VARIANTS))])):
        for name, w in chosen.items():
            l2 = RECIPE.l2.get(frozenset(n for n in sets if n != name)) if label == "recipe" \
                else None
            lines.append(f"| {label}, {name} | {'' if l2 is None else f'{l2:g}'} | "
                         + " | ".join(f"{v:.2f}" for v in w) + " |")
    lines += ["", "### Features chosen per fold (selected listwise, equal)", "",
              "| fold without | features, in the order chosen |", "| --- | --- |"]
    for name in sets:
        rest = set_weights([n for n in sets if n != name], "equal")
        lines.append(f"| {name} | {', '.join(SELECTED.select(_pools(sets, rest), rest))} |")
    everything = set_weights(list(sets), "equal")
    lines.append(f"| (all sets) | {', '.join(SELECTED.select(sets, everything))} |")
    lines += ["", *ablation(sets)]
    return "\n".join(lines) + "\n", shipped


def ablation(sets: dict[str, Pools]) -> list[str]:
    """Leave-one-community-out, the recipe over its feature set with each of its features
    withheld in turn, and with each other feature added."""
    lines = ["### Ablation (the recipe, leave-one-community-out)", "",
             "group hit@1 / message hit@1", "",
             "| features | " + " | ".join(sets) + " | mean real | mean all |",
             "| --- |" + " --- |" * (len(sets) + 2)]
    variants: dict[str, tuple[str, ...]] = {"small set": SMALL, "late set": LATE,
                                            "section set (the recipe)": SECTION}
    variants.update({f"without {f}": tuple(x for x in SECTION if x != f)
                     for f in SECTION[1:]})
    variants.update({f"with {f}": (*SECTION, f) for f in FEATURES if f not in SECTION})
    real = {n: p for n, p in sets.items() if n in REAL}
    for label, features in variants.items():
        chosen = loco(sets, Recipe(features), "equal")
        cells = []
        for name, pools in sets.items():
            f = hits(pools, chosen[name])
            cells.append(f"{f['group hit@1']:.2f} / {f['message hit@1']:.2f}")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {_mean_hit1(real, chosen):.3f} "
                     f"| {_mean_hit1(sets, chosen):.3f} |")
    return lines


def _mean_hit1(sets: Mapping[str, Pools], chosen: Mapping[str, np.ndarray]) -> float:
    """Mean over `sets` of (group hit@1 + message hit@1) / 2 under each set's weights."""
    values = []
    for name, pools in sets.items():
        f = hits(pools, chosen[name])
        values.append((f["group hit@1"] + f["message hit@1"]) / 2)
    return float(np.mean(values))


def fastapi_questions(shipped: RankSettings) -> list[str]:
    """hit@1 / hit@3 / MRR on the 70 FastAPI search questions (benchmarks/data), through
    `index.search_many` on the cached FastAPI index, per ranking."""
    questions = load_questions()
    docs = SHARED / "corpora" / "fastapi-docs"
    if not docs.is_dir():
        return []
    settings = indexed_settings(docs)
    conn = db.connect(settings.db_path)
    lines = ["### The 70 FastAPI search questions", "",
             "`benchmarks/data/fastapi_search.jsonl` (every third one held out when the "
             "hybrid fusion was tuned), `index.search_many`, top 10; hit@1 / hit@3 / MRR", "",
             "| ranking | all (70) | holdout |", "| --- | --- | --- |"]
    try:
        for label, rank in (("hybrid", HYBRID_ORDER), ("previous", PREVIOUS),
                            ("shipped", shipped)):
            index = open_index(settings, sqlite_stores(conn), rank)
            ranked = [[h.path for h in hits] for hits in
                      index.search_many([q["text"] for q in questions], top_k=10)]
            cells = []
            for split in ("all", "holdout"):
                keep = [i for i, q in enumerate(questions) if split in ("all", q["split"])]
                h1, h3, mrr = metrics([ranked[i] for i in keep],
                                      [questions[i]["path"] for i in keep])
                cells.append(f"{h1:.3f} / {h3:.3f} / {mrr:.3f}")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    finally:
        conn.close()
    return lines


def _pools(sets: Mapping[str, Pools], names: Mapping[str, float]) -> dict[str, Pools]:
    return {n: sets[n] for n in names}


def search_cost(shipped: RankSettings) -> list[str]:
    """Wall-clock of `index.search_many` over each real set's queries (messages and groups,
    top 10) with the previous and the shipped ranking, in one run, the model computing
    every vector (no embedding cache): what late interaction's part embeddings cost."""
    lines = ["### What the shipped ranking costs at search time", "",
             "`index.search_many` over every labelled message and group of the set, top 10, "
             "the embedding model uncached; texts embedded and seconds, same run", "",
             "| set | previous: texts, s | shipped: texts, s | time ratio |",
             "| --- | --- | --- | --- |"]
    for labelled in load_sets(list(REAL)):
        settings = indexed_settings(labelled.docs)
        conn = db.connect(settings.db_path)
        try:
            queries = [m.text for m in labelled.messages]
            queries += ["\n".join(m.text for m in ms) for ms in labelled.groups().values()]
            cells = []
            for rank in (PREVIOUS, shipped):
                index = open_index(settings, sqlite_stores(conn), rank)
                counter = _Counting(getattr(index.embedder, "inner", index.embedder))
                index.embedder = counter
                started = time.perf_counter()
                index.search_many(queries, top_k=10)
                cells.append((counter.texts, time.perf_counter() - started))
        finally:
            conn.close()
        lines.append(f"| {labelled.name} | {cells[0][0]}, {cells[0][1]:.1f} | {cells[1][0]}, "
                     f"{cells[1][1]:.1f} | {cells[1][1] / cells[0][1]:.2f}x |")
    return lines


class _Counting(Embedder):
    """Counts the texts sent to `inner`."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim, self.texts = inner, inner.name, inner.dim, 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed(texts)


def _only(pools: Pools, keep: list[int]) -> Pools:
    return Pools(pools.kind, pools.features[:, :, keep], pools.size, pools.gold)


def _as_dict(settings: RankSettings) -> dict[str, float]:
    return {name: float(getattr(settings, name)) for name in FEATURES}


def _describe(weights: np.ndarray) -> str:
    return ", ".join(f"{name} {value:.2f}" for name, value in zip(FEATURES, weights,
                                                                    strict=True))


def main(args: list[str]) -> None:
    names = [a for a in args if not a.startswith("--")]
    sets = {s.name: set_pools(s) for s in load_sets(names or None)}
    if not sets:
        sys.exit("no labelled set found (needs ../shared)")
    text, _ = report(sets)
    if not names:
        text += "\n" + "\n".join(fastapi_questions(RankSettings())) + "\n"
        text += "\n" + "\n".join(search_cost(RankSettings())) + "\n"
    header = (f"## Page re-ranking calibration\n\nCommand: `PYTHONPATH=src:benchmarks python "
              f"benchmarks/rank_calibrate.py`. Real sets: {', '.join(REAL)}.\n\n{NOTE}\n\n")
    print(header + text)
    if not names:  # every set: the figures RESULTS.md quotes
        RESULT.write_text(header + text, encoding="utf-8")


def choose_weights(sets: dict[str, Pools]) -> np.ndarray:
    """The weights this calibration ships when it sees only `sets` (loco_eval.py's folds):
    the recipe (`Recipe`) on them."""
    return RECIPE(sets, set_weights(list(sets), "equal"))


if __name__ == "__main__":
    main(sys.argv[1:])
