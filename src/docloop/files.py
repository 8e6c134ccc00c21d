"""Writing files so that a reader never sees half of one, and no one else reads them.

Everything docloop keeps under DOCLOOP_HOME (database, outbox, reports, run
lock) carries community messages or their traces, so folders it creates are
0700 and files 0600: the owner's, whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
TEMP_PREFIX = ".tmp-"


def ensure_private_dir(path: Path) -> None:
    """Create `path` and any missing parents 0700; folders that exist are left alone."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=PRIVATE_DIR)
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is filtered by the umask


def tighten(path: Path) -> bool:
    """Make an existing file owner-only; True when it was readable by others before."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if not mode & 0o077:
        return False
    os.chmod(path, mode & 0o700)
    return True


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place.

    A crash leaves either the old file or the new one, never a truncated mix;
    the temporary file is removed if writing fails (a kill leaves it for
    `remove_stale_temps`). The file is 0600 (mkstemp's mode).
    """
    tmp = _written_beside(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_new(path: Path, text: str) -> None:
    """Write `text` to `path` only if no file is there, whole or not at all.

    Checking first and writing later would replace a file made in between (a
    labelling template the user has started filling), so the complete temporary
    file is hard-linked into place, which fails when the name exists. Raises
    FileExistsError then; the file is 0600 like write_atomic's.
    """
    tmp = _written_beside(path, text)
    try:
        os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _written_beside(path: Path, text: str) -> str:
    """A private temporary file in `path`'s folder holding `text` (removed if writing
    fails); the caller moves it into place."""
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temporary files a killed `write_atomic` left in `folder`.

    Call it only while holding the run lock: then no other docloop process is
    between its mkstemp and its rename in that folder.
    """
    if not folder.is_dir():
        return []
    stale = sorted(folder.glob(f"{TEMP_PREFIX}*"))
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return stale
