"""An insight's key terms are the users' words, never docloop's redaction placeholders."""

from __future__ import annotations

from datetime import UTC, datetime

from docloop.models import Problem
from docloop.stages.insights import document_frequencies, key_phrases, member_words


def _problem(n: int, text: str) -> Problem:
    return Problem(id=f"p{n}", conversation_id=f"c{n}", text=text, timestamp=datetime.now(UTC))


def test_placeholders_are_not_key_terms() -> None:
    problems = [_problem(n, f"my webhook signature fails with token [secret] and mail [email] {n}")
                for n in range(3)]
    phrases = key_phrases(member_words(problems), len(problems), document_frequencies(problems))
    assert "webhook" in phrases and "signature" in phrases
    assert not {"secret", "email"} & set(phrases)


def test_what_is_left_of_a_contraction_is_not_a_term() -> None:
    """`didn't` splits at the apostrophe into `didn` and `t`: a ticket once listed `didn` as
    a key term and as a word users use that the page never mentions."""
    problems = [_problem(n, f"I didn't realize pydantic doesn't forbid extra fields, we've {n}")
                for n in range(3)]
    phrases = key_phrases(member_words(problems), len(problems), document_frequencies(problems))
    assert "extra" in phrases and "forbid" in phrases
    assert not {"didn", "doesn", "ve"} & set(phrases)
    typographic = [_problem(n, f"it won’t build and isn’t cached {n}") for n in range(2)]
    phrases = key_phrases(member_words(typographic), 2, document_frequencies(typographic))
    assert set(phrases) == {"build", "cached"}
