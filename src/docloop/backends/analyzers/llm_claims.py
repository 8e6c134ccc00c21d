"""An extraction answer, judged claim by claim.

A model that gets one problem of fifty wrong (an empty quote list, a quote
too long, an unknown category) must not cost the other forty-nine: only the
answer's frame — a JSON object with a `problems` list — has to be right for
the batch to count as analysed. Each claimed problem, and each of its
quotes, is validated on its own; what fails is dropped and counted by
reason, for the run report. (The quotes are checked against the messages
later, by `llm_extract.Verifier`.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from docloop.backends.analyzers.llm_jobs import InvalidOutput
from docloop.backends.analyzers.llm_schemas import ProblemOut, QuoteOut

MAX_QUOTES = 5


@dataclass
class Claims:
    """The well-formed problems of one answer, and how many items were dropped, by reason."""

    problems: list[ProblemOut] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)


def parse_claims(data: dict[str, Any]) -> Claims:
    """Validate `{"problems": [...]}` item by item; InvalidOutput only for a broken frame."""
    items = data.get("problems")
    if not isinstance(items, list):
        raise InvalidOutput("the answer must be a JSON object with a 'problems' list")
    claims = Claims()
    for item in items:
        problem = _problem(item, claims.dropped)
        if problem is not None:
            claims.problems.append(problem)
    return claims


def _problem(item: Any, dropped: Counter[str]) -> ProblemOut | None:
    if not isinstance(item, dict):
        dropped["invalid_problem"] += 1
        return None
    quotes = _quotes(item.get("quotes"), dropped)
    if not quotes:
        dropped["problem_without_quote"] += 1
        return None
    try:
        return ProblemOut.model_validate({**item, "quotes": quotes[:MAX_QUOTES]})
    except ValidationError:
        dropped["invalid_problem"] += 1
        return None


def _quotes(raw: Any, dropped: Counter[str]) -> list[QuoteOut]:
    quotes: list[QuoteOut] = []
    for quote in raw if isinstance(raw, list) else []:
        try:
            quotes.append(QuoteOut.model_validate(quote))
        except ValidationError:
            dropped["invalid_quote"] += 1
    return quotes
