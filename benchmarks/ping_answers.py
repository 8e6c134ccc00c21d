"""Answers by ping: the labelled conversation sets as a channel where helpers write "@asker ...".

Many Discord help channels have no threads and few replies: a helper answers with
"@asker try ..." in the channel, between other people's messages. stages/conversations.py
joins such an answer to the question of the user it pings; this measures what that is worth
on the labelled conversation sets, rewritten as such a channel:

- every thread's messages are posted in its parent channel (in time order among the
  others); each message in it by someone other than the thread's starter pings the
  starter ("@name " before the text, the starter in `mentions`), and each later message
  of the starter pings the last other author who wrote in the thread;
- every Discord reply loses its reference, and a reply to someone else pings the author
  of the message it answered instead.

Message ids, authors, times and texts are kept, so the sets' labels apply unchanged. Each
set runs the whole loop at shipped settings three times: as written (threads and replies),
rewritten with pings grouped (shipped), and rewritten with pings not grouped (every ping
its own conversation, as before). Cells are `docloop eval` figures: groups recovered ·
right page · `missing` found · B-cubed F1, and how many problems kept an answer.

Usage: PYTHONPATH=src:benchmarks python benchmarks/ping_answers.py [SET ...]
Writes benchmarks/results/ping_answers.md.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import labelled_sets
from docloop.quality import SHIPPED
from docloop.stages import conversations

RESULTS = labelled_sets.HERE / "results" / "ping_answers.md"
PINGED = labelled_sets.WORK / "pinged"


def rewrite(source: Path, target: Path) -> None:
    """`source` (a folder of DiscordChatExporter files) as one file per channel in `target`,
    threads and replies turned into pings (the module docstring)."""
    exports = [json.loads(path.read_text(encoding="utf-8"))
               for path in sorted(source.glob("*.json"))]
    channels = {e["channel"]["id"]: e for e in exports if "Thread" not in e["channel"]["type"]}
    by_id = {m["id"]: m for e in exports for m in e["messages"]}
    for export in exports:
        if "Thread" not in export["channel"]["type"]:
            continue
        starter = by_id.get(export["channel"]["id"])
        parent = channels[export["channel"]["categoryId"]]
        last_other: dict[str, Any] | None = None
        for message in export["messages"]:
            if starter is not None and message["author"]["id"] != starter["author"]["id"]:
                _ping(message, starter["author"])
                last_other = message["author"]
            elif last_other is not None:
                _ping(message, last_other)
            parent["messages"].append(message)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for channel_id, export in channels.items():
        for message in export["messages"]:
            _unreply(message, by_id)
        export["messages"].sort(key=lambda m: (m["timestamp"], int(m["id"])))
        export["messageCount"] = len(export["messages"])
        name = f"{export['channel']['name']} [{channel_id}].json"
        (target / name).write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")


def _unreply(message: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> None:
    """A reply without its reference, pinging the author it answered (not oneself)."""
    reference = message.pop("reference", None)
    if message.get("type") == "Reply":
        message["type"] = "Default"
    answered = by_id.get((reference or {}).get("messageId", ""))
    if answered is not None and answered["author"]["id"] != message["author"]["id"]:
        _ping(message, answered["author"])


def _ping(message: dict[str, Any], author: dict[str, Any]) -> None:
    name = author.get("nickname") or author.get("name") or "user"
    if not any(m.get("id") == author["id"] for m in message.get("mentions") or []):
        message["mentions"] = [*(message.get("mentions") or []),
                               {"id": author["id"], "name": name, "nickname": name,
                                "isBot": False}]
        message["content"] = f"@{name} {message.get('content', '')}"


@contextmanager
def pings_grouped(on: bool) -> Iterator[None]:
    """With `on` False, a ping joins nothing: every "@asker" answer is its own conversation."""
    saved = conversations._pinged
    if not on:
        conversations._pinged = lambda *args: None  # type: ignore[assignment]
    try:
        yield
    finally:
        conversations._pinged = saved  # type: ignore[assignment]


def measure(labelled: labelled_sets.LabelledSet, grouped: bool = True) -> str:
    run = labelled_sets.SetRun(labelled)
    try:
        with pings_grouped(grouped):
            problems, _ = run.extracted(SHIPPED)
            scores = run.full(SHIPPED)
    finally:
        run.close()
    answered = sum(1 for p in problems if p.context)
    return (f"{scores['groups_recovered']}/{scores['groups']} · {scores['right_page']} · "
            f"{scores['missing_found']}/{scores['missing_groups']} · "
            f"{scores['bcubed_f1']:.3f} · {answered}/{len(problems)}")


def main(names: list[str]) -> None:
    logging.disable(logging.INFO)
    lines = ["## Answers by ping: the conversation sets rewritten as a channel of \"@asker\" "
             "answers", "",
             "Command: `PYTHONPATH=src:benchmarks python benchmarks/ping_answers.py`. Threads "
             "posted in their parent channel with every other author's message pinging the "
             "starter (and the starter's later messages the last other author), and replies turned "
             "into pings of the author they answered; the whole "
             "loop at shipped settings. Cells: groups recovered · right page · `missing` found "
             "· B³ F1 · problems that kept an answer.", "",
             "| set | as written (threads, replies) | pings grouped (shipped) | "
             "pings not grouped |", "| --- | --- | --- | --- |"]
    for labelled in labelled_sets.SETS:
        if (names and labelled.name not in names) or labelled.discord is None \
                or not labelled.available():
            continue
        pinged = replace(labelled, name=f"{labelled.name}-pinged",
                         discord=PINGED / labelled.name)
        rewrite(labelled.discord, PINGED / labelled.name)
        cells = [measure(labelled), measure(pinged), measure(pinged, grouped=False)]
        lines.append(f"| {labelled.name} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    labelled_sets.publish(RESULTS, lines)


if __name__ == "__main__":
    main(sys.argv[1:])
