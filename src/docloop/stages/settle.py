"""Insights that land on one docs section: a small one folded into the largest there.

Clustering keeps two groups of problems apart when their words differ, though both ask
about one thing: on Pydantic's real messages, "Generic model as parameter fails model type
validation" and "Subclass of generic model validate failed" were two insights of two
messages each, and both matched § Generic models of `concepts/models.md`. Their tickets
ask a writer for the same edit twice (each named the other under "Also open on this
section"). The docs decide what clustering could not: an insight of at most
`SMALL_MESSAGES` messages whose match is the section another insight matched joins the
largest insight there, before anything is filed.

Only small insights fold: two insights each with several messages on one section are
more often two problems one section answers (typescript-eslint's set holds two such rule
problems; folding every insight that shared a section lost both, benchmarks/RESULTS.md).
An insight that says `missing` has no section and never folds, and one that already has a
ticket is never absorbed: its ticket would be orphaned (the review desk's `merge` refuses
the same).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

#: an insight with at most this many messages folds into a larger one on its section
SMALL_MESSAGES = 2


@dataclass(frozen=True)
class Placed:
    """One insight where its match put it: its id, size and (page, anchor), or None when
    no page covers it."""

    insight_id: str
    messages: int
    section: tuple[str, str] | None


def may_fold(sizes: Iterable[int]) -> bool:
    """Whether any of the insights (their message counts) is small enough to fold; when
    none is, nothing needs placing before the tasks match."""
    return any(size <= SMALL_MESSAGES for size in sizes)


def fold_targets(placed: Sequence[Placed],
                 ticketed: Callable[[str], bool] = lambda _: False) -> dict[str, str]:
    """Insight id -> the id of the insight it folds into, for every small insight that
    shares its section with another; `placed` in rank order (the first of two equally
    large insights keeps its identity). `ticketed` says whether an insight was filed by an
    earlier run; it is asked only of insights that would otherwise fold."""
    by_section: dict[tuple[str, str], list[Placed]] = {}
    for item in placed:
        if item.section is not None:
            by_section.setdefault(item.section, []).append(item)
    targets: dict[str, str] = {}
    for members in by_section.values():
        if len(members) < 2:
            continue
        keep = max(members, key=lambda item: item.messages)  # the first of the largest
        for item in members:
            if item is not keep and item.messages <= SMALL_MESSAGES \
                    and not ticketed(item.insight_id):
                targets[item.insight_id] = keep.insight_id
    return targets
