"""benchmarks/loco_eval.py's pure parts: fold choices, pooled `missing`, rendering.

No loop is run: the calibrators' sweeps are given as numbers, and the choosing
rules are the calibrators' own (calibrate.pick, verdict_calibrate.choose,
match_replay.choose), so these tests check how the folds compose them.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest

from docloop.backends.docs_index.rerank import RankSettings
from docloop.quality import SHIPPED, QualitySettings
from docloop.stages import enrich
from docloop.stages.verdict import VerdictSettings

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def loco() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    import loco_eval

    return loco_eval


def metrics(right: int, found: int, said: int, precision: float | None,
            missing_groups: int = 2, groups: int = 10) -> dict[str, Any]:
    """The fields of a `docloop eval` result that the choices and pooling read."""
    return {"groups": groups, "groups_recovered": right, "right_page": right,
            "right_page_named": right,
            "missing_groups": missing_groups, "missing_found": found,
            "missing_precision": precision, "said_missing": said, "bcubed_precision": 0.8,
            "bcubed_recall": 0.6, "bcubed_f1": 0.69, "noise_leak": 0.05, "insights": 9,
            "search": {"group_hit1": 0.5, "group_hit3": 0.9, "message_hit1": 0.4,
                       "message_hit3": 0.8}}


def sweeps(loco: ModuleType, rank_calls: list[list[str]], replay_calls: list[Any]) -> Any:
    """Three sets whose best clustering setting differs with the set left out."""
    import verdict_calibrate

    grid = [SHIPPED, replace(SHIPPED, cluster_threshold=0.35),
            replace(SHIPPED, cluster_threshold=0.275)]
    scores = {"a": [1.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0], "c": [0.0, 0.4, 0.5]}
    group = verdict_calibrate.Group
    groups = {"a": [group("a1", True, 0.30, 0.2), group("a2", False, 0.60, 0.9)],
              "b": [group("b1", True, 0.35, 0.1), group("b2", False, 0.55, 0.8)],
              "c": [group("c1", False, 0.50, 0.7), group("c2", False, 0.62, 0.9)]}
    options = [VerdictSettings(below_reference=0.12), VerdictSettings(below_reference=0.21)]
    # option 1 finds `missing` on a and b; option 0 only on c
    results = {"a": [metrics(5, 0, 0, None), metrics(6, 2, 2, 1.0)],
               "b": [metrics(5, 0, 1, 0.0), metrics(5, 1, 2, 0.5)],
               "c": [metrics(5, 1, 1, 1.0), metrics(4, 0, 3, 0.0)]}

    def rank_choice(on: list[str]) -> RankSettings:
        rank_calls.append(sorted(on))
        return RankSettings(topic=float(len(on)))

    def replayed(term_weight: float, quality: QualitySettings, rank: RankSettings,
                 names: list[str]) -> dict[str, list[dict[str, Any]]]:
        replay_calls.append((term_weight, quality.cluster_threshold, rank.topic, sorted(names)))
        return {n: results[n] for n in names}

    def verdict_options(term_weight: float) -> list[VerdictSettings]:
        return [replace(o, term_weight=term_weight) for o in options]

    return loco.Sweeps(grid, scores, groups, rank_choice, replayed, verdict_options)


def test_each_fold_chooses_every_stage_on_the_other_sets_only(
        loco: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    import match_replay
    import verdict_calibrate

    # match_replay.choose breaks ties by grid neighbours: the fake's two options are a grid
    monkeypatch.setattr(match_replay, "GRID", {"below_reference": (0.12, 0.21)})

    rank_calls: list[list[str]] = []
    replay_calls: list[Any] = []
    given = sweeps(loco, rank_calls, replay_calls)
    chosen = loco.fold_choices(given, ["a", "b", "c"], ["a", "b", "c"])

    assert chosen["a"].quality.cluster_threshold == 0.35  # best mean on b, c
    assert chosen["b"].quality.cluster_threshold == SHIPPED.cluster_threshold  # on a, c
    assert chosen["c"].quality.cluster_threshold == SHIPPED.cluster_threshold  # tie: first
    assert chosen["(all sets)"].quality.cluster_threshold == 0.35
    assert rank_calls == [["b", "c"], ["a", "c"], ["a", "b"], ["a", "b", "c"]]
    assert chosen["a"].rank.topic == 2.0 and chosen["(all sets)"].rank.topic == 3.0
    for name, others in (("a", ["b", "c"]), ("c", ["a", "b"])):
        term = verdict_calibrate.choose(given.groups, others).term_weight
        assert chosen[name].verdict.term_weight == term
    # each fold's verdict is swept on its training sets only, clustered and re-ranked as
    # that fold chose (not with the shipped settings, chosen with the held-out set)
    assert replay_calls[0] == (chosen["a"].verdict.term_weight, 0.35, 2.0, ["b", "c"])
    assert replay_calls[-1][1:] == (0.35, 3.0, ["a", "b", "c"])
    # pooled `missing` F1 on a, b: option 1 finds 3/4 at precision 3/4, option 0 none;
    # on b, c: option 0 finds 1/4 at 1/2 (F1 0.33), option 1 1/4 at 1/5 (F1 0.22)
    assert chosen["c"].verdict.below_reference == 0.21
    assert chosen["a"].verdict.below_reference == 0.12


def test_choose_votes_picks_the_vote_rule_per_fold_after_the_verdict(
        loco: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--choose-votes`: after each fold's verdict, the vote rule with the most right pages on
    that fold's training sets, swept around that verdict (without it nothing changes)."""
    import match_replay

    monkeypatch.setattr(match_replay, "GRID", {"below_reference": (0.12, 0.21)})
    monkeypatch.setattr(match_replay, "VOTE_GRID", {"vote_k": (1.0, 3.0)})
    # right pages with vote_k 1 / 3: 5/6 on a, 5/4 on b, 5/7 on c
    votes = {"a": [metrics(5, 0, 0, None), metrics(6, 0, 0, None)],
             "b": [metrics(5, 0, 0, None), metrics(4, 0, 0, None)],
             "c": [metrics(5, 0, 0, None), metrics(7, 0, 0, None)]}
    calls: list[Any] = []

    def voted(verdict: VerdictSettings, quality: QualitySettings, rank: RankSettings,
              names: list[str]) -> dict[str, list[dict[str, Any]]]:
        calls.append((verdict.below_reference, sorted(names)))
        return {n: votes[n] for n in names}

    given = replace(sweeps(loco, [], []), voted=voted)
    chosen = loco.fold_choices(given, ["a", "b", "c"], ["a", "b", "c"])
    assert calls[0] == (chosen["a"].verdict.below_reference, ["b", "c"])
    assert chosen["a"].verdict.vote_k == 3.0  # b, c: 11 against 10
    assert chosen["c"].verdict.vote_k == 1.0  # a, b: 10 and 10, the first kept
    assert chosen["a"].verdict.below_reference == 0.12  # the verdict's own choice stays
    plain = loco.fold_choices(sweeps(loco, [], []), ["a", "b", "c"], ["a"])
    assert plain["a"].verdict.vote_k == VerdictSettings().vote_k


def test_pooled_missing_adds_counts_not_ratios(loco: ModuleType) -> None:
    tally = loco.pooled_missing([metrics(10, 1, 3, 1 / 3, missing_groups=3),
                                 metrics(12, 3, 4, 0.75, missing_groups=4),
                                 metrics(5, 0, 0, None, missing_groups=0)])
    assert (tally.found, tally.missing_groups) == (4, 7)
    assert (tally.said_right, tally.said) == (4, 7)
    assert loco.ratio(tally.found, tally.missing_groups) == "0.57 (4/7)"
    assert loco.ratio(0, 0) == "n/a (0/0)"


def test_search_hits_split_messages_from_groups(loco: ModuleType) -> None:
    expected = ["p", "q", "r", "p"]
    ranked = [["p", "x"], ["x", "y", "q"], ["x"], ["y", "p"]]
    found = loco.search_hits(expected, ranked, messages=3)
    assert found == {"group_hit1": 0.0, "group_hit3": 1.0,
                     "message_hit1": pytest.approx(1 / 3), "message_hit3": pytest.approx(2 / 3)}


def test_render_shows_every_row_the_pool_and_what_moved(loco: ModuleType) -> None:
    systems = {loco.SYSTEMS[0]: metrics(7, 1, 3, 1 / 3, missing_groups=3),
               loco.SYSTEMS[1]: metrics(8, 2, 2, 1.0, missing_groups=3),
               loco.SYSTEMS[2]: metrics(1, 0, 0, None, missing_groups=3)}
    moved = loco.Choice(replace(SHIPPED, cluster_threshold=0.35), RankSettings(topic=2.0),
                        VerdictSettings(term_weight=0.1))
    text = "\n".join(loco.render({"pydantic": systems}, {"pydantic": moved},
                                 "python benchmarks/loco_eval.py", 90.0))
    assert "`python benchmarks/loco_eval.py` (1.5 min" in text
    assert ("| pydantic | chosen without the set | 7/10 | 7/10 | 7/10 | 1/3 | 0.33 (3) | 0.80 | "
            "0.60 | 0.69 | 0.05 | 0.50 / 0.90 | 0.40 / 0.80 |") in text
    assert "| seed-style baseline | 0.00 (0/3) | n/a (0/0) |" in text
    assert "| shipped | 0.67 (2/3) | 1.00 (2/2) |" in text
    assert ("- pydantic: clustering: cluster_threshold=0.35; re-ranker: topic=2.0; "
            "verdict: term_weight=0.1") in text
    assert loco.differences(loco.SHIPPED_CHOICE) == "the shipped settings"


def test_the_group_query_is_re_ranked_with_the_runs_group_rank() -> None:
    """loco_eval hands each fold's weights to the loop as RunOptions.group_rank."""
    asked: list[RankSettings] = []

    class Docs:
        def search_ranked(self, query: str, k: int, rank: RankSettings) -> list[object]:
            asked.append(rank)
            return []

    chosen = RankSettings(topic=3.0, bm25=0.1)
    docs = cast(Any, Docs())
    enrich.group_hits(["a", "b"], docs, VerdictSettings(), chosen)
    enrich.group_hits(["a", "b"], docs, VerdictSettings(group_breadth=0.5), chosen)
    enrich.group_hits(["a", "b"], docs, VerdictSettings())
    assert asked == [chosen, replace(chosen, breadth=0.5), RankSettings()]


def test_an_unknown_set_exits_with_status_2(loco: ModuleType,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert loco.parse(["--quick", "--sets", "vite"], ["pydantic", "vite"]) == (True, ["vite"])
    with pytest.raises(SystemExit) as stopped:
        loco.parse(["--sets", "vite,nope"], ["pydantic", "vite"])
    assert stopped.value.code == 2
    assert "got nope" in capsys.readouterr().err


def test_the_clustering_sweep_runs_no_match_side_code(
        loco: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The clustering sweep's cache is keyed without `MATCH_SIDE`'s files, so a sweep
    must never run them: trace one (ingest included, on the bundled example) and look."""
    import calibrate
    import labelled_sets

    monkeypatch.setattr(labelled_sets, "WORK", tmp_path / "sets")
    example = next(s for s in labelled_sets.SETS if s.name == "tidepool")
    run = labelled_sets.SetRun(example)  # indexes the docs: match side, not traced
    settings = [SHIPPED, *(q for q in calibrate.candidates(calibrate.QUICK_GRID)
                           if q.fragment_quantile is not None)][:2]
    ran: set[str] = set()

    def note(frame: Any, event: str, arg: object) -> None:
        if event == "call":
            ran.add(frame.f_code.co_filename)

    sys.setprofile(note)
    try:
        scores = [run.clusters_only(q) for q in settings]
    finally:
        sys.setprofile(None)
        run.close()
    assert all(s["groups_recovered"] > 0 for s in scores)  # it did cluster
    sources = {Path(f).resolve() for f in ran if f.endswith(".py")}
    swept = {p for p in sources if p.is_relative_to(loco.SRC)}
    assert loco.SRC / "stages" / "cluster.py" in swept
    assert not {p for p in swept if p not in loco.cluster_code_files()}


def test_a_cache_key_is_the_same_in_every_checkout(loco: ModuleType, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Fingerprints name files relative to the repository's root, so caches copied into
    another worktree are found (main in /work/main, a worktree in /work/wt/lead9: keyed from
    the folder above the repository they differed); the bytes still count."""
    keys = []
    for checkout in ("main", "wt/lead9"):
        source = tmp_path / checkout / "src" / "x.py"
        source.parent.mkdir(parents=True)
        source.write_text("x = 1\n")
        monkeypatch.setattr(loco, "HERE", tmp_path / checkout / "benchmarks")
        keys.append(loco.fingerprint("grid", files=[source]))
        source.write_text("x = 2\n")
        keys.append(loco.fingerprint("grid", files=[source]))
        labels = (tmp_path / checkout).parent / "shared" / "messages.jsonl"
        labels.parent.mkdir(parents=True, exist_ok=True)
        labels.write_text("{}\n")
        keys.append(loco.fingerprint("set", files=[labels]))
    assert keys[0] == keys[3] and keys[1] == keys[4] and keys[0] != keys[1]
    assert keys[2] == keys[5]
