"""The acceptance metrics of `docloop eval` (issue #12), on hand-made predictions."""

from __future__ import annotations

import pytest

from docloop.evaluation.labels import Gold
from docloop.evaluation.metrics import (
    Predicted,
    bcubed,
    hit_rates,
    missing_precision,
    recovered_groups,
    score_insights,
    sharing_a_section,
)

GOLD = Gold(
    groups={"a": "guide/a.md", "b": "guide/b.md", "gap": None},
    messages={"a1": "a", "a2": "a", "a3": "a", "a4": "a", "a5": "a",
              "b1": "b", "b2": "b", "gap1": "gap", "gap2": "gap", "gap3": "gap",
              "n1": None, "n2": None, "n3": None, "n4": None},
)


def test_recovered_needs_max_of_two_and_half_the_group() -> None:
    # a has 5 messages: 3 = ceil(5/2) in one insight recovers it, 2 does not
    assert "a" in recovered_groups(GOLD, [Predicted(["a1", "a2", "a3"], "guide/a.md", "covered")])
    assert "a" not in recovered_groups(GOLD, [Predicted(["a1", "a2"], "guide/a.md", "covered")])
    # b has 2 messages: one of them alone is never enough (at least 2)
    assert "b" not in recovered_groups(GOLD, [Predicted(["b1"], "guide/b.md", "covered")])


def test_noise_counts_against_the_purity_of_a_recovering_insight() -> None:
    diluted = Predicted(["b1", "b2", "n1", "n2", "n3"], "guide/b.md", "covered")
    assert recovered_groups(GOLD, [diluted]) == {}
    half = Predicted(["b1", "b2", "n1", "n2"], "guide/b.md", "covered")
    assert recovered_groups(GOLD, [half]) == {"b": 0}


def test_right_page_counts_missing_verdicts_for_groups_no_page_covers() -> None:
    predicted = [Predicted(["a1", "a2", "a3"], "guide/a.md", "covered"),
                 Predicted(["b1", "b2"], "guide/a.md", "partial"),
                 Predicted(["gap1", "gap2"], None, "missing")]
    result = score_insights(GOLD, predicted)
    assert (result["groups_recovered"], result["right_page"]) == (3, 2)
    assert (result["missing_groups"], result["missing_found"]) == (1, 1)
    rows = {r["group"]: r for r in result["per_group"]}
    assert rows["b"]["predicted_page"] == "guide/a.md" and not rows["b"]["right_page"]
    assert rows["gap"]["verdict"] == "missing" and rows["gap"]["right_page"]


def test_missing_precision_is_the_share_of_missing_insights_about_a_no_page_group() -> None:
    predicted = [Predicted(["gap1", "gap2", "a1"], None, "missing"),
                 Predicted(["a2", "a3", "gap3"], None, "missing"),
                 Predicted(["n1", "n2"], None, "missing")]
    assert missing_precision(GOLD, predicted) == pytest.approx(1 / 3)
    assert missing_precision(GOLD, [Predicted(["a1", "a2"], "guide/a.md", "covered")]) is None


def test_bcubed_treats_unclustered_messages_as_singletons_and_ignores_noise() -> None:
    perfect = {m: i for i, grp in enumerate(("a", "b", "gap"))
               for m, g in GOLD.messages.items() if g == grp}
    assert bcubed(GOLD, perfect) == (1.0, 1.0)
    precision, recall = bcubed(GOLD, {})
    assert precision == 1.0
    assert recall == pytest.approx((5 * (1 / 5) + 2 * (1 / 2) + 3 * (1 / 3)) / 10)


def test_noise_leak_is_the_share_of_noise_messages_in_any_insight() -> None:
    result = score_insights(GOLD, [Predicted(["a1", "a2", "a3", "n1"], "guide/a.md", "covered")])
    assert result["noise_leak"] == pytest.approx(0.25)


def test_insights_sharing_a_section_are_counted_apart_from_missing_ones() -> None:
    predicted = [Predicted(["a1", "a2"], "guide/a.md", "covered", section="Setup"),
                 Predicted(["a3"], "guide/a.md", "partial", section="Setup"),
                 Predicted(["a4"], "guide/a.md", "covered", section="Other"),
                 Predicted(["gap1"], None, "missing"), Predicted(["gap2"], None, "missing")]
    assert sharing_a_section(predicted) == 2
    assert score_insights(GOLD, predicted)["sharing_a_section"] == 2


def test_hit_rates_look_at_the_first_k_pages() -> None:
    rates = hit_rates(["x.md", "y.md"], [["x.md", "y.md"], ["z.md", "w.md", "y.md"]])
    assert rates == {1: 0.5, 3: 1.0}


def test_per_insight_rows_show_merged_groups_noise_and_what_each_recovers() -> None:
    merged = Predicted(["a1", "a2", "a3", "b1", "n1"], "guide/a.md", "covered",
                       "Retries time out", "Retry budget")
    split = Predicted(["b2", "gap1"], None, "missing", "Nothing covers this")
    rows = score_insights(GOLD, [merged, split])["per_insight"]
    assert rows[0]["title"] == "Retries time out" and rows[0]["section"] == "Retry budget"
    assert rows[0]["groups"] == [{"group": "a", "messages": 3, "of": 5},
                                 {"group": "b", "messages": 1, "of": 2},
                                 {"group": None, "messages": 1, "of": None}]
    assert rows[0]["recovers"] == ["a"] and rows[0]["right_page"] == ["a"]
    assert rows[0]["messages"] == 5
    assert rows[1]["page"] is None and rows[1]["verdict"] == "missing"
    assert rows[1]["recovers"] == [] and rows[1]["right_page"] == []
    assert [g["group"] for g in rows[1]["groups"]] == ["b", "gap"]  # ties by name


def test_right_page_named_counts_the_next_candidates_a_ticket_names() -> None:
    """Not an acceptance figure: the labelled page among the pages the ticket names."""
    predicted = [Predicted(["a1", "a2", "a3"], "guide/x.md", "covered",
                           candidates=["guide/y.md", "guide/a.md"]),
                 Predicted(["b1", "b2"], "guide/x.md", "partial", candidates=["guide/y.md"]),
                 Predicted(["gap1", "gap2"], None, "missing", candidates=["guide/z.md"])]
    result = score_insights(GOLD, predicted)
    assert (result["right_page"], result["right_page_named"]) == (1, 2)  # a named; gap missing
    rows = {r["group"]: r for r in result["per_group"]}
    assert rows["a"]["next_candidates"] == ["guide/y.md", "guide/a.md"]
    assert not rows["a"]["right_page"]
    wrong_missing = [Predicted(["a1", "a2", "a3"], None, "missing", candidates=["guide/a.md"])]
    assert score_insights(GOLD, wrong_missing)["right_page_named"] == 0
