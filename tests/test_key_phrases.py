"""An insight's key terms are the users' words, never docloop's redaction placeholders."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from docloop.models import Problem
from docloop.stages.cluster import Cluster
from docloop.stages.insights import (
    build_insight,
    community_words,
    document_frequencies,
    key_phrases,
    member_words,
)


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


def test_an_abbreviation_is_not_a_term() -> None:
    """A real Vite ticket listed `e.g` among its key terms ("refresh a non-root route, e.g.
    /about, and get 404")."""
    problems = [_problem(n, f"refresh on a non-root route, e.g. /about {n}, gives 404 i.e. "
                            "nothing is served") for n in range(3)]
    phrases = key_phrases(member_words(problems), len(problems), document_frequencies(problems))
    assert "non-root" in phrases
    assert not {"e.g", "i.e"} & set(phrases)


def test_members_that_share_no_word_get_no_key_terms_line() -> None:
    """Before, the summary read "hit this; key terms: the same problem."."""
    problems = [_problem(0, "vite build hangs forever"), _problem(1, "pydantic rejects my enum")]
    vectors = np.eye(2, dtype=np.float32)
    cluster = Cluster(id="ins_1", centroid=vectors.mean(axis=0), members=[0, 1])
    insight = build_insight(cluster, problems, vectors, {}, datetime.now(UTC),
                            document_frequencies(problems), community_words(problems))
    assert "key terms" not in insight.summary
    assert "hit this. Most representative" in insight.summary


def test_vs_is_a_term_members_may_share() -> None:
    """`vs` abbreviates "versus", but members of a VS Code cluster share it as a name."""
    problems = [_problem(n, f"vs code hangs {n}") for n in range(3)]
    phrases = key_phrases(member_words(problems), len(problems), document_frequencies(problems))
    assert "vs" in phrases


def test_words_that_only_say_it_failed_or_fill_a_sentence_are_no_key_terms() -> None:
    """Real tickets' key terms read "problem, around, property, config, typescript-eslint",
    "defined, circular, import, longer, sure" and, alone, "error"."""
    problems = [_problem(n, f"not sure why, the circular import error is a problem around "
                            f"model {n} and I see it no longer works") for n in range(3)]
    phrases = key_phrases(member_words(problems), len(problems), document_frequencies(problems))
    assert {"circular", "import"} <= set(phrases)
    assert not {"sure", "error", "problem", "around", "see", "longer"} & set(phrases)


def test_the_communitys_own_word_is_no_key_term_in_a_large_run() -> None:
    """Real tickets read "key terms: vite" and "key terms: model, pydantic": the product's
    name is in four of ten of a community's problems and names none of them."""
    others = ("timeout", "cookies", "upload", "locale", "cache", "proxy", "schema", "retry",
              "session", "export", "import", "theme", "plugin", "router", "signal", "queue",
              "mailer", "stream", "socket", "worker", "cursor", "widget", "layout", "tokens",
              "charts", "search")
    problems = [_problem(n, f"acme build fails on windows with path error {n}" if n < 6 else
                         f"acme dashboard {others[n - 6]} question {n}" if n < 14 else
                         f"{others[n - 14]} {n}") for n in range(40)]
    common = community_words(problems)
    assert common == {"acme"}  # 14 of 40 problems; `build`, `windows` only 6
    members = problems[:6]
    phrases = key_phrases(member_words(members), len(members), document_frequencies(problems),
                          common=common)
    assert "acme" not in phrases and {"build", "windows"} <= set(phrases)
    # a small run has no common words: any word its few members share could be one
    assert community_words(problems[:20]) == frozenset()
