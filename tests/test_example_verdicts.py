"""The bundled example's tickets point where a maintainer would point them.

`make demo` is the first thing a user sees: a ticket that says "no page covers this" for
a problem whose page exists (`guides/webhooks.md`, `guides/scheduling.md`) sends a writer
to create a page that is already there. Each planted problem's insight must name the page
its label gives, and say `missing` exactly when the label has no page.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import example_report

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tidepool"
LABELS = json.loads((EXAMPLE / "labels.json").read_text(encoding="utf-8"))

pytestmark = pytest.mark.usefixtures("minilm")


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo's run report (`make demo`'s two commands, in a scratch home)."""
    return example_report(tmp_path_factory.mktemp("demo"), EXAMPLE / "docs", "--base-url",
                          "https://docs.tidepool.example/")


def _by_group(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each insight's doc match, keyed by the labelled group most of its messages belong to."""
    found = {}
    for insight in report["insights"]:
        groups = Counter(LABELS["messages"].get(m) for m in insight["message_ids"])
        found[groups.most_common(1)[0][0]] = insight["doc"]
    return found


@pytest.mark.parametrize("group", sorted(LABELS["groups"]))
def test_each_planted_problem_gets_the_labelled_page_or_missing(
        demo_report: dict[str, Any], group: str) -> None:
    doc = _by_group(demo_report).get(group)
    assert doc is not None, f"{group}: no insight"
    expected = LABELS["groups"][group]["page"]
    if expected is None:
        assert doc["verdict"] == "missing", f"{group}: {doc['verdict']} {doc['path']}"
    else:
        assert doc["verdict"] != "missing", f"{group}: says missing, {expected} covers it"
        assert doc["path"] == expected


def test_the_examples_own_docs_fit_its_chat(demo_report: dict[str, Any]) -> None:
    """No "docs fit poorly" warning where the docs cover the community (test_docs_fit.py)."""
    assert not [w for w in demo_report["warnings"] if "fit this run's messages poorly" in w]
