"""A run pointed at docs that do not fit its community says so, and says `missing`.

The `missing` verdict compares each insight with the run's median (verdict.py); docs of
another product sink that median with every insight, so without the model's fit floor
most insights were filed against whichever unrelated page came least far. Here the bundled
example's chat (a job-queue service) meets a sourdough baking guide.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import example_report

pytestmark = pytest.mark.usefixtures("minilm")

BAKING = {
    "index.md": "# Sourdough at home\n\nBake a loaf a week with a starter you keep in the "
                "fridge.\n\n## What you need\n\nFlour, water, salt, a scale and a dutch oven.\n",
    "starter.md": "# Keeping a starter\n\nFeed it equal weights of flour and water.\n\n"
                  "## A sluggish starter\n\nWarm it to 26 °C and feed it twice a day until it "
                  "doubles in six hours.\n\n## Discard\n\nUse the discard in pancakes.\n",
    "dough.md": "# Mixing and folding\n\nAutolyse the flour and water for an hour, then add "
                "the levain and salt.\n\n## Stretch and fold\n\nFour sets, thirty minutes "
                "apart, with wet hands.\n\n## Hydration\n\nStart at 70 % and work up.\n",
    "baking.md": "# Shaping and baking\n\nPre-shape, rest twenty minutes, shape tight.\n\n"
                 "## Scoring\n\nOne confident slash at a shallow angle.\n\n## Oven\n\nBake "
                 "covered at 250 °C for twenty minutes, then uncovered until deep brown.\n",
    "troubleshooting.md": "# Troubleshooting loaves\n\n## Dense crumb\n\nUnderproofed: give "
                          "the bulk ferment more time.\n\n## Flat loaf\n\nOverproofed, or "
                          "too little tension when shaping.\n",
}


def test_docs_of_another_product_are_named_and_most_insights_say_missing(
        tmp_path: Path) -> None:
    docs = tmp_path / "baking"
    docs.mkdir()
    for name, text in BAKING.items():
        (docs / name).write_text(text, encoding="utf-8")
    report = example_report(tmp_path / "home", docs)
    (warning,) = [w for w in report["warnings"] if "fit this run's messages poorly" in w]
    assert "index-docs" in warning
    verdicts = Counter(insight["doc"]["verdict"] for insight in report["insights"])
    assert verdicts["missing"] >= 0.75 * len(report["insights"]) > 0, verdicts
    again = example_report(tmp_path / "home", docs)  # nothing new: the analysis is reused
    assert again["stats"]["analysis_reused"] and warning in again["warnings"]
