"""benchmarks/run_all.py gathers the results tables without touching the curated reading.

`make bench` once rewrote benchmarks/RESULTS.md from the bare tables, which would have
dropped every reading, history and measured-not-kept note written there by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def run_all() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    import run_all

    return run_all


def test_assembled_tables_go_to_their_own_file(run_all: ModuleType) -> None:
    assert run_all.ASSEMBLED.parent == BENCHMARKS / "results"
    assert run_all.ASSEMBLED.name != "RESULTS.md"


def test_assemble_gathers_the_tables_in_order_and_marks_failures(
        run_all: ModuleType, tmp_path: Path) -> None:
    curated = (BENCHMARKS / "RESULTS.md").read_bytes()
    target = tmp_path / "ALL.md"
    run_all.assemble(["search"], target)
    text = target.read_text(encoding="utf-8")
    assert "## search\n\n**This benchmark failed in the last run.**" in text
    shown = [name for name in run_all.ORDER
             if (BENCHMARKS / "results" / f"{name}.md").is_file()]
    firsts = [(BENCHMARKS / "results" / f"{name}.md").read_text(encoding="utf-8")
              .splitlines()[0] for name in shown]
    positions = [text.index(first) for first in firsts]
    assert positions == sorted(positions)
    assert (BENCHMARKS / "RESULTS.md").read_bytes() == curated
