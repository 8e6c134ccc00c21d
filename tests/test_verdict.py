"""The `missing` verdict: judged against the run's reference similarity and the users' terms."""

from __future__ import annotations

from dataclasses import replace

import pytest

from docloop.backends.docs_index.terms import PageTerms
from docloop.models import Quote
from docloop.stages.match import agreement, match_insight
from docloop.stages.verdict import (
    ChatWords,
    CoverageEvidence,
    VerdictSettings,
    fit_warning,
    held_reference,
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


def test_a_run_far_from_its_docs_is_held_to_its_models_fit_floor_and_warned() -> None:
    """Docs that do not fit the run sink its median with every insight: the floor holds."""
    shipped = VerdictSettings()
    assert held_reference(0.33, "all-MiniLM-L6-v2", shipped) == pytest.approx(0.50)
    assert held_reference(0.61, "all-MiniLM-L6-v2", shipped) == pytest.approx(0.61)
    assert held_reference(None, "all-MiniLM-L6-v2", shipped) is None
    warned = fit_warning(0.33, "all-MiniLM-L6-v2", shipped)
    assert warned is not None and "0.33" in warned and "index-docs" in warned
    assert fit_warning(0.61, "all-MiniLM-L6-v2", shipped) is None
    # another model's similarities have another scale: no floor it was not measured for
    assert held_reference(0.33, "openai:text-embedding-3-small", shipped) == pytest.approx(0.33)
    assert fit_warning(0.33, "openai:text-embedding-3-small", shipped) is None
    assert held_reference(0.33, "x", replace(shipped, fit_floor=0.4)) == pytest.approx(0.4)
    assert fit_warning(0.33, "x", replace(shipped, fit_floor=0.4)) is not None
    assert held_reference(0.33, "all-MiniLM-L6-v2", replace(shipped, fit_floor=0)) == (
        pytest.approx(0.33))
    assert fit_warning(0.33, "all-MiniLM-L6-v2", replace(shipped, fit_floor=0)) is None
    assert fit_warning(0.50, "all-MiniLM-L6-v2", shipped) is None  # at the floor: it fits
    just_below = fit_warning(0.4999, "all-MiniLM-L6-v2", shipped)
    assert just_below is not None and "no closer than 0.49 " in just_below


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
    assert is_missing(CoverageEvidence(0.595, 0.5, messages=4), 0.70, sized)  # the yardstick
    assert is_missing(CoverageEvidence(0.595, 0.5), 0.70, sized)  # size unknown: plain gap
    assert not is_missing(CoverageEvidence(0.595, 0.5, messages=2), 0.70, sized)  # +0.041
    assert is_missing(CoverageEvidence(0.62, 0.5, messages=9), 0.70, sized)  # -0.033
    assert size_allowance(2, sized) == pytest.approx(0.2 * (2 ** -0.5 - 0.5))


def test_an_insight_is_as_large_as_its_chat_messages_not_its_problems() -> None:
    """Two threads of seven messages each are fourteen messages of evidence: the gap asked
    of two stray single messages is not asked of them."""
    sized = replace(SETTINGS, term_weight=0.0, unknown_weight=0.0, size_margin=0.3)
    index = ScriptedIndex({"combined": [hit("a.md", 0.9, similarity=0.62)]}, {"a.md": 0.62})
    threads = ["rate limit thread: seven messages", "another rate limit thread"]
    two_messages = an_insight()
    two_threads = an_insight().model_copy(update={"message_ids": [f"m{i}" for i in range(14)]})
    # 0.13 below the reference of 0.75: past the plain gap (0.1), not past 0.1 + 0.062
    assert match_insight(two_messages, CENTROID, index, reference=0.75, settings=sized,
                         words=threads)[0].verdict != "missing"
    assert match_insight(two_threads, CENTROID, index, reference=0.75, settings=sized,
                         words=threads)[0].verdict == "missing"


def test_chat_words_count_problems_not_repeats_and_travel_only_the_members_words() -> None:
    run = ChatWords.of_run(["say say hello", "I say pyinstaller", "heap heap"])
    assert run.counts["say"] == 2 and run.counts["heap"] == 1 and run.problems == 3
    members = run.of_members(["say heap"])
    assert members == ChatWords({"heap": 1, "say": 2}, 3)


def test_words_much_of_the_run_writes_are_not_unknown_however_no_page_uses_them() -> None:
    members = ["I'd say pyinstaller drops pydantic_core", "pyinstaller again, I say"]
    others = [f"question {i}: I say it fails" for i in range(8)] + ["unrelated words"] * 10
    chat = ChatWords.of_run(members + others).of_members(members)
    assert "say" in unknown_terms(members, DOCS)  # no page says it
    # 8 of the 18 other problems write `say`: everyday chat; nobody else writes `pyinstaller`
    assert unknown_terms(members, DOCS, chat, share=0.1) == ["pyinstaller"]
    assert "say" in unknown_terms(members, DOCS, chat, share=0.5)
    assert "say" in unknown_terms(members, DOCS, chat)  # share 1.0: the filter is off


def test_members_agreeing_on_a_page_count_against_missing_and_disagreeing_does_not() -> None:
    agreeing = VerdictSettings(below_reference=0.1, term_weight=0.0, unknown_weight=0.0,
                               size_margin=0.0, min_reference=3, agree_weight=0.4)
    far = 0.45  # 0.25 below the reference of 0.70: past the gap (0.1) by 0.15
    assert not is_missing(CoverageEvidence(far, 0.5, agreement=1.0), 0.70, agreeing)  # +0.2
    assert is_missing(CoverageEvidence(far, 0.5, agreement=0.75), 0.70, agreeing)  # +0.1
    # half or fewer agreeing is no evidence either way: no credit, no debit
    assert is_missing(CoverageEvidence(far, 0.5, agreement=0.0), 0.70, agreeing)
    assert not is_missing(CoverageEvidence(0.61, 0.5, agreement=0.0), 0.70, agreeing)
    assert is_missing(CoverageEvidence(far, 0.5), 0.70, agreeing)  # no voters: no credit


def test_agreement_is_the_share_of_members_whose_search_put_the_page_first() -> None:
    assert agreement(["a.md", "a.md", "b.md", "a.md"], "a.md") == pytest.approx(0.75)
    assert agreement(["b.md", "c.md"], "a.md") == 0.0
    assert agreement(["a.md"], "a.md") is None  # one member agrees with itself
    assert agreement([], "a.md") is None


def test_match_credits_members_that_all_put_the_page_first() -> None:
    asked = an_insight()
    far = [hit("a.md", 0.9, similarity=0.45)]
    index = ScriptedIndex({"combined": far, "cron": far}, {"a.md": 0.45},
                          page_text="cors origins credentials")
    members = [("cron at 9 local", CENTROID), ("cron in summer time", CENTROID),
               ("cron hour late", CENTROID)]
    plain = replace(SETTINGS, agree_weight=0.0)
    assert match_insight(asked, CENTROID, index, members, reference=0.75,
                         settings=plain)[0].verdict == "missing"
    assert match_insight(asked, CENTROID, index, members, reference=0.75,
                         settings=replace(SETTINGS, agree_weight=0.8))[0].path == "a.md"


def test_members_that_share_no_word_never_say_missing() -> None:
    """A real Pydantic insight paired one user's "I see the same issue as well" with another's
    `LazyValue` rebuild error and said no page covers it: there is no problem to place."""
    from datetime import UTC, datetime

    from docloop.models import Problem
    from docloop.stages.insights import shared_words

    def problem(n: int, text: str) -> Problem:
        return Problem(id=f"p{n}", conversation_id=f"c{n}", title=text, text=text,
                       timestamp=datetime(2026, 12, 1, tzinfo=UTC))

    chance = [problem(1, "I see the same issue as well. For now my workaround is an ugly hack "
                         'to do .rstrip("/")'),
              problem(2, "If you try to rebuild the bar, Foo will be rebuilt too. LazyValue is "
                         "not defined, so an error occurs.")]
    heap = [problem(1, "vite build: JavaScript heap out of memory"),
            problem(2, "FATAL ERROR: Reached heap limit during yarn build")]
    assert shared_words(chance) == 0 and shared_words(heap) >= 2
    asked = an_insight()
    asked.quotes = [Quote(message_id="1", author="u", text="`pyinstaller` frozen `--onefile`")]
    index = ScriptedIndex({"combined": [hit("a.md", 0.9, similarity=0.55)]}, {"a.md": 0.55},
                          page_text="nothing about it")
    matches = [match_insight(asked, CENTROID, index, reference=0.75, settings=SETTINGS,
                             shared=shared)[0] for shared in (None, 2, 0)]
    assert [m.verdict for m in matches[:2]] == ["missing", "missing"]
    assert matches[2].verdict != "missing" and matches[2].path == "a.md"


def test_a_chance_cluster_in_a_small_run_is_not_missing_by_the_floor_either() -> None:
    """Without a run reference the absolute floor decides, on its own early path in
    match_insight; the chance-cluster veto holds there too."""
    asked = an_insight()
    index = ScriptedIndex({"combined": [hit("a.md", 0.9, similarity=0.30)]}, {"a.md": 0.30})
    floor = [match_insight(asked, CENTROID, index, reference=None, settings=SETTINGS,
                           shared=shared)[0] for shared in (None, 0)]
    assert floor[0].verdict == "missing"
    assert floor[1].verdict != "missing" and floor[1].path == "a.md"


def test_term_coverage_reads_the_sections_headings() -> None:
    """A users' term the page names only in a heading ("Alternative Events (deprecated)")
    is on the page: a chunk's text leaves its heading out."""
    from docloop.models import DocChunk
    from docloop.stages.verdict import term_coverage
    from tests.helpers import insight

    line = "deprecated deprecated deprecated"
    asked = insight(messages=("1", "2", "3"), quotes=(line, line, line))
    chunk = DocChunk(id="c1", path="a.md", url="u", title="Events", heading="Events (deprecated)",
                     heading_path=["Events (deprecated)"], text="Declare a startup handler.")
    assert term_coverage(asked, [chunk]) > term_coverage(
        asked, [chunk.model_copy(update={"heading": "Events", "heading_path": ["Events"]})])
