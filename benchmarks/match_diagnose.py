"""Why an insight gets the page it gets: per labelled group, the whole loop's page next to
what a group query (the insight's member texts joined, re-ranked) would pick.

Run: PYTHONPATH=src:benchmarks python benchmarks/match_diagnose.py [SET ...]
Prints one row per group: recovered by an insight or not, expected page, the loop's page
and verdict, and the top page of a re-ranked group query over the insight's own members
(`insight query`) and over the labelled group's messages (`label query`, what `docloop
eval`'s group search measures). Rows separate the three causes of a wrong page: the group
was not recovered (clustering), the members' votes chose another page (matching), or no
query finds it (ranking).
"""

from __future__ import annotations

import logging
import sys
from collections import Counter

from docloop.backends.docs_index.rerank import HYBRID_ORDER, RankSettings
from docloop.evaluation.labels import read_labels
from docloop.evaluation.metrics import recovered_groups
from docloop.evaluation.runner import predicted
from docloop.pipeline import RunOptions, run_pipeline
from docloop.quality import SHIPPED
from docloop.registry import sqlite_stores
from docloop.stages.index_docs import open_index
from docloop.stages.verdict import VerdictSettings
from labelled_sets import SETS, SetRun


def diagnose(run: SetRun) -> Counter[str]:
    """Print one row per group; count the causes."""
    run.clusters_only(SHIPPED)
    report = run_pipeline(run.settings, RunOptions(since=run.since, dry_run=True, quality=SHIPPED,
                                                   rank=HYBRID_ORDER, verdict=VerdictSettings()))
    ids = run.ids or {m: m for i in report.insights for m in i.message_ids}
    preds = [predicted(i, ids) for i in report.insights]
    recovered = recovered_groups(run.gold, preds)
    texts = {m.id: m.text for m in read_labels(run.set.labels, run.set.doc_prefix)}
    assert run._conn is not None
    index = open_index(run.settings, sqlite_stores(run._conn), RankSettings())
    causes: Counter[str] = Counter()
    for group, page in run.gold.groups.items():
        members = run.gold.members(group)
        label_top = index.search("\n".join(texts[m] for m in members), 3)
        i = recovered.get(group)
        if i is None:
            cause = "not recovered"
            row = f"{group:36} {page!s:40} -"
        else:
            p = preds[i]
            insight_top = index.search("\n".join(texts[m] for m in p.message_ids if m in texts), 3)
            right = (p.verdict == "missing") if page is None else (
                p.page == page and p.verdict != "missing")
            iq = insight_top[0].path if insight_top else None
            cause = "right" if right else (
                "missing said" if p.verdict == "missing" else
                "page wrong, insight query right" if iq == page else "page wrong")
            row = (f"{group:36} {page!s:40} loop={p.page} {p.verdict} "
                   f"iq={iq} ")
        causes[cause] += 1
        print(f"{row} label={[h.path for h in label_top]} -> {cause}")
    return causes


def main(args: list[str]) -> None:
    logging.disable(logging.INFO)
    for labelled in SETS:
        if (args and labelled.name not in args) or not labelled.available():
            continue
        print(f"## {labelled.name}")
        run = SetRun(labelled)
        print(dict(diagnose(run)))
        run.close()


if __name__ == "__main__":
    main(sys.argv[1:])
