"""What the last `index-docs` of a docs folder was given, for a re-index that gives less.

A docs index is set up once (`--base-url`, `--mount rules=…`) and then re-indexed by a
cron line or a teammate who types only the folder. Without a memory that run unlinks
every page, or removes every page of a mounted folder — and the tickets that follow
name no URL, or say no page covers a problem a mounted page answers. The SQLite docs
index keeps the last run's folders, base URL and mounts beside its pages (`docs_meta`);
a run over the same folder that leaves a setting out keeps it, and says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from docloop import db
from docloop.config import Settings
from docloop.errors import InputError

log = logging.getLogger(__name__)
MOUNTS_META = "mounts"  # the (prefix, folder) pairs of the last run, JSON
ROOT_META = "root"  # the folder of the last run's pages, resolved
GIVEN_META = "given_root"  # the folder the last run was given (its PATH), resolved
BASE_URL_META = "base_url"  # the URL the last run linked its pages under ('' for none)
_KEYS = (MOUNTS_META, ROOT_META, GIVEN_META, BASE_URL_META)


@dataclass(frozen=True)
class LastIndex:
    """The settings the last `index-docs` of this same folder ran with."""

    base_url: str
    mounts: tuple[tuple[str, Path], ...]

    @property
    def prefixes(self) -> frozenset[str]:
        return frozenset(prefix for prefix, _ in self.mounts)


def stored_facts(settings: Settings) -> dict[str, str]:
    """What the SQLite docs index keeps about its last `index-docs` (`docs_meta`), read
    through a read-only connection: a run that then stops on bad input has written
    nothing. Empty for a first run, or another docs index (a Pinecone index's namespace is
    named after the base URL itself, and its keyword file is not opened for this)."""
    if settings.docs_index != "sqlite" or not settings.db_path.is_file():
        return {}
    conn = db.open_read_only(settings.db_path)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                        "'docs_meta'").fetchone() is None:
            return {}  # nothing was indexed here yet
        marks = ",".join("?" * len(_KEYS))
        rows = conn.execute(f"SELECT key, value FROM docs_meta WHERE key IN ({marks})", _KEYS)
        return {str(key): str(value) for key, value in rows}
    finally:
        conn.close()


def last_index(facts: Mapping[str, str], given: Path, pages: Path | None = None
               ) -> LastIndex | None:
    """The last run's settings when it indexed this same folder: the one given now
    (`given`, its PATH), or, when `pages` is known, the folder its pages were read from
    (the same site given by another path, or an index made before the given folder was
    kept); None for another folder or none indexed."""
    same = facts.get(GIVEN_META) == str(given.resolve()) or (
        pages is not None and facts.get(ROOT_META) == str(pages.resolve()))
    if not facts or not same:
        return None
    return LastIndex(facts.get(BASE_URL_META) or "", _read_mounts(facts.get(MOUNTS_META)))


def _read_mounts(stored: str | None) -> tuple[tuple[str, Path], ...]:
    """The stored mounts; none from a value this version cannot read (said, not fatal:
    the run then indexes what it was given, as before the memory)."""
    try:
        pairs = json.loads(stored or "[]")
        return tuple((str(prefix), Path(folder)) for prefix, folder in pairs)
    except (json.JSONDecodeError, TypeError, ValueError):
        log.warning("the last index-docs' mounts could not be read (%r); give --mount for "
                    "each folder to index", stored)
        return ()


def remembered_base_url(settings: Settings, last: LastIndex | None) -> str | None:
    """The base URL the last run linked this folder's pages under, for a run that gives
    none."""
    if settings.docs_base_url is not None or last is None or not last.base_url:
        return None
    log.info("linking pages under %s, as the last index-docs of this folder did; "
             "--base-url changes it (--base-url '' links none)", last.base_url)
    return last.base_url


def with_remembered_mounts(mounts: Sequence[tuple[str, Path]], unmounts: Collection[str],
                           last: LastIndex | None) -> list[tuple[str, Path]]:
    """`mounts` and each mount of the last run whose prefix this run neither mounts again
    nor leaves out (`--unmount`). A remembered folder that is gone is an error that says
    what to give: its pages would otherwise leave the index unseen."""
    given = {prefix for prefix, _ in mounts}
    both = sorted(given & set(unmounts))
    if both:
        raise InputError(f"--mount and --unmount both name {both[0]}/: give one of them")
    kept = list(mounts)
    for prefix, folder in last.mounts if last is not None else ():
        if prefix in given or prefix in unmounts:
            continue
        if not folder.is_dir():
            raise InputError(f"the last index-docs of this folder mounted {folder} at "
                             f"{prefix}/, which is gone: give --mount {prefix}=FOLDER for its "
                             f"new place, or --unmount {prefix} to leave its pages out")
        log.info("mounting %s at %s/, as the last index-docs of this folder did; --unmount "
                 "%s leaves it out", folder, prefix, prefix)
        kept.append((prefix, folder))
    return kept


def say_unmounts(unmounts: Collection[str], last: LastIndex | None,
                 config_routes: Collection[str]) -> None:
    """Say what each `--unmount` leaves out: a docs instance the site's config publishes
    there (left out this run), or nothing at all when the last run of this folder mounted
    nothing there (a typo). Without a last run of this folder there is nothing to compare."""
    for prefix in sorted(unmounts):
        if prefix in config_routes:
            log.info("--unmount %s: leaving out the docs instance the site's config "
                     "publishes under /%s, for this run (the config brings it back)",
                     prefix, prefix)
        elif last is not None and prefix not in last.prefixes:
            log.warning("--unmount %s: the last index-docs of this folder mounted nothing at "
                        "%s/", prefix, prefix)
