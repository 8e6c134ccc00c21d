"""End-to-end leave-one-community-out evaluation (issue #12's headline), in one run.

The three calibrators each choose their own knobs leave-one-community-out with the
other stages at shipped settings, which were chosen on all sets, the measured one
included. Here every stage's settings are chosen without the measured set X, by the
calibrators' own choosing functions, then the whole loop runs on X with all three:

- clustering (`QualitySettings`): calibrate.py's grid, sweep and `pick`;
- the page re-ranker's weights (`RankSettings`): rank_calibrate.py's recipe (its
  L2 choice and bagged fit included) on the other sets (`choose_weights`);
- the `missing` verdict (`VerdictSettings`): `term_weight` by verdict_calibrate.py's
  `choose` on the labelled groups, then match_replay.py's grid and `choose` on the
  captured insights (swept with that `term_weight` unless its grid has its own).

The run on X is `SetRun.full(quality, verdict=verdict, group_rank=rank)`: the chosen
re-ranker weights rank the match stage's group query (`RunOptions.group_rank`, where
`docloop run` uses them; the members vote on the hybrid order, as shipped), and search
is measured as `docloop eval` measures it (`docloop docs search --top 10`: one query per
message, one per group) with the chosen weights. Each set also gets a row with the
shipped settings and one for the seed-style baseline (quality_bench.run_seed; its search
is the seed's top chunks), all in the same run, plus the pooled `missing` recall and
precision over the real sets.

Each calibrator's per-set sweep does not depend on the fold (only the choice does):
it is computed once per set and cached in benchmarks/.work/loco/ under a fingerprint
of the code, the grid and the set's files (the clustering sweep's, the longest, under
the code it runs only: `cluster_code_files`); the docs indexes and embeddings are
labelled_sets' and rank_sets' caches. The verdict's sweep on each training set is
replayed on that set's insights as the fold's own clustering makes them, its group
query re-ranked with the fold's own weights (captured once per clustering), so no
setting chosen with X among the sets reaches X's fold (before session 8 they were the
shipped clustering and re-ranker: a second-order leak).

Usage: PYTHONPATH=src:benchmarks python benchmarks/loco_eval.py [--quick] [--sets a,b]
[--choose-votes]
`--quick` uses calibrate.py's small clustering grid; `--sets` measures only the named
sets (choices still use every other set); `--choose-votes` adds a step after the verdict
that chooses the vote rule (`group_weight`, `hub_discount`, `vote_k`, match_replay's
VOTE_GRID, most right pages) per fold as well: a reading (RESULTS.md, session 13), not
what ships, whose vote rule no calibrator chooses. Only a run with none of them writes
benchmarks/results/loco_eval.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import calibrate  # noqa: E402
import match_replay  # noqa: E402
import rank_calibrate  # noqa: E402
import verdict_calibrate  # noqa: E402
from baselines import SeedDocs  # noqa: E402
from docloop.backends.docs_index.rerank import FEATURES, RankSettings  # noqa: E402
from docloop.evaluation.metrics import hit_rates, score_insights  # noqa: E402
from docloop.quality import SHIPPED, QualitySettings  # noqa: E402
from docloop.registry import sqlite_stores  # noqa: E402
from docloop.stages.index_docs import open_index  # noqa: E402
from docloop.stages.verdict import VerdictSettings  # noqa: E402
from labelled_sets import SETS, WORK, LabelledSet, SetRun, publish  # noqa: E402
from quality_bench import run_seed  # noqa: E402
from rank_sets import REAL, load_sets  # noqa: E402

RESULTS = HERE / "results" / "loco_eval.md"
CACHE = WORK.parent / "loco"
SRC = HERE.parent / "src" / "docloop"
SEARCH_TOP = 10


@dataclass(frozen=True)
class Choice:
    """The settings of every calibrated stage, as one fold chose them."""

    quality: QualitySettings
    rank: RankSettings
    verdict: VerdictSettings


@dataclass
class Sweeps:
    """Every calibrator's per-set measurements (fold-independent), ready to choose from.

    `rank_choice` and `replayed` are callables so that a fold only computes what it
    needs: the re-ranker's recipe on the training sets, and the verdict grid's replay
    results on the training sets, their insights clustered and their group query
    re-ranked as the fold chose (`replayed(term_weight, quality, rank, sets)`).
    """

    quality_grid: list[QualitySettings]
    quality_scores: dict[str, list[float]]
    groups: dict[str, list[verdict_calibrate.Group]]
    rank_choice: Callable[[list[str]], RankSettings]
    replayed: Callable[[float, QualitySettings, RankSettings, list[str]],
                       dict[str, list[dict[str, Any]]]]
    verdict_options: Callable[[float], list[VerdictSettings]]
    #: with --choose-votes: match_replay's vote rules around a verdict, scored per set
    voted: Callable[[VerdictSettings, QualitySettings, RankSettings, list[str]],
                    dict[str, list[dict[str, Any]]]] | None = None

    def choose(self, on: list[str]) -> Choice:
        """Every stage's settings chosen on the sets `on` only, by each calibrator's rule."""
        everything = list(range(len(self.quality_grid)))
        quality = self.quality_grid[calibrate.pick(self.quality_scores, on, everything)]
        rank = self.rank_choice(on)
        term_weight = verdict_calibrate.choose(self.groups, on).term_weight
        results = self.replayed(term_weight, quality, rank, on)
        verdict = self.verdict_options(term_weight)[match_replay.choose(results, on)]
        if self.voted is not None:
            votes = self.voted(verdict, quality, rank, on)
            verdict = match_replay.vote_options(verdict)[match_replay.choose_votes(votes, on)]
        return Choice(quality, rank, verdict)


def fold_choices(sweeps: Sweeps, names: Sequence[str], measured: Sequence[str]
                 ) -> dict[str, Choice]:
    """Each measured set -> the settings chosen on every other set; "(all sets)" -> the
    settings chosen on all of them (what the calibrators would ship)."""
    chosen = {name: sweeps.choose([n for n in names if n != name]) for name in measured}
    chosen["(all sets)"] = sweeps.choose(list(names))
    return chosen


# -- per-set sweeps, cached ---------------------------------------------------------------

def fingerprint(*parts: object, files: Sequence[Path] = ()) -> str:
    """A short digest of `parts` and the bytes of `files` (the code the result depends on)."""
    digest = hashlib.sha256(repr(parts).encode())
    for path in files:
        digest.update(_portable(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _portable(path: Path) -> str:
    """`path` as the same text in every checkout, so a copied cache is found in a new
    worktree wherever it sits: the repository's files relative to its root, ../shared's
    relative to the folder beside it."""
    for base in (HERE.parent, HERE.parent.parent):
        if path.absolute().is_relative_to(base):
            return path.absolute().relative_to(base).as_posix()
    return str(path)


def code_files() -> list[Path]:
    """docloop's sources and the calibrators this evaluation composes."""
    names = ("labelled_sets", "calibrate", "match_replay", "rank_calibrate", "rank_learn",
             "rank_sets", "verdict_calibrate")
    return sorted(SRC.rglob("*.py")) + [HERE / f"{name}.py" for name in names]


#: sources the clustering sweep (`SetRun.clusters_only`: ingest, extraction, clustering,
#: significance, scoring) never runs: docs indexing and search, page matching, the
#: suggestion, filing and the services. tests/test_loco_eval.py traces a sweep and
#: fails if it runs any of them, so a change here cannot leave a stale sweep behind.
MATCH_SIDE = ("backends/docs_index/", "docs/", "stages/match.py", "stages/verdict.py",
              "stages/propose.py", "stages/search.py", "stages/index_docs.py",
              "stages/enrich.py", "stages/file.py", "stages/track.py", "stages/reply.py",
              "stages/webhooks.py", "backends/analyzers/offline_suggest.py",
              "backends/trackers/", "web/", "aws/", "cli.py")


def cluster_code_files() -> list[Path]:
    """The code the clustering sweep depends on (docloop's sources but `MATCH_SIDE`, and
    the two benchmark modules it runs): a change to page matching, search or the other
    calibrators keeps the sweep (three to six minutes here), any other change makes it
    again."""
    sweeping = [HERE / "labelled_sets.py", HERE / "calibrate.py"]
    return [p for p in sorted(SRC.rglob("*.py")) if not _match_side(p)] + sweeping


def _match_side(path: Path) -> bool:
    if not path.is_relative_to(SRC):
        return False
    relative = path.relative_to(SRC).as_posix()
    return any(relative == part or (part.endswith("/") and relative.startswith(part))
               for part in MATCH_SIDE)


def set_files(labelled: LabelledSet) -> list[Path]:
    """The files that define a set's labels and messages (docs: by path and size)."""
    found = [labelled.labels]
    if labelled.discord is not None:
        found += sorted(labelled.discord.glob("*.json"))
    return found


def docs_listing(labelled: LabelledSet) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(labelled.docs)), p.stat().st_size)
                  for p in labelled.docs.rglob("*") if p.is_file())


def cached(name: str, key: str, compute: Callable[[], Any]) -> Any:
    """`compute()`'s JSON result, kept in CACHE under `name`-`key`."""
    path = CACHE / f"{name}-{key}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    value = compute()
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return value


def replay_for(run: SetRun, code: str, quality: QualitySettings, rank: RankSettings
               ) -> match_replay.Replay:
    """match_replay's capture of the set clustered with `quality` (one per clustering,
    made again when the code or the set changed), its group query re-ranked with `rank`."""
    labelled = run.set
    capture = WORK.parent / f"replay-{labelled.name}-{fingerprint(asdict(quality))}.pkl"
    stamp = capture.with_suffix(".loco-fingerprint")
    key = fingerprint(code, files=set_files(labelled))
    if capture.is_file() and (not stamp.is_file() or stamp.read_text() != key):
        capture.unlink()
    replay = match_replay.Replay(labelled, quality, rank, run, capture)
    stamp.write_text(key)
    return replay


class Measured:
    """The labelled sets with their runs, replays and calibrators' sweeps."""

    def __init__(self, sets: list[LabelledSet], quick: bool) -> None:
        self.sets = {s.name: s for s in sets}
        self.code = fingerprint(files=code_files())
        self.runs = {s.name: SetRun(s) for s in sets}
        self.keys = {s.name: fingerprint(self.code, docs_listing(s), files=set_files(s))
                     for s in sets}
        cluster_code = fingerprint(files=cluster_code_files())
        self.cluster_keys = {s.name: fingerprint(cluster_code, files=set_files(s))
                             for s in sets}
        self.grid = calibrate.candidates(calibrate.QUICK_GRID if quick else calibrate.GRID)
        rank_sets = {s.name: s for s in load_sets(list(self.sets))}
        self.pools = {n: rank_calibrate.set_pools(s) for n, s in rank_sets.items()}
        self.groups = {n: verdict_calibrate.set_groups(s) for n, s in rank_sets.items()}
        self._rank: dict[tuple[str, ...], RankSettings] = {}

    def sweeps(self, choose_votes: bool = False) -> Sweeps:
        return Sweeps(self.grid, self.quality_scores(), self.groups, self.rank_choice,
                      self.replayed, verdict_options, self.voted if choose_votes else None)

    def quality_scores(self) -> dict[str, list[float]]:
        """calibrate.py's objective of every grid setting on every set."""
        grid_key = fingerprint([asdict(q) for q in self.grid])
        return {name: cached(f"quality-{name}", f"{self.cluster_keys[name]}-{grid_key}",
                             partial(quality_sweep, run, self.grid))
                for name, run in self.runs.items()}

    def rank_choice(self, on: list[str]) -> RankSettings:
        """rank_calibrate.py's recipe (`choose_weights`), run on the sets `on` only."""
        key = tuple(sorted(on))
        if key not in self._rank:
            weights = cached(f"rank-{'+'.join(key)}", fingerprint([self.keys[n] for n in key]),
                             partial(rank_weights, {n: self.pools[n] for n in key}))
            self._rank[key] = rank_settings(np.asarray(weights))
        return self._rank[key]

    def replayed(self, term_weight: float, quality: QualitySettings, rank: RankSettings,
                 names: list[str]) -> dict[str, list[dict[str, Any]]]:
        """match_replay's grid (with `term_weight`) scored on the captures of the sets
        `names`, clustered with `quality` and their group query re-ranked with `rank`: what
        the fold chose, so no set's verdict sweep carries settings chosen with the
        measured set among the training sets."""
        options = verdict_options(term_weight)
        key = fingerprint([asdict(o) for o in options], asdict(quality), asdict(rank))
        return {name: cached(f"verdict-{name}", f"{self.keys[name]}-{key}",
                             partial(self._verdict_sweep, name, quality, rank, options))
                for name in names}

    def voted(self, verdict: VerdictSettings, quality: QualitySettings, rank: RankSettings,
              names: list[str]) -> dict[str, list[dict[str, Any]]]:
        """match_replay's vote rules around the fold's `verdict`, scored on the captures of
        the sets `names` as the fold clustered and re-ranked them."""
        options = match_replay.vote_options(verdict)
        key = fingerprint([asdict(o) for o in options], asdict(quality), asdict(rank))
        return {name: cached(f"votes-{name}", f"{self.keys[name]}-{key}",
                             partial(self._verdict_sweep, name, quality, rank, options))
                for name in names}

    def _verdict_sweep(self, name: str, quality: QualitySettings, rank: RankSettings,
                       options: list[VerdictSettings]) -> list[dict[str, Any]]:
        return verdict_sweep(replay_for(self.runs[name], self.code, quality, rank), options)


def quality_sweep(run: SetRun, grid: list[QualitySettings]) -> list[float]:
    """calibrate.py's objective of every grid setting on one set."""
    return calibrate.sweep({run.set.name: run}, grid)[run.set.name]


def verdict_sweep(replay: match_replay.Replay, options: list[VerdictSettings]
                  ) -> list[dict[str, Any]]:
    """match_replay's metrics of every verdict option on one set's captured insights."""
    return [_plain(replay.score(match_replay.shipped_rule(o))) for o in options]


def rank_weights(pools: dict[str, rank_calibrate.Pools]) -> list[float]:
    """rank_calibrate's shipped recipe on `pools` only, as a JSON-safe list."""
    return [float(w) for w in rank_calibrate.choose_weights(pools)]


def verdict_options(term_weight: float) -> list[VerdictSettings]:
    """match_replay's grid, with verdict_calibrate's `term_weight` unless the grid sweeps
    that knob itself."""
    if "term_weight" in match_replay.GRID:
        return match_replay.options()
    return [replace(o, term_weight=term_weight) for o in match_replay.options()]


def rank_settings(weights: np.ndarray) -> RankSettings:
    """Re-ranker weights in `FEATURES` order as `RankSettings` (pool size as shipped)."""
    values: dict[str, Any] = {name: float(w) for name, w in zip(FEATURES, weights, strict=True)}
    return RankSettings(**values)


def _plain(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics a choice reads (JSON-safe; per-group rows dropped)."""
    return {k: v for k, v in metrics.items() if k != "per_group"}


# -- the runs -------------------------------------------------------------------------------

def search_queries(name: str) -> list[tuple[str, str]]:
    """(text, labelled page) of one query per message and one per group with a page, as
    `docloop eval` builds them (runner.search_metrics)."""
    labelled = load_sets([name])[0]
    queries = [(m.text, m.page) for m in labelled.messages if m.page]
    queries += [("\n".join(m.text for m in members), members[0].page)
                for members in labelled.groups().values() if members[0].page]
    return [(text, page) for text, page in queries if page]


def search_hits(expected: Sequence[str], ranked: Sequence[Sequence[str]], messages: int
                ) -> dict[str, float]:
    """Group and message hit@1 / hit@3; the first `messages` queries are the messages'."""
    per_message = hit_rates(expected[:messages], ranked[:messages])
    per_group = hit_rates(expected[messages:], ranked[messages:])
    return {"group_hit1": per_group[1], "group_hit3": per_group[3],
            "message_hit1": per_message[1], "message_hit3": per_message[3]}


def docloop_search(run: SetRun, rank: RankSettings) -> dict[str, float]:
    """Search metrics with the re-ranker at `rank`, through the index as `docs search`."""
    queries = search_queries(run.set.name)
    run.clusters_only(SHIPPED)  # opens the set's in-memory database
    assert run._conn is not None
    index = open_index(run.settings, sqlite_stores(run._conn), rank)
    ranked = [[h.path for h in hits] for hits in
              index.search_many([text for text, _ in queries], SEARCH_TOP)]
    return search_hits([p for _, p in queries], ranked, _message_count(run.set.name))


def seed_search(run: SetRun) -> dict[str, float]:
    """Search metrics of the seed: the pages of the top 1,000-character chunks."""
    queries = search_queries(run.set.name)
    docs = SeedDocs(run.pages(), run.embedder())
    vectors = run.embed([text for text, _ in queries])
    ranked = [docs.top_pages(v, 3) for v in vectors]
    return search_hits([p for _, p in queries], ranked, _message_count(run.set.name))


def _message_count(name: str) -> int:
    return sum(1 for m in load_sets([name])[0].messages if m.page)


def seed_metrics(run: SetRun) -> dict[str, Any]:
    predicted = run_seed(run, False)
    metrics = score_insights(run.gold, predicted)
    metrics["said_missing"] = sum(1 for p in predicted if p.verdict == "missing")
    metrics["search"] = seed_search(run)
    return metrics


def loop_metrics(run: SetRun, choice: Choice) -> dict[str, Any]:
    """The whole loop on the set with `choice`, and its search."""
    metrics = run.full(choice.quality, verdict=choice.verdict, group_rank=choice.rank)
    metrics["search"] = docloop_search(run, choice.rank)
    return metrics


SHIPPED_CHOICE = Choice(SHIPPED, RankSettings(), VerdictSettings())
SYSTEMS = ("chosen without the set", "shipped", "seed-style baseline")


def measure_set(run: SetRun, choice: Choice) -> dict[str, dict[str, Any]]:
    """The set's three rows, measured in this run."""
    return {SYSTEMS[0]: loop_metrics(run, choice), SYSTEMS[1]: loop_metrics(run, SHIPPED_CHOICE),
            SYSTEMS[2]: seed_metrics(run)}


# -- rendering ------------------------------------------------------------------------------

def pooled_missing(rows: Sequence[Mapping[str, Any]]) -> match_replay.Tally:
    """`missing` groups found and insights saying `missing` (right / all), added up."""
    tally = match_replay.Tally()
    for metrics in rows:
        tally = tally.add(dict(metrics))
    return tally


def ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f} ({part}/{whole})" if whole else "n/a (0/0)"


def row(name: str, system: str, m: Mapping[str, Any]) -> str:
    groups, search = m["groups"], m["search"]
    precision = "n/a" if m["missing_precision"] is None else f"{m['missing_precision']:.2f}"
    return (f"| {name} | {system} | {m['groups_recovered']}/{groups} | "
            f"{m['right_page']}/{groups} | {m['right_page_named']}/{groups} | "
            f"{m['missing_found']}/{m['missing_groups']} | "
            f"{precision} ({m['said_missing']}) | {m['bcubed_precision']:.2f} | "
            f"{m['bcubed_recall']:.2f} | {m['bcubed_f1']:.2f} | {m['noise_leak']:.2f} | "
            f"{search['group_hit1']:.2f} / {search['group_hit3']:.2f} | "
            f"{search['message_hit1']:.2f} / {search['message_hit3']:.2f} |")


HEADER = ("| set | settings | recovered | right page | right page named in the ticket | "
          "`missing` found | `missing` precision (insights saying it) | B³ P | B³ R | B³ F1 | "
          "noise leak | search group hit@1 / hit@3 | search message hit@1 / hit@3 |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
          "| ---: |")


def differences(choice: Choice, base: Choice = SHIPPED_CHOICE) -> str:
    """What `choice` sets differently from `base`, stage by stage."""
    parts = []
    quality = {k: v for k, v in asdict(choice.quality).items()
               if v != getattr(base.quality, k)}
    rank = {f.name: round(getattr(choice.rank, f.name), 2) for f in fields(RankSettings)
            if abs(getattr(choice.rank, f.name) - getattr(base.rank, f.name)) >= 0.005}
    verdict = {k: v for k, v in asdict(choice.verdict).items()
               if v != getattr(base.verdict, k)}
    for stage, diff in (("clustering", quality), ("re-ranker", rank), ("verdict", verdict)):
        if diff:
            parts.append(f"{stage}: " + ", ".join(f"{k}={v}" for k, v in diff.items()))
    return "; ".join(parts) or "the shipped settings"


def render(results: Mapping[str, Mapping[str, Mapping[str, Any]]],
           choices: Mapping[str, Choice], command: str, seconds: float) -> list[str]:
    lines = ["## End-to-end leave-one-community-out (issue #12 headline)", "",
             f"Command: `{command}` ({seconds / 60:.1f} min on this run). For each set, every "
             "calibrated stage's settings (clustering, re-ranker weights, `missing` verdict) "
             "were chosen on the *other* sets by the calibrators' own rules, then the whole "
             "loop ran on the set with them; \"shipped\" rows use the shipped settings (chosen "
             "on all sets, the set included); the seed-style baseline is "
             "`quality_bench.run_seed` over messages, its search the seed's top chunks. "
             "Metrics: the `docloop eval` definitions; \"right page named in the ticket\": the "
             "labelled page is the insight's page or one of the next candidates its ticket "
             "names (not an acceptance figure).", "", HEADER]
    for name, systems in results.items():
        lines += [row(name, system, m) for system, m in systems.items()]
    real = [n for n in results if n in REAL]
    if real:
        lines += ["", f"`missing` pooled over the real sets ({', '.join(real)}):", "",
                  "| settings | recall (groups found) | precision (insights right) |",
                  "| --- | --- | --- |"]
        for system in SYSTEMS:
            tally = pooled_missing([results[n][system] for n in real])
            lines.append(f"| {system} | {ratio(tally.found, tally.missing_groups)} | "
                         f"{ratio(tally.said_right, tally.said)} |")
    lines += ["", "Settings chosen without each set that differ from the shipped ones:", ""]
    lines += [f"- {name}: {differences(choice)}" for name, choice in choices.items()]
    return lines


# -- the command ----------------------------------------------------------------------------

def parse(args: list[str], available: Sequence[str]) -> tuple[bool, list[str]]:
    """(--quick, the sets to measure); an unknown set name exits with status 2."""
    quick = "--quick" in args
    names = list(available)
    if "--sets" in args:
        position = args.index("--sets")
        given = args[position + 1].split(",") if position + 1 < len(args) else []
        unknown = [n for n in given if n not in available]
        if not given or unknown:
            print(f"loco_eval: --sets takes a comma-separated list of {', '.join(available)}"
                  f" (got {','.join(unknown) or 'nothing'})", file=sys.stderr)
            sys.exit(2)
        names = given
    return quick, names


def main(args: list[str]) -> None:
    logging.disable(logging.INFO)
    started = time.perf_counter()
    sets = [s for s in SETS if s.available()]
    if not sets:
        sys.exit("no labelled set found (needs ../shared)")
    quick, names = parse(args, [s.name for s in sets])
    measured = Measured(sets, quick)
    choices = fold_choices(measured.sweeps("--choose-votes" in args), list(measured.sets),
                           names)
    print(f"sweeps and choices: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    results = {}
    for name in names:
        results[name] = measure_set(measured.runs[name], choices[name])
        print(f"measured {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    command = "PYTHONPATH=src:benchmarks python benchmarks/loco_eval.py " + " ".join(args)
    lines = render(results, choices, command.strip(), time.perf_counter() - started)
    if quick or "--sets" in args or "--choose-votes" in args:
        print("\n".join(lines))
    else:
        publish(RESULTS, lines)


if __name__ == "__main__":
    main(sys.argv[1:])
