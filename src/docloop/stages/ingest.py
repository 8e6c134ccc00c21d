"""The ingest stage: read every source, redact, store, and build conversations.

Each batch is redacted and stored, and its watermark saved, in one
transaction, so a run killed half-way resumes without losing or duplicating
messages. The analysis window is read back from the store, so it covers
earlier runs' messages too, whichever source they came from.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property

from docloop import registry
from docloop.backends.sources.base import Batch, ChannelCount, Source
from docloop.config import MAX_SINCE_DAYS, Settings
from docloop.errors import ConfigError
from docloop.sanitize import plausible_time
from docloop.stages.scrub import rescrub_stored, scrub_message, scrub_name, source_positions
from docloop.stages.window import MessageWindow, WindowConversations
from docloop.stores import MessageRepository, Stores

log = logging.getLogger(__name__)
#: a century: more is a typo (and overflows dates), 'all' says it
#: the `skipped` reason for messages whose timestamp cannot be right
IMPLAUSIBLE_TIME = "timestamp before 2015 or more than a day ahead"
NO_SOURCES = ("no sources configured: give --source discord-export:PATH (or discord:CHANNEL_ID, "
              "discord-guild:GUILD_ID), or set sources in docloop.toml")


@dataclass
class IngestResult:
    """What ingest stored this run and the window later stages analyse (read lazily).

    The window is grouped into conversations only when first asked for: a run
    that reuses the last analysis (`stages.reuse`) never needs it, and grouping
    reads every message's outline in the window.
    """

    stored: int
    store: MessageRepository
    since: datetime | None
    skipped: dict[str, int] = field(default_factory=dict)

    @cached_property
    def window(self) -> MessageWindow:
        return MessageWindow(self.store, self.since)

    @property
    def conversations(self) -> WindowConversations:
        return self.window.conversations

    @property
    def window_size(self) -> int:
        """How many messages the window holds, without grouping it when it is not yet."""
        if "window" in self.__dict__:
            return len(self.window)
        return self.store.count(self.since)


def parse_since(value: str | int | None, now: datetime) -> datetime | None:
    """`--since DAYS|all` as a start time: None for all history."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "all"):
        return None
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = 0
    if isinstance(value, bool) or days <= 0:
        raise ConfigError(f"invalid --since '{value}': use a positive number of days or 'all'")
    if days > MAX_SINCE_DAYS:
        raise ConfigError(f"invalid --since '{value}': at most {MAX_SINCE_DAYS} days; "
                          "use 'all' for the whole history")
    return now - timedelta(days=days)


def ingest(settings: Settings, stores: Stores, since: datetime | None) -> IngestResult:
    """Store new messages from every configured source; return the window since `since`.

    Atomic sources (exports) are stored first, all in one transaction: a bad
    file in any of them stops the run with the database as it was, before any
    live source is read. Live sources then commit batch by batch.
    """
    if not settings.sources:
        raise ConfigError(NO_SOURCES)
    sources = [registry.build_source(spec, settings) for spec in settings.sources]
    store = stores.messages
    rescrub_stored(stores)
    watermarks = source_positions(store.watermarks())
    stored = 0
    skipped: Counter[str] = Counter()
    now = datetime.now(UTC)
    with stores.transaction():
        for source in (s for s in sources if s.atomic):
            stored += _store_source(stores, store, source, since, watermarks, skipped, now)
    for source in (s for s in sources if not s.atomic):
        stored += _store_source(stores, store, source, since, watermarks, skipped, now)
    result = IngestResult(stored=stored, store=store, since=since, skipped=dict(skipped))
    log.info("stored %d new or changed messages; %d in the window", stored, result.window_size)
    return result


def _store_source(stores: Stores, store: MessageRepository, source: Source,
                  since: datetime | None, watermarks: Mapping[str, str],
                  skipped: Counter[str], now: datetime) -> int:
    stored = 0
    for batch in source.batches(since, watermarks):
        batch = _plausible_only(batch, now)
        stored += _store_batch(stores, store, batch)
        skipped.update(batch.skipped)
    log.info("ingested %s", source.spec)
    return stored


def _plausible_only(batch: Batch, now: datetime) -> Batch:
    """The batch without messages dated before Discord existed or in the future.

    Such a timestamp comes from a hand-edited or broken export; stored, it would
    skew every insight's recency (one message dated 9999 makes all others old).
    """
    kept = [m for m in batch.messages if plausible_time(m.timestamp, now)]
    if len(kept) == len(batch.messages):
        return batch
    dropped = len(batch.messages) - len(kept)
    log.warning("skipped %d message(s) in %s: %s", dropped,
                batch.watermark_key or "a batch", IMPLAUSIBLE_TIME)
    skipped = Counter(batch.skipped)
    skipped[IMPLAUSIBLE_TIME] += dropped
    return replace(batch, messages=kept, skipped=dict(skipped))


def _store_batch(stores: Stores, store: MessageRepository, batch: Batch) -> int:
    """Redact and store a batch, then save its watermark, all or nothing."""
    with stores.transaction():
        changed = store.upsert(scrub_message(m) for m in batch.messages)
        if batch.watermark_key and batch.watermark is not None:
            store.set_watermark(batch.watermark_key, batch.watermark)
    return changed


def check_sources(settings: Settings) -> list[tuple[str, list[ChannelCount]]]:
    """What each configured source can read, with counts (nothing is stored)."""
    if not settings.sources:
        raise ConfigError(NO_SOURCES)
    sources = [registry.build_source(spec, settings) for spec in settings.sources]
    return [(source.spec, [replace(c, name=scrub_name(c.name)) for c in source.check()])
            for source in sources]
