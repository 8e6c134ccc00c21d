"""One writer per DOCLOOP_HOME: the run lock.

`docloop run` and `docloop tickets sync` (and `set-status`, which rewrites
outbox files) hold an advisory lock on `DOCLOOP_HOME/run.lock` for their whole
length. Two runs at once would each decide "create" for the same ticket, and
report it, while only one of them really created it; holding the home makes
every report true. A second run waits a bounded time, then stops with the
holder's pid. The lock is the kernel's (flock): a killed holder releases it,
so a stale lock file never blocks anyone.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from docloop.errors import ConfigError
from docloop.files import PRIVATE_FILE, ensure_private_dir

LOCK_NAME = "run.lock"
DEFAULT_WAIT_S = 30.0
_POLL_S = 0.1


class HomeBusyError(ConfigError):
    """Another docloop process holds the home for longer than we would wait."""


@contextmanager
def hold_home(home: Path, wait_s: float = DEFAULT_WAIT_S) -> Iterator[None]:
    """Hold the run lock of `home` for the block; wait up to `wait_s` seconds for it."""
    ensure_private_dir(home)
    path = home / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        _acquire(fd, path, wait_s)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _acquire(fd: int, path: Path, wait_s: float) -> None:
    deadline = time.monotonic() + max(wait_s, 0.0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise ConfigError(f"cannot lock {path}: {exc}") from None
        if time.monotonic() >= deadline:
            raise HomeBusyError(
                f"another docloop run (pid {_holder(fd)}) holds {path.parent}; waited "
                f"{wait_s:.0f} s. Run again when it has finished, or use another DOCLOOP_HOME")
        time.sleep(_POLL_S)


def _holder(fd: int) -> str:
    """The pid the holder wrote into the lock file ('unknown' if it has not yet)."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else "unknown"
