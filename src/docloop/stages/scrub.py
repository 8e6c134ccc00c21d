"""What every stored message goes through: cleaning, then redaction, also after upgrades.

A message is cleaned (`sanitize.clean_message`) and redacted
(`ingest.redact_message`) before it is stored. When a newer docloop redacts
more (a new token format, thread names), messages stored by an older one
still hold what the new rules catch. So the rules' fingerprint is kept with
the messages, and the first run under new rules scrubs the stored history
once, in one transaction, before anything reads it.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from docloop.models import Message
from docloop.redact import redact, rules_fingerprint
from docloop.sanitize import clean_line, clean_message
from docloop.stores import Stores

log = logging.getLogger(__name__)

#: the watermark holding the fingerprint of the rules the stored messages went through
SCRUB_KEY = "scrub:rules"
#: bump when `clean_message` or the set of redacted fields changes (rules fingerprint themselves)
SCRUB_VERSION = "1"
#: every free-text field of `Message`: what a user typed or named (channels and threads
#: are named by users too); the rest are ids, times, counts and flags
REDACTED_FIELDS = ("content", "author_name", "channel_name", "thread_name")
#: the fields that name someone or somewhere: on the 10k-message benchmark 21,000 of them
#: hold 1,250 distinct names (a community's few channels and threads, its regulars)
NAME_FIELDS = frozenset({"author_name", "channel_name", "thread_name"})
#: how many redacted names are remembered (a few hundred kB at most)
NAMES_KEPT = 4096


def redact_message(message: Message) -> Message:
    """The message with secrets and personal data removed from every text field."""
    update = {name: (_redact_name(value) if name in NAME_FIELDS else redact(value))
              for name in REDACTED_FIELDS if isinstance(value := getattr(message, name), str)}
    return message.model_copy(update=update)


@lru_cache(maxsize=NAMES_KEPT)
def _redact_name(name: str) -> str:
    """`redact`, remembered: every rule still runs on each distinct name, but a name that
    recurs on thousands of messages is not redacted again each time (redaction was a
    third of ingesting, and two thirds of its calls were for names)."""
    return redact(name)


def scrub_message(message: Message) -> Message:
    """The one path every message takes before it is stored."""
    return redact_message(clean_message(message))


def scrub_name(name: str) -> str:
    """A channel or thread name as docloop shows it (`sources check` prints names)."""
    return redact(clean_line(name))


def source_positions(watermarks: dict[str, str]) -> dict[str, str]:
    """The watermarks that are sources' stream positions (not the scrub marker)."""
    return {key: value for key, value in watermarks.items() if key != SCRUB_KEY}


def current_rules() -> str:
    return f"{SCRUB_VERSION}:{rules_fingerprint()}"


def rescrub_stored(stores: Stores) -> int:
    """Scrub the stored history again when the rules changed since it was stored.

    Returns how many messages changed. A fresh database has nothing to scrub and
    just records the rules.
    """
    rules = current_rules()
    store = stores.messages
    if store.watermarks(SCRUB_KEY).get(SCRUB_KEY) == rules:
        return 0
    with stores.transaction():
        changed = store.rewrite(scrub_message) if store.count() else 0
        store.set_watermark(SCRUB_KEY, rules)
    if changed:
        log.warning("scrubbed %d stored message(s) again under the current redaction rules",
                    changed)
    return changed
