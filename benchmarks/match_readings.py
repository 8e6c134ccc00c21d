"""Match-stage readings measured and not kept (RESULTS.md, sessions 13-14), reproducible.

Each reading replays the match stage on match_replay.py's captures (the shipped run's
insights and their match inputs, every labelled set) with one rule changed, and scores
it with the `docloop eval` definitions at otherwise shipped settings:

- `migration`: a member's (and the group query's) votes for a change-narrative page
  (path names a migration, upgrade, announcement or release) dropped to the end of its
  list when the text says nothing about versions; right pages per set, per cut (the
  share of the text's lines that must talk about versions to keep them);
- `sections`: the section most members point to on the chosen page (each member's rank
  vote to the section its own search found there, the group query as a share of the
  members) against the best-scoring one: how many insights change section, listed;
- `pairs`: an insight of at most two messages merged into a larger one on the same page
  section, by the matched section and by two pre-match proxies (the insight's own top
  section, the members' vote top section);
- `votes`: the vote rule (`group_weight`, `hub_discount`, `vote_k`) over a grid, right
  pages per set, and each set with the rule that has the most right pages on the others.
  These captures are clustered with the shipped settings (chosen with every set); the
  same step on each fold's own clustering is `loco_eval.py --choose-votes`;
- `members` (session 14): a member's votes weighted up by what it says (the member the
  insight's title comes from, the first member, the members the analyzer read an error
  or a question in), right pages per set;
- `pasted` (session 14): each member's search text with the lines of its code blocks that
  say in words what went wrong (the offline problem text keeps prose only), or with its
  whole verbatim body, right pages per set.

Run: PYTHONPATH=src:benchmarks python benchmarks/match_readings.py [READING ...]
Writes benchmarks/results/match_readings.md.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import docloop.stages.match as match_stage
import match_replay as mr
from docloop.evaluation.metrics import Predicted, score_insights
from docloop.models import DocMatch, PageHit, Problem
from docloop.stages.insights import shared_words
from docloop.stages.match import MAX_VOTERS, VOTE_K, insight_query, match_insight, vote_pages
from docloop.stages.verdict import VerdictSettings
from docloop.text import code_blocks, content_words
from labelled_sets import publish

RESULT = Path(__file__).resolve().parent / "results" / "match_readings.md"
CHANGE_PAGE = re.compile(r"migrat|upgrad|announc|release|changelog|whats-new|breaking", re.I)
TALKS_VERSIONS = re.compile(
    r"\b(v ?\d+(\.[\dx]+)*|versions?|upgrad\w*|migrat\w*|deprecat\w*|no longer|removed|"
    r"used to|previously|after updat\w*|breaking|since \d)\b", re.I)
SHIPPED = VerdictSettings()
Evidence = list[tuple[str, Any]]


def evidence(item: mr.Captured) -> Evidence:
    return [(p.with_answer, v) for p, v in zip(item.problems[:MAX_VOTERS], item.vectors,
                                               strict=False)]


def matched(item: mr.Captured, replay: mr.Replay, settings: VerdictSettings = SHIPPED,
            index: Any = None, group: list[PageHit] | None = None,
            members: Evidence | None = None) -> DocMatch:
    """The match stage as shipped (match_replay.shipped_rule), with an index, group
    query or members' search texts of the reading's own when given."""
    members = members or evidence(item)
    words = [p.body or p.text for p in item.problems]
    if group is None:
        group = replay.group_hits([text for text, _ in members], settings)
    return match_insight(item.insight, item.centroid, index or replay.hybrid, members,
                         item.reference, settings, group, words, replay.hybrid.page_hubs(),
                         replay.chat.of_members(words), shared_words(item.problems))[0]


def scores(replay: mr.Replay, matches: Sequence[DocMatch],
           groups: Sequence[Sequence[int]] | None = None) -> dict[str, Any]:
    """eval metrics of the matches, the insights merged as `groups` (default: each alone)."""
    captured = replay.captured
    groups = groups or [[i] for i in range(len(captured))]
    return score_insights(replay.run.gold, [
        Predicted([m for i in group for m in captured[i].message_ids],
                  matches[group[0]].path, matches[group[0]].verdict) for group in groups])


# -- migration: change-narrative pages only for texts that talk about versions -------------

def talk_share(text: str) -> float:
    lines = [line for line in text.split("\n") if line.strip()]
    return sum(bool(TALKS_VERSIONS.search(line)) for line in lines) / max(len(lines), 1)


def demoted(hits: list[PageHit], text: str, cut: float) -> list[PageHit]:
    if talk_share(text) >= cut:
        return hits
    return ([h for h in hits if not CHANGE_PAGE.search(h.path)]
            + [h for h in hits if CHANGE_PAGE.search(h.path)])


class Demoting:
    """The hybrid index, its change-narrative pages last for quiet texts."""

    def __init__(self, inner: mr.CachedIndex, cut: float) -> None:
        self.inner, self.cut = inner, cut

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def search_vector(self, text: str, vector: Any, top_k: int = 5) -> list[PageHit]:
        return demoted(self.inner.search_vector(text, vector, top_k), text, self.cut)


def migration(replays: list[mr.Replay]) -> list[str]:
    cuts = (0.01, 0.25, 0.5)
    lines = ["### Change-narrative pages only for texts that talk about versions", "",
             "| set | shipped | " + " | ".join(f"cut {c}" for c in cuts) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in cuts) + " |"]
    for replay in replays:
        row = [scores(replay, [matched(i, replay) for i in replay.captured])["right_page"]]
        for cut in cuts:
            found = []
            for item in replay.captured:
                texts = "\n".join(text for text, _ in evidence(item))
                group = demoted(replay.group_hits(texts.split("\n"), SHIPPED), texts, cut)
                found.append(matched(item, replay, index=Demoting(replay.hybrid, cut),
                                     group=group))
            row.append(scores(replay, found)["right_page"])
        lines.append(f"| {replay.name} | " + " | ".join(map(str, row)) + " |")
    return lines


# -- sections: the section most members point to ------------------------------------------

def consensus_section(item: mr.Captured, replay: mr.Replay, match: DocMatch) -> str | None:
    members = evidence(item)
    votes: Counter[str | None] = Counter()
    best: dict[str | None, float] = {}
    hits = [(1.0, replay.hybrid.search_vector(text, vector, VOTE_K)) for text, vector in members]
    share = SHIPPED.group_weight * len(members)
    hits.append((share, replay.group_hits([text for text, _ in members], SHIPPED)))
    for weight, ranked in hits:
        for position, hit in enumerate(ranked):
            if hit.path == match.path:
                votes[hit.heading] += weight / (1 + position)
                best[hit.heading] = max(best.get(hit.heading, 0.0), hit.score)
    return max(votes, key=lambda h: (votes[h], best[h])) if votes else match.heading


def sections(replays: list[mr.Replay]) -> list[str]:
    lines = ["### The section most members point to, against the best-scoring one", "",
             "| set | insight's largest group | page | best-scoring section | most voted |",
             "| --- | --- | --- | --- | --- |"]
    for replay in replays:
        for item in replay.captured:
            match = matched(item, replay)
            if not match.path:
                continue
            voted = consensus_section(item, replay, match)
            if voted != match.heading:
                largest = Counter(replay.run.gold.messages.get(m) for m in item.message_ids)
                lines.append(f"| {replay.name} | {largest.most_common(1)[0][0]} | "
                             f"{match.path} | {match.heading} | {voted} |")
    return lines


# -- pairs: two-message insights merged into a larger one on their section -----------------

Key = Callable[[mr.Captured, mr.Replay, DocMatch], tuple[str, str | None] | None]


def merged_groups(replay: mr.Replay, matches: list[DocMatch], key: Key) -> list[list[int]]:
    """Largest first, an insight of at most two messages joins the first larger one with
    its key; any other insight stands alone."""
    order = sorted(range(len(matches)), key=lambda i: -len(replay.captured[i].message_ids))
    owner: dict[tuple[str, str | None], int] = {}
    groups: dict[int, list[int]] = {}
    for i in order:
        item = replay.captured[i]
        found = key(item, replay, matches[i])
        if found is not None and found in owner and len(item.message_ids) <= 2:
            groups[owner[found]].append(i)
            continue
        groups[i] = [i]
        if found is not None:
            owner.setdefault(found, i)
    return list(groups.values())


def _top(hits: list[PageHit]) -> tuple[str, str | None] | None:
    return (hits[0].path, hits[0].heading) if hits else None


KEYS: dict[str, Key] = {
    "matched section": lambda item, replay, match: (
        (match.path, match.heading) if match.path and match.verdict != "missing" else None),
    "insight's own top section": lambda item, replay, match: _top(
        replay.hybrid.search_vector(insight_query(item.insight), item.centroid, 5)),
    "members' vote top section": lambda item, replay, match: _top(
        vote_pages(evidence(item), replay.hybrid)),
}


def pairs(replays: list[mr.Replay]) -> list[str]:
    lines = ["### Two-message insights merged into a larger one on their section", "",
             "| set | rule | right page | B³ F1 | insights merged away |",
             "| --- | --- | ---: | ---: | ---: |"]
    for replay in replays:
        matches = [matched(item, replay) for item in replay.captured]
        base = scores(replay, matches)
        lines.append(f"| {replay.name} | shipped | {base['right_page']} | "
                     f"{base['bcubed_f1']:.3f} | 0 |")
        for name, key in KEYS.items():
            groups = merged_groups(replay, matches, key)
            merged = scores(replay, matches, groups)
            lines.append(f"| {replay.name} | {name} | {merged['right_page']} | "
                         f"{merged['bcubed_f1']:.3f} | {len(matches) - len(groups)} |")
    return lines


# -- votes: the vote rule over a grid, each set with the rule chosen on the others ---------

def votes(replays: list[mr.Replay]) -> list[str]:
    options = mr.vote_options(SHIPPED)
    right = {replay.name: [replay.score(mr.shipped_rule(o))["right_page"] for o in options]
             for replay in replays}
    names = list(right)
    shipped = options.index(SHIPPED) if SHIPPED in options else None
    lines = ["### The vote rule, each set with the rule most right elsewhere", "",
             "| set | rule chosen on the others (group weight, hub discount, vote k) | "
             "right page with it | shipped |", "| --- | --- | ---: | ---: |"]
    for held in [*names, None]:
        on = [n for n in names if n != held]
        best = max(range(len(options)), key=lambda i: (sum(right[n][i] for n in on),
                                                       i == shipped))
        rule = options[best]
        knobs = f"{rule.group_weight}, {rule.hub_discount}, {rule.vote_k}"
        if held is None:
            total = sum(right[n][best] for n in names)
            base = sum(right[n][shipped] for n in names) if shipped is not None else "-"
            lines.append(f"| (all sets) | {knobs} | {total} "
                         f"({', '.join(f'{n} {right[n][best]}' for n in names)}) | {base} |")
        else:
            base = right[held][shipped] if shipped is not None else "-"
            lines.append(f"| {held} | {knobs} | {right[held][best]} | {base} |")
    return lines


# -- members: a member's vote weighted by what it says --------------------------------------

Says = Callable[[mr.Captured, int], bool]
MEMBER_RULES: dict[str, Says] = {
    "title's member": lambda item, i: item.insight.title[:40]
    in item.problems[i].with_answer,
    "first member": lambda item, i: i == 0,
    "error or question": lambda item, i: bool({"error", "question"}
                                               & set(item.problems[i].signals)),
}


SHIPPED_VOTES = match_stage.vote_totals


def weighted_votes(weights: Sequence[float]) -> Callable[..., match_stage.Votes]:
    """match.vote_totals with member i's votes times weights[i]: the shipped rule run per
    member, its totals scaled and summed."""
    def vote_totals(members: Sequence[tuple[str, Any]], index: Any,
                    vote_k: float = SHIPPED.vote_k) -> match_stage.Votes:
        totals: dict[str, float] = {}
        sections: dict[str, PageHit] = {}
        firsts: list[str] = []
        for member, weight in zip(members, weights, strict=False):
            one = SHIPPED_VOTES([member], index, vote_k)
            firsts += one.firsts
            for path, vote in one.totals.items():
                totals[path] = totals.get(path, 0.0) + weight * vote
            for path, hit in one.sections.items():
                if path not in sections or hit.score > sections[path].score:
                    sections[path] = hit
        return match_stage.Votes(totals, sections, firsts)
    return vote_totals


def members(replays: list[mr.Replay]) -> list[str]:
    boosts = (0.05, 0.3)
    lines = ["### A member's votes weighted up by what it says", "",
             "| set | shipped | " + " | ".join(f"{rule} +{boost:.0%}" for rule in MEMBER_RULES
                                               for boost in boosts) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in range(len(MEMBER_RULES) * 2))
             + " |"]
    for replay in replays:
        row = [scores(replay, [matched(i, replay) for i in replay.captured])["right_page"]]
        for says in MEMBER_RULES.values():
            for boost in boosts:
                found = []
                for item in replay.captured:
                    weights = [1 + boost if says(item, i) else 1.0
                               for i in range(min(len(item.problems), MAX_VOTERS))]
                    with mock.patch.object(match_stage, "vote_totals", weighted_votes(weights)):
                        found.append(matched(item, replay))
                row.append(scores(replay, found)["right_page"])
        lines.append(f"| {replay.name} | " + " | ".join(map(str, row)) + " |")
    return lines


# -- pasted: the error lines users paste in code blocks, as search text -------------------

SAYS_WRONG = re.compile(
    r"error|exception|fail|fatal|cannot|can't|unable|warn|deprecat|invalid|unexpected|"
    r"denied|refused|undefined|missing|larger than|exceed|no such|"
    r"not (?:found|defined|allowed|supported|exist)", re.I)
STACK_FRAME = re.compile(r"^\s*(?:at |File \"|\^|~|\d+ \||[-+]{3} )")


def pasted_lines(body: str, limit: int) -> list[str]:
    """The first `limit` lines of `body`'s code blocks that say in words what went wrong."""
    found: list[str] = []
    for block in code_blocks(body):
        for line in (" ".join(raw.split()) for raw in block.splitlines()):
            if (len(found) < limit and line not in found and not STACK_FRAME.match(line)
                    and len(content_words(line)) >= 4 and SAYS_WRONG.search(line)):
                found.append(line[:200])
    return found


def with_pasted(problem: Problem, limit: int | None) -> str:
    """The member's search text with its pasted error lines (`limit` None: its whole
    verbatim body instead of the prose)."""
    if not problem.body:
        return problem.with_answer
    if limit is None:
        return f"{problem.body} {problem.context}".strip()
    extra = [line for line in pasted_lines(problem.body, limit) if line not in problem.text]
    return " ".join([problem.text, *extra, problem.context]).strip()


def pasted(replays: list[mr.Replay]) -> list[str]:
    variants = {"first pasted error line": 1, "two lines": 2, "whole body": None}
    lines = ["### Pasted error lines in the members' search text", "",
             "| set | shipped | " + " | ".join(variants) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in variants) + " |"]
    for replay in replays:
        row = [scores(replay, [matched(i, replay) for i in replay.captured])["right_page"]]
        for limit in variants.values():
            found = []
            for item in replay.captured:
                texts = [(with_pasted(p, limit), v) for p, v in
                         zip(item.problems[:MAX_VOTERS], item.vectors, strict=False)]
                found.append(matched(item, replay, members=texts))
            row.append(scores(replay, found)["right_page"])
        lines.append(f"| {replay.name} | " + " | ".join(map(str, row)) + " |")
    return lines


READINGS: dict[str, Callable[[list[mr.Replay]], list[str]]] = {
    "migration": migration, "sections": sections, "pairs": pairs, "votes": votes,
    "members": members, "pasted": pasted}


def main(args: list[str]) -> None:
    chosen = args or list(READINGS)
    replays = mr.load()
    lines = ["## Match-stage readings (sessions 13-14; measured, not kept)", "",
             "Command: `PYTHONPATH=src:benchmarks python benchmarks/match_readings.py`, on "
             "match_replay's captures of the shipped run of every labelled set.", ""]
    for name in chosen:
        lines += [*READINGS[name](replays), ""]
    if chosen == list(READINGS):
        publish(RESULT, lines)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
