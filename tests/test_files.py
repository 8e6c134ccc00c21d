"""write_atomic replaces a file whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from docloop.files import write_atomic, write_new


def test_writes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "ticket.md"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text(encoding="utf-8") == "two"
    assert [p.name for p in target.parent.iterdir()] == ["ticket.md"]


def test_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "ticket.md"
    write_atomic(target, "old")

    def failing_replace(src: str, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("docloop.files.os.replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["ticket.md"]


def test_write_new_makes_a_private_file_and_never_replaces_one(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "labels.jsonl"
    write_new(target, "first\n")
    assert target.read_text(encoding="utf-8") == "first\n"
    assert target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        write_new(target, "second\n")
    assert target.read_text(encoding="utf-8") == "first\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["labels.jsonl"]
