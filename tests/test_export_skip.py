"""An export imported before is skipped by its stat, hashed only when the stat changed.

Before: every run hashed every export file again (time in proportion to the
whole history). Now its size, mtime and inode are recorded at import; while
they match, the file is neither read nor hashed, and any change to them means
hashing again, so an edited export is still imported.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from docloop import registry
from docloop.backends.sources import dce
from docloop.backends.sources.dce import ExportSource
from docloop.config import Settings, load_settings
from docloop.stages.ingest import ingest
from tests.dce_helpers import export, message, write

HOUR_AGO = time.time() - 3600


def _aged(path: Path, when: float = HOUR_AGO) -> Path:
    os.utime(path, (when, when))
    return path


def _watermarks(source: ExportSource, known: dict[str, str]) -> dict[str, str]:
    """What ingest would save after reading `source` (the batches' watermarks)."""
    saved = dict(known)
    for batch in source.batches(None, known):
        if batch.watermark_key and batch.watermark is not None:
            saved[batch.watermark_key] = batch.watermark
    return saved


def _never_hash(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    hashed: list[Path] = []
    real = dce.imported_key
    monkeypatch.setattr(dce, "imported_key", lambda p: hashed.append(p) or real(p))
    return hashed


def test_an_unchanged_file_is_not_hashed_again(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = _aged(write(tmp_path / "a.json", export([message("1")])))
    source = ExportSource.from_spec("discord-export", str(path), Settings())
    saved = _watermarks(source, {})
    assert dce.stat_key(path) in saved
    hashed = _never_hash(monkeypatch)
    assert list(source.batches(None, saved)) == []
    assert hashed == []


def test_a_touched_but_identical_file_is_hashed_once_then_trusted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _aged(write(tmp_path / "a.json", export([message("1")])))
    source = ExportSource.from_spec("discord-export", str(path), Settings())
    saved = _watermarks(source, {})
    _aged(path, HOUR_AGO + 60)  # e.g. copied again with a new time, same bytes
    hashed = _never_hash(monkeypatch)
    assert [b.messages for b in source.batches(None, saved)] == [[]]  # only the new stat
    assert hashed == [path]
    again = _watermarks(source, saved)
    hashed.clear()
    assert list(source.batches(None, again)) == []
    assert hashed == []


@pytest.mark.parametrize("same_size", [False, True])
def test_a_changed_file_is_hashed_and_imported(tmp_path: Path, same_size: bool) -> None:
    path = _aged(write(tmp_path / "a.json", export([message("1", "hello")])))
    source = ExportSource.from_spec("discord-export", str(path), Settings())
    saved = _watermarks(source, {})
    text = "HELLO" if same_size else "hello again"
    _aged(write(path, export([message("1", text, edited="2024-03-01T11:00:00+02:00")])),
          HOUR_AGO + 60)
    got = [m for b in source.batches(None, saved) for m in b.messages]
    assert [m.content for m in got] == [text]


def test_a_file_written_just_now_keeps_no_stat(tmp_path: Path) -> None:
    """Within the clock's granularity a second write may leave size and mtime equal."""
    path = write(tmp_path / "a.json", export([message("1")]))
    source = ExportSource.from_spec("discord-export", str(path), Settings())
    assert dce.stat_key(path) not in _watermarks(source, {})


def test_a_second_ingest_of_an_old_folder_hashes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through ingest and the message store, as a run does."""
    folder = tmp_path / "exports"
    for n in range(3):
        _aged(write(folder / f"c{n}.json", export([message(str(n), minute=n)])))
    settings = load_settings(overrides={"home": tmp_path / "home",
                                        "sources": [f"discord-export:{folder}"]}, environ={})
    with registry.open_stores(settings) as stores:
        assert ingest(settings, stores, None).stored == 3
        hashed = _never_hash(monkeypatch)
        assert ingest(settings, stores, None).stored == 0
        assert hashed == []
