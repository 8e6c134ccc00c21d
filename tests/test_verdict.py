"""The `missing` verdict: judged against the run's reference similarity and the users' terms."""

from __future__ import annotations

import pytest

from docloop.backends.docs_index.terms import PageTerms
from docloop.models import Quote
from docloop.stages.match import match_insight
from docloop.stages.verdict import (
    CoverageEvidence,
    VerdictSettings,
    is_missing,
    reference_similarity,
    size_allowance,
    unknown_terms,
)
from tests.test_match import CENTROID, ScriptedIndex, an_insight, hit

SETTINGS = VerdictSettings(below_reference=0.1, term_weight=0.2, min_reference=3,
                           fallback_missing=0.38, unknown_weight=0.1, unknown_cap=3,
                           size_margin=0.0)
DOCS = PageTerms.build([
    ("install.md", "Installation", ["Install with pip"], "pip install pydantic; wheels for"
     " every platform"),
    ("models.md", "Models", ["Fields"], "A model's fields are validated on creation."),
])


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


def test_unknown_terms_are_shared_words_no_page_uses() -> None:
    members = ["PyInstaller build fails: ModuleNotFoundError pydantic_core",
               "my pyinstaller exe says ModuleNotFoundError after install",
               "frozen app cannot import the model fields"]
    # shared by two members and in no page; `install` and `model` are on pages,
    # `frozen` is one member's word only
    assert unknown_terms(members, DOCS) == ["modulenotfounderror", "pyinstaller"]
    assert unknown_terms(["lonely pyinstaller question"], DOCS) == [
        "lonely", "pyinstaller", "question"]
    assert unknown_terms([], DOCS) == []


def test_words_no_page_uses_make_a_moderate_gap_missing() -> None:
    near = CoverageEvidence(similarity=0.66, coverage=0.5)
    assert not is_missing(near, reference=0.72, settings=SETTINGS)  # 0.06 below: not enough
    assert not is_missing(CoverageEvidence(0.66, 0.5, unknown=1), 0.72, SETTINGS)
    assert is_missing(CoverageEvidence(0.66, 0.5, unknown=2), 0.72, SETTINGS)
    # capped: ten unknown words weigh what three do, and a close page stays
    assert not is_missing(CoverageEvidence(0.75, 0.5, unknown=10), 0.72, SETTINGS)
    assert is_missing(CoverageEvidence(0.75, 0.5, unknown=10), 0.86, SETTINGS)


def test_match_counts_the_members_words_the_docs_never_use() -> None:
    asked = an_insight()
    index = ScriptedIndex({"combined": [hit("a.md", 0.9, similarity=0.62)]}, {"a.md": 0.62},
                          page_text="cors origins credentials heap")
    known = ["cors origins fail with credentials", "credentials and cors origins again"]
    unknown = ["fatal javascript heap allocation failed on the vps",
               "vps build: fatal heap allocation failed"]
    assert match_insight(asked, CENTROID, index, reference=0.75, settings=SETTINGS,
                         words=known)[0].verdict != "missing"
    assert match_insight(asked, CENTROID, index, reference=0.75, settings=SETTINGS,
                         words=unknown)[0].verdict == "missing"


def test_a_small_insight_needs_a_larger_gap_and_a_large_one_a_smaller() -> None:
    sized = VerdictSettings(below_reference=0.1, term_weight=0.0, unknown_weight=0.0,
                            size_margin=0.2, min_reference=3)
    # 0.105 below the reference: past the plain gap (0.1)
    assert is_missing(CoverageEvidence(0.595, 0.5, members=4), 0.70, sized)  # the yardstick
    assert is_missing(CoverageEvidence(0.595, 0.5), 0.70, sized)  # size unknown: plain gap
    assert not is_missing(CoverageEvidence(0.595, 0.5, members=2), 0.70, sized)  # +0.041
    assert is_missing(CoverageEvidence(0.62, 0.5, members=9), 0.70, sized)  # -0.033
    assert size_allowance(2, sized) == pytest.approx(0.2 * (2 ** -0.5 - 0.5))
