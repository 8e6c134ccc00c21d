"""Rare code terms link problems whose wording the embedding keeps apart."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest

from docloop.models import Problem
from docloop.stages.cluster import DEFAULT_THRESHOLD, cluster_problems
from docloop.stages.shared_terms import SharedTerms
from docloop.text import CONTENT_WORDS_LONGEST, _code_terms, code_terms
from tests.helpers import BASE


def problem(i: int, text: str, context: str = "") -> Problem:
    return Problem(id=f"p{i}", conversation_id=str(i), text=text, context=context,
                   timestamp=BASE + timedelta(hours=i))


def test_code_terms_are_parts_of_identifiers_without_generic_words() -> None:
    terms = code_terms('use `@app.on_event("shutdown")` or lifespan, not `def main()`')
    assert terms == {"on_event", "shutdown"}
    assert code_terms("load the model once at startup please") == set()


def test_remembered_code_terms_are_the_computed_ones_and_a_fresh_set_each_time() -> None:
    """`code_terms` is remembered per text (`_code_terms`): a text asked again gives what
    computing it gives, as a set of its own (a caller may add to it); a long text is
    computed, not kept."""
    text = "`BaseModel.model_validate` fails with `ValidationError` on `user_id`"
    first = code_terms(text)
    first.add("changed")
    assert code_terms(text) == set(_code_terms.__wrapped__(text)) == first - {"changed"}
    long = text + " x" * CONTENT_WORDS_LONGEST
    hits = _code_terms.cache_info().hits
    assert code_terms(long) == code_terms(long) == set(_code_terms.__wrapped__(long))
    assert _code_terms.cache_info().hits == hits


def test_rarity_is_idf_scaled_by_the_largest_possible() -> None:
    problems = [problem(0, "`on_event` here"), problem(1, "`on_event` there"),
                problem(2, "`BaseModel` a"), problem(3, "`BaseModel` b `on_event`")]
    terms = SharedTerms(problems, weight=0.15)
    assert terms.rarity["on_event"] == pytest.approx(math.log(4 / 3) / math.log(4))
    assert terms.rarity["basemodel"] == pytest.approx(0.5)


def test_bonus_counts_the_rarest_shared_term_only_for_clusters_holding_it() -> None:
    problems = [problem(0, "`on_event` and `BaseModel`"), problem(1, "`BaseModel` only"),
                problem(2, "`on_event` too"), problem(3, "nothing coded")]
    terms = SharedTerms(problems, weight=0.2)
    terms.index([(0, [0]), (1, [1]), (2, [3])])
    bonus = terms.bonus(2, 3)
    assert bonus[0] == pytest.approx(0.2 * math.log(2) / math.log(4))
    assert bonus[1] == 0.0 and bonus[2] == 0.0
    assert not SharedTerms(problems, weight=0.0).bonus(2, 3).any()


def _two_apart(similarity: float) -> np.ndarray:
    """Two unit vectors at the given cosine."""
    angle = math.acos(similarity)
    return np.array([[1.0, 0.0], [math.cos(angle), math.sin(angle)]], dtype=np.float32)


def test_a_rare_shared_term_joins_paraphrases_just_below_the_threshold() -> None:
    problems = [problem(0, "load my model once at startup", "use `app.on_event` or lifespan"),
                problem(1, "flush metrics when uvicorn stops", "`app.on_event` shutdown hook"),
                problem(2, "unrelated one", "`BaseModel` fields"),
                problem(3, "another unrelated", "`BaseModel` config")]
    vectors = np.vstack([_two_apart(DEFAULT_THRESHOLD - 0.05),
                         np.array([[0.0, -1.0], [-1.0, 0.0]], dtype=np.float32)])
    alone = {"center_shrink": None, "lexical_weight": 0.0, "hub_weight": 0.0}  # the bonus only
    together = cluster_problems(problems, vectors, shared_weight=0.2, **alone)  # type: ignore[arg-type]
    apart = cluster_problems(problems, vectors, shared_weight=0.0, **alone)  # type: ignore[arg-type]
    assert any(set(c.members) == {0, 1} for c in together)
    assert not any({0, 1} <= set(c.members) for c in apart)


def test_a_shared_term_cannot_join_problems_that_are_far_apart() -> None:
    problems = [problem(0, "a", "`on_event`"), problem(1, "b", "`on_event`")]
    clusters = cluster_problems(problems, _two_apart(0.1), center_shrink=None,
                                lexical_weight=0.0)  # the term bonus alone
    assert sorted(len(c.members) for c in clusters) == [1, 1]


def test_a_large_run_looks_up_a_common_terms_holders_among_its_candidates_only() -> None:
    """A term most clusters hold adds candidates only up to `max_holders` holders; a rare
    one still names every holder, near or far (issue #11: walking every holder of a common
    term for every problem is quadratic)."""
    texts = ["`BaseModel` and `frobnicate_widget`"] + ["`BaseModel` here"] * 6 + [
        "`frobnicate_widget` broke"]
    problems = [problem(i, text) for i, text in enumerate(texts)]
    terms = SharedTerms(problems, weight=0.2)
    terms.index((position, [position]) for position in range(1, len(problems)))
    every = terms.rarest_shared(0)
    assert set(every) == set(range(1, 8))
    bounded = terms.rarest_shared(0, within=np.array([2, 3]), max_holders=3)
    assert set(bounded) == {2, 3, 7}  # the common term among the candidates, the rare anywhere
    assert bounded[7] == every[7] and bounded[2] == every[2]
    assert terms.rarest_shared(0, within=np.arange(1, 8), max_holders=3) == every
