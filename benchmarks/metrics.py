"""Quality metrics for insights against a labelled conversation set.

Labels (`labels.json`): `groups` {group id: {title, page (path or null),
verdict_expected}} and `messages` {message id: group id or null (noise)}.

- B-cubed precision/recall/F1 over the messages that carry a labelled
  problem: a message's predicted cluster is the reported insight whose
  `message_ids` contain it (a message in no insight is its own cluster).
- A group is *recovered* when one insight holds at least half of the group's
  messages and at least half of that insight's labelled messages are the
  group's.
- Page accuracy: among recovered groups that have a page, the share whose
  insight points at that page. Missing accuracy: among recovered groups, the
  share whose "missing" verdict agrees with the label (page null); verdict
  accuracy, the share whose covered/partial/missing verdict equals the label.
- Noise leak: the share of noise messages that end up in any insight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Predicted:
    """One predicted insight: its messages, page and verdict."""

    message_ids: list[str]
    page: str | None
    verdict: str


def evaluate(labels: Mapping[str, Any], predicted: Sequence[Predicted]) -> dict[str, float]:
    """All metrics of the module docstring, as a flat dict."""
    gold: dict[str, str | None] = labels["messages"]
    groups: dict[str, dict[str, Any]] = labels["groups"]
    owner: dict[str, int] = {}
    for index, insight in enumerate(predicted):
        for mid in insight.message_ids:
            owner.setdefault(mid, index)
    problem_msgs = [m for m, g in gold.items() if g is not None]
    precision, recall = _bcubed(problem_msgs, gold, owner)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    recovered = _recovered(groups, gold, predicted, owner)
    with_page = [g for g in recovered if groups[g]["page"]]
    page_ok = [g for g in with_page if predicted[recovered[g]].page == groups[g]["page"]]
    missing_ok = [g for g in recovered
                  if (predicted[recovered[g]].verdict == "missing") == (groups[g]["page"] is None)]
    verdict_ok = [g for g in recovered
                  if predicted[recovered[g]].verdict == groups[g].get("verdict_expected")]
    noise = [m for m, g in gold.items() if g is None]
    leaked = [m for m in noise if m in owner]
    missing_groups = [g for g in groups if groups[g]["page"] is None]
    return {
        "bcubed_precision": precision, "bcubed_recall": recall, "bcubed_f1": f1,
        "groups": float(len(groups)), "groups_recovered": float(len(recovered)),
        "page_accuracy": len(page_ok) / len(with_page) if with_page else 0.0,
        "missing_groups": float(len(missing_groups)),
        "missing_recovered": float(sum(1 for g in missing_groups if g in recovered)),
        "missing_accuracy": len(missing_ok) / len(recovered) if recovered else 0.0,
        "verdict_accuracy": len(verdict_ok) / len(recovered) if recovered else 0.0,
        "noise_leak": len(leaked) / len(noise) if noise else 0.0,
        "insights": float(len(predicted)),
    }


def _bcubed(items: list[str], gold: Mapping[str, str | None],
            owner: Mapping[str, int]) -> tuple[float, float]:
    if not items:
        return 0.0, 0.0
    cluster_of = {m: owner.get(m, -1 - i) for i, m in enumerate(items)}
    by_cluster: dict[int, list[str]] = {}
    for m, c in cluster_of.items():
        by_cluster.setdefault(c, []).append(m)
    by_gold: Counter[str | None] = Counter(gold[m] for m in items)
    p_sum = r_sum = 0.0
    for m in items:
        same_cluster = by_cluster[cluster_of[m]]
        correct = sum(1 for o in same_cluster if gold[o] == gold[m])
        p_sum += correct / len(same_cluster)
        r_sum += correct / by_gold[gold[m]]
    return p_sum / len(items), r_sum / len(items)


def _recovered(groups: Mapping[str, Any], gold: Mapping[str, str | None],
               predicted: Sequence[Predicted], owner: Mapping[str, int]) -> dict[str, int]:
    """group id -> index of the insight that recovers it."""
    result: dict[str, int] = {}
    for group in groups:
        members = [m for m, g in gold.items() if g == group]
        counts = Counter(owner[m] for m in members if m in owner)
        if not counts:
            continue
        best, overlap = counts.most_common(1)[0]
        labelled = [m for m in predicted[best].message_ids if m in gold and gold[m] is not None]
        purity = overlap / len(labelled) if labelled else 0.0
        if overlap >= len(members) / 2 and purity >= 0.5:
            result[group] = best
    return result
