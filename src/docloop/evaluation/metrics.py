"""Insight and search metrics against labels (the acceptance definitions, issue #12).

- Recovered: at least max(2, ⌈n/2⌉) of a group's n messages sit in one
  insight, and at least half of that insight's labelled messages (noise
  included) belong to the group.
- Right page: recovered, and the insight's page equals the label — or, for a
  group no page covers, its verdict is `missing`.
- `missing` precision: of the insights that say `missing`, the share whose
  largest group is a no-page group (None when no insight says `missing`).
- B-cubed precision/recall/F1 over the messages that carry a labelled problem;
  a message in no insight is its own cluster. Noise messages are left out, as the seed
  benchmark's metric (benchmarks/metrics.py of 2026-11-25, whose figures issue #12
  opened with) left them out: what noise does is `noise_leak`'s to say. Counting each
  noise message as a cluster of its own would raise the figure wherever little leaks,
  so the stricter reading is kept.
- Noise leak: the share of noise messages that end up in any insight.
- Search hit@k: the labelled page among the top k pages of a query.
- Right page named (not an acceptance figure): recovered, and the labelled page is the
  insight's page or one of the next candidates its ticket names (`DocMatch.runners_up`);
  for a group no page covers, as right page. How often a writer who reads the ticket has
  the right page in front of them, when the first is wrong.
- Sharing a section (not an acceptance figure): the insights matched to a page section
  another insight is matched to as well. Their tickets name each other
  (stages.file.related_tickets); usually one problem split in two.

Beside the figures, `per_group` says where each group's messages went and `per_insight`
what each insight holds (its labelled groups, counted, and the groups it recovers): the
rows that tell a split group from two merged ones, the reading behind every figure.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from docloop.evaluation.labels import Gold
from docloop.models import Insight

MISSING = "missing"


@dataclass
class Predicted:
    """One reported insight: its messages, page and verdict."""

    message_ids: list[str]
    page: str | None
    verdict: str
    title: str = ""  # what the ticket is called (per_insight rows)
    section: str | None = None  # the matched section's heading (None: page top or no page)
    candidates: list[str] = field(default_factory=list)  # the next pages its ticket names


def predicted(insight: Insight, ids: dict[str, str]) -> Predicted:
    """An insight in label ids, with its page, section and verdict (no match = `missing`)."""
    doc = insight.doc
    return Predicted([ids[m] for m in insight.message_ids if m in ids],
                     doc.path if doc else None, doc.verdict if doc else "missing",
                     insight.title, (doc.heading or None) if doc and doc.path else None,
                     [hit.path for hit in doc.runners_up()] if doc and doc.path else [])


def score_insights(gold: Gold, predicted: Sequence[Predicted]) -> dict[str, Any]:
    """Every insight metric of the module docstring, with `per_group` rows."""
    owner = _owners(predicted)
    precision, recall = bcubed(gold, owner)
    recovered = recovered_groups(gold, predicted)
    right = {g for g, i in recovered.items() if _page_right(gold.groups[g], predicted[i])}
    named = {g for g, i in recovered.items() if _page_named(gold.groups[g], predicted[i])}
    missing_groups = [g for g, page in gold.groups.items() if page is None]
    noise = [m for m, g in gold.messages.items() if g is None]
    return {
        "groups": len(gold.groups), "groups_recovered": len(recovered),
        "right_page": len(right), "right_page_named": len(named),
        "missing_groups": len(missing_groups),
        "missing_found": sum(1 for g in missing_groups if g in right),
        "missing_precision": missing_precision(gold, predicted),
        "bcubed_precision": precision, "bcubed_recall": recall,
        "bcubed_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        # None when nothing is labelled noise (as `missing_precision` with no `missing`)
        "noise_leak": sum(1 for m in noise if m in owner) / len(noise) if noise else None,
        "insights": len(predicted), "sharing_a_section": sharing_a_section(predicted),
        "per_group": [_group_row(gold, g, predicted, owner, recovered, right)
                      for g in gold.groups],
        "per_insight": [_insight_row(gold, index, insight, recovered, right)
                        for index, insight in enumerate(predicted)],
    }


def sharing_a_section(predicted: Sequence[Predicted]) -> int:
    """How many insights are matched to a page section another insight is matched to."""
    sections = Counter((p.page, p.section) for p in predicted if p.page and p.verdict != MISSING)
    return sum(count for count in sections.values() if count > 1)


def recovered_groups(gold: Gold, predicted: Sequence[Predicted]) -> dict[str, int]:
    """group -> index of the insight that recovers it."""
    labelled = [[m for m in p.message_ids if m in gold.messages] for p in predicted]
    result: dict[str, int] = {}
    for group in gold.groups:
        members = gold.members(group)
        need = max(2, math.ceil(len(members) / 2))
        best: tuple[int, float, int] | None = None
        for index, ids in enumerate(labelled):
            overlap = sum(1 for m in ids if gold.messages[m] == group)
            purity = overlap / len(ids) if ids else 0.0
            if overlap >= need and purity >= 0.5 and (best is None or
                                                      (overlap, purity) > best[:2]):
                best = (overlap, purity, index)
        if best is not None:
            result[group] = best[2]
    return result


def bcubed(gold: Gold, owner: Mapping[str, int]) -> tuple[float, float]:
    """B-cubed precision and recall over the problem messages."""
    items = [m for m, g in gold.messages.items() if g is not None]
    if not items:
        return 0.0, 0.0
    cluster_of = {m: owner.get(m, -1 - i) for i, m in enumerate(items)}
    by_cluster: dict[int, list[str]] = {}
    for m, c in cluster_of.items():
        by_cluster.setdefault(c, []).append(m)
    by_gold = Counter(gold.messages[m] for m in items)
    p_sum = r_sum = 0.0
    for m in items:
        same = by_cluster[cluster_of[m]]
        correct = sum(1 for o in same if gold.messages[o] == gold.messages[m])
        p_sum += correct / len(same)
        r_sum += correct / by_gold[gold.messages[m]]
    return p_sum / len(items), r_sum / len(items)


def missing_precision(gold: Gold, predicted: Sequence[Predicted]) -> float | None:
    """Of the `missing` insights, the share whose largest group has no page."""
    saying = [p for p in predicted if p.verdict == MISSING]
    if not saying:
        return None
    right = 0
    for insight in saying:
        groups = Counter(gold.messages.get(m) for m in insight.message_ids)
        groups.pop(None, None)
        if groups and gold.groups[_largest(groups)] is None:
            right += 1
    return right / len(saying)


def hit_rates(expected: Sequence[str], ranked: Sequence[Sequence[str]],
              ks: Sequence[int] = (1, 3)) -> dict[int, float]:
    """k -> share of queries whose expected page is among the first k pages."""
    rates: dict[int, float] = {}
    for k in ks:
        hits = sum(1 for page, pages in zip(expected, ranked, strict=True) if page in pages[:k])
        rates[k] = hits / len(expected) if expected else 0.0
    return rates


def _owners(predicted: Sequence[Predicted]) -> dict[str, int]:
    owner: dict[str, int] = {}
    for index, insight in enumerate(predicted):
        for mid in insight.message_ids:
            owner.setdefault(mid, index)
    return owner


def _largest(groups: Counter[str | None]) -> str:
    """The most frequent group, ties broken by name (deterministic)."""
    top = max(groups.values())
    return str(min(g for g, n in groups.items() if n == top and g is not None))


def _page_right(expected: str | None, insight: Predicted) -> bool:
    if expected is None:
        return insight.verdict == MISSING
    return insight.page == expected and insight.verdict != MISSING


def _page_named(expected: str | None, insight: Predicted) -> bool:
    """The labelled page is one the insight's ticket names (`missing` for no page)."""
    if expected is None or insight.verdict == MISSING:
        return _page_right(expected, insight)
    return expected == insight.page or expected in insight.candidates


def _group_row(gold: Gold, group: str, predicted: Sequence[Predicted],
               owner: Mapping[str, int], recovered: Mapping[str, int],
               right: set[str]) -> dict[str, Any]:
    """One `per_group` row: where the group's messages went and to which page."""
    members = gold.members(group)
    index = recovered.get(group)
    if index is None:
        counts = Counter(owner[m] for m in members if m in owner)
        index = counts.most_common(1)[0][0] if counts else None
    insight = predicted[index] if index is not None else None
    return {"group": group, "size": len(members), "recovered": group in recovered,
            "in_one_insight": sum(1 for m in members if index is not None
                                  and owner.get(m) == index),
            "expected_page": gold.groups[group],
            "predicted_page": insight.page if insight else None,
            "next_candidates": list(insight.candidates) if insight else [],
            "verdict": insight.verdict if insight else None,
            "right_page": group in right}


def _insight_row(gold: Gold, index: int, insight: Predicted, recovered: Mapping[str, int],
                 right: set[str]) -> dict[str, Any]:
    """One `per_insight` row: the insight's page and verdict, its labelled messages by group
    (largest first; `group` None is noise) and the groups it recovers."""
    counts = Counter(gold.messages[m] for m in insight.message_ids if m in gold.messages)
    order = sorted(counts.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))
    mine = [g for g, i in recovered.items() if i == index]
    return {"title": insight.title, "page": insight.page, "section": insight.section,
            "verdict": insight.verdict, "messages": len(insight.message_ids),
            "groups": [{"group": group, "messages": count,
                        "of": len(gold.members(group)) if group is not None else None}
                       for group, count in order],
            "recovers": sorted(mine), "right_page": sorted(g for g in mine if g in right)}
