"""Why a recovered group gets a wrong page: per group, the evidence the match stage weighs.

Run: PYTHONPATH=src:benchmarks python benchmarks/match_diagnose.py [SET ...]

On match_replay's capture of each set (shipped clustering, the loop's own insights) and
the shipped `VerdictSettings`, prints one row per recovered group with a page whose
insight gets another page (or says `missing`): the expected and the chosen page, the
expected page's rank in the fused ranking the stage chooses from, in the re-ranked group
query alone, in the members' votes on the hybrid order and on the re-ranked order, and
how many members land on each page's most common section (match.section_consensus) and
the pages' catch-all (hub) scores. Rows with the expected page first in some column but
not in the fused one name the evidence that would have picked it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from docloop.stages.match import vote_totals
from docloop.stages.verdict import VerdictSettings
from match_replay import Replay, load
from verdict_calibrate import find_item, md_row, member_evidence, outcomes

HEADER = ("| set | group | expected page | chosen page | rank in: fused / group query / votes "
          "/ re-ranked votes | members on one section: expected / chosen | hub: expected / "
          "chosen |\n| --- | --- | --- | --- | --- | --- | --- |")


def rank(pages: Sequence[str], page: str) -> str:
    """1-based position of `page` in `pages` ("-" when absent)."""
    return str(pages.index(page) + 1) if page in pages else "-"


def by_votes(totals: dict[str, float]) -> list[str]:
    return sorted(totals, key=lambda path: (-totals[path], path))


def wrong_pages(replay: Replay, settings: VerdictSettings) -> list[str]:
    """One Markdown row per recovered group with a page that the loop gets wrong."""
    gold = replay.run.gold
    _, _, recovered = outcomes(replay)
    hubs = replay.hybrid.page_hubs()
    rows = []
    for group, i in sorted(recovered.items()):
        expected = gold.groups[group]
        item = replay.captured[i]
        found = find_item(item, replay, settings)
        chosen = found.choice.ranked[0].path if found.choice is not None else None
        if expected is None or chosen == expected:
            continue
        evidence = member_evidence(item)
        fused = [h.path for h in found.choice.ranked] if found.choice is not None else []
        group_pages = [h.path for h in replay.group_hits([t for t, _ in evidence], settings)]
        votes = vote_totals(evidence, replay.hybrid, settings.vote_k)
        reranked = vote_totals(evidence, replay.ranked, settings.vote_k)
        ranks = (rank(fused, expected), rank(group_pages, expected),
                 rank(by_votes(votes.totals), expected), rank(by_votes(reranked.totals), expected))
        on_one = (votes.consensus.get(expected, 0), votes.consensus.get(chosen or "", 0))
        rows.append(md_row(replay.name, group, expected, chosen or "(`missing`)",
                           " / ".join(ranks), f"{on_one[0]} / {on_one[1]} of {len(evidence)}",
                           f"{hubs.get(expected, 0.0):.2f} / {hubs.get(chosen or '', 0.0):.2f}"))
    return rows


def main(args: list[str]) -> None:
    replays = load(args or None)
    if not replays:
        sys.exit("no labelled set found (needs ../shared)")
    print(HEADER)
    for replay in replays:
        print("\n".join(wrong_pages(replay, VerdictSettings())))


if __name__ == "__main__":
    main(sys.argv[1:])
