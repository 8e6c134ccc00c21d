"""What the offline analyzer quotes of long real messages (issue #12 reading, no metric).

Every labelled message of the real sets (../shared/realsets, or where DOCLOOP_SHARED
says) longer than a quote may be is read as a one-message conversation by the offline
analyzer, and its quote is classed: a lead-in alone ("I recently got the error:"), a
question that leans on the sentence before it ("How can I resolve it?"), too few words
to say anything, or one that says something. The same command on two checkouts
(PYTHONPATH=their src) compares their quoting.

Usage: PYTHONPATH=src python benchmarks/quote_readings.py [--show]
(`--show` prints every thin quote beside its class).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from docloop.backends.analyzers.offline import OfflineAnalyzer
from docloop.models import Conversation, Message
from docloop.text import content_words, leads_in

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("DOCLOOP_SHARED") or HERE.parent.parent / "shared")
LONG = 280  # the offline analyzer quotes shorter messages whole
SETS = ("pydantic", "vite")


def quote_class(quote: str) -> str:
    """How a quote reads alone in a ticket."""
    first = quote.split("\n", 1)[0]
    if leads_in(quote):
        return "lead-in alone"
    if quote.endswith("?") and len(content_words(quote)) <= 3 and not leads_in(first):
        return "short question"
    if len(content_words(quote)) < 4:
        return "too few words"
    return "says something"


def set_quotes(name: str) -> list[str]:
    """The quote of each long labelled message of one real set."""
    analyzer = OfflineAnalyzer()
    quotes = []
    lines = (SHARED / "realsets" / name / "messages.jsonl").read_text().splitlines()
    for index, line in enumerate(lines):
        text = json.loads(line)["text"]
        if len(text) <= LONG:
            continue
        message = Message(id=str(index), channel_id="c", author_id="a", content=text,
                          timestamp=datetime(2026, 12, 1, tzinfo=UTC))
        conversation = Conversation(id=str(index), channel_id="c", channel_name="help",
                                    messages=[message])
        quotes += [q.text for p in analyzer.extract([conversation]) for q in p.quotes]
    return quotes


def main(argv: list[str]) -> int:
    if not (SHARED / "realsets").is_dir():
        print(f"no realsets under {SHARED}: set DOCLOOP_SHARED", file=sys.stderr)
        return 2
    classes = ("lead-in alone", "short question", "too few words", "says something")
    print("| set | long messages quoted | " + " | ".join(classes) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in classes) + " |")
    for name in SETS:
        quotes = set_quotes(name)
        counts = Counter(quote_class(q) for q in quotes)
        print(f"| {name} | {len(quotes)} | " + " | ".join(str(counts[c]) for c in classes) + " |")
        if "--show" in argv:
            for quote in quotes:
                if quote_class(quote) != "says something":
                    print(f"  {quote_class(quote)}: {quote!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
