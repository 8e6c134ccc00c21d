"""The `missing` verdict: judged against the run's reference similarity and the users' terms."""

from __future__ import annotations

import pytest

from docloop.models import Quote
from docloop.stages.match import match_insight
from docloop.stages.verdict import (
    CoverageEvidence,
    VerdictSettings,
    is_missing,
    reference_similarity,
)
from tests.test_match import CENTROID, ScriptedIndex, an_insight, hit

SETTINGS = VerdictSettings(below_reference=0.1, term_weight=0.2, min_reference=3,
                           fallback_missing=0.38)


def test_reference_is_the_median_and_needs_enough_insights() -> None:
    assert reference_similarity([0.7, 0.5, 0.6], SETTINGS) == pytest.approx(0.6)
    assert reference_similarity([0.7, 0.5, 0.6, 0.9], SETTINGS) == pytest.approx(0.65)
    assert reference_similarity([0.7, 0.5], SETTINGS) is None


def test_the_same_similarity_is_missing_in_one_run_and_covered_in_another() -> None:
    evidence = CoverageEvidence(similarity=0.55, coverage=0.5)
    assert is_missing(evidence, reference=0.70, settings=SETTINGS)  # others come much closer
    assert not is_missing(evidence, reference=0.60, settings=SETTINGS)


def test_a_page_lacking_the_users_terms_needs_less_of_a_gap() -> None:
    lacking = CoverageEvidence(similarity=0.62, coverage=0.0)
    having = CoverageEvidence(similarity=0.62, coverage=1.0)
    assert is_missing(lacking, reference=0.75, settings=SETTINGS)
    assert not is_missing(having, reference=0.75, settings=SETTINGS)


def test_without_a_reference_the_absolute_floor_decides() -> None:
    assert is_missing(CoverageEvidence(0.37, 1.0), None, SETTINGS)
    assert not is_missing(CoverageEvidence(0.39, 0.0), None, SETTINGS)


def test_match_says_missing_when_the_run_reference_is_far_above() -> None:
    asked = an_insight()
    asked.quotes = [Quote(message_id="1", author="u", text="`pyinstaller` frozen `--onefile`")]
    index = ScriptedIndex({"combined": [hit("a.md", 0.9, similarity=0.55)]}, {"a.md": 0.55},
                          page_text="nothing about it")
    match, chunks = match_insight(asked, CENTROID, index, reference=0.75, settings=SETTINGS)
    assert match.verdict == "missing" and match.path is None and chunks == []
    assert [h.path for h in match.alternatives] == ["a.md"]
    match, chunks = match_insight(asked, CENTROID, index, reference=0.52, settings=SETTINGS)
    assert match.verdict == "partial" and match.path == "a.md" and chunks
