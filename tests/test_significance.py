"""Significance grows with users and conversations, and explains itself."""

from __future__ import annotations

from datetime import timedelta

from docloop.models import Problem
from docloop.stages.significance import significance
from tests.helpers import BASE


def _problem(cid: str, author: str, days_ago: float) -> Problem:
    return Problem(id=cid, conversation_id=cid, text="x", author_ids=[author],
                   timestamp=BASE - timedelta(days=days_ago))


def test_more_users_score_higher() -> None:
    few = [_problem("1", "a", 1), _problem("2", "a", 2)]
    many = [_problem("1", "a", 1), _problem("2", "b", 2)]
    assert significance(many, 1, 2, BASE).score > significance(few, 1, 2, BASE).score


def test_stale_problems_score_lower_and_growth_is_reported() -> None:
    fresh = [_problem("1", "a", 1), _problem("2", "b", 2)]
    stale = [_problem("1", "a", 40), _problem("2", "b", 41)]
    assert significance(fresh, 1, 2, BASE).score > significance(stale, 1, 2, BASE).score
    growing = significance(fresh, 1, 2, BASE)
    assert growing.growth == 3.0
    assert any(r.startswith("growing") for r in growing.reasons)
    assert "2 distinct users" in growing.reasons


def test_same_data_same_score() -> None:
    problems = [_problem("1", "a", 3), _problem("2", "b", 9)]
    assert significance(problems, 2, 5, BASE) == significance(problems, 2, 5, BASE)
