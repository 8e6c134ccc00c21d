"""What the last `index-docs` of a docs folder was given, for a re-index that gives less.

A docs index is set up once (`--base-url`, `--mount rules=…`) and then re-indexed by a
cron line or a teammate who types only the folder. Without a memory that run unlinks
every page, or removes every page of a mounted folder — and the tickets that follow
name no URL, or say no page covers a problem a mounted page answers. The SQLite docs
index keeps the last run's root, base URL and mounts beside its pages (`docs_meta`); a
run over the same root that leaves a setting out keeps it, and says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from docloop import registry
from docloop.config import Settings
from docloop.errors import InputError

log = logging.getLogger(__name__)
MOUNTS_META = "mounts"  # the (prefix, folder) pairs of the last run, JSON
ROOT_META = "root"  # the folder of the last run's pages, resolved
BASE_URL_META = "base_url"  # the URL the last run linked its pages under ('' for none)


@dataclass(frozen=True)
class LastIndex:
    """The settings the last `index-docs` of this same folder ran with."""

    base_url: str
    mounts: tuple[tuple[str, Path], ...]


def last_index(settings: Settings, pages: Path) -> LastIndex | None:
    """The last run's settings when it indexed this same folder (`pages`, the folder the
    site's pages are read from); None for another folder, a first run (nothing is
    opened before the pages are read), or an index other than the SQLite one (a Pinecone
    index's namespace is named after the base URL itself, and its keyword file is not
    opened for this)."""
    if settings.docs_index != "sqlite" or settings.store != "sqlite" \
            or not settings.db_path.is_file():
        return None
    from docloop.backends.docs_index.keyword_store import KeywordStore

    with registry.open_stores(settings) as stores:
        store = KeywordStore(stores.docs_conn)
        root, base_url, mounts = (store.meta(ROOT_META), store.meta(BASE_URL_META),
                                  store.meta(MOUNTS_META))
    if root != str(pages.resolve()):
        return None
    return LastIndex(base_url or "", _read_mounts(mounts))


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
    before = {prefix for prefix, _ in last.mounts} if last is not None else set(unmounts)
    for prefix in sorted(set(unmounts) - before):
        log.warning("--unmount %s: the last index-docs of this folder mounted nothing at "
                    "%s/", prefix, prefix)
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
