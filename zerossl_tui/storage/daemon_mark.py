"""Which data folders a daemon is using right now: a shared ``flock`` on ``daemon.lock`` in the data folder,
held by every running daemon of this host for as long as it runs.

`storage use` must not switch backends under a running daemon (the daemon would go on writing to the old
one), so it asks for the same lock exclusively and refuses while any daemon holds it. The kernel drops a
dead daemon's lock, so a crash never leaves the folder marked. Per host, whatever the backend: a fleet's
other daemons run on other hosts and keep their own data folders.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .fsutil import ensure_dir, storage_error
from .locks import lock_taken

MARK_FILE = "daemon.lock"


@contextmanager
def daemon_running(data_dir: Path) -> Iterator[None]:
    """Mark ``data_dir`` as used by a daemon until the block ends (several daemons may share it)."""
    fd = _open(data_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def daemon_holds(data_dir: Path) -> bool:
    """True when a daemon of this host is using ``data_dir`` right now."""
    return lock_taken(Path(data_dir) / MARK_FILE, exclusive=True)


def _open(data_dir: Path) -> int:
    path = ensure_dir(Path(data_dir)) / MARK_FILE
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise storage_error("open", path, exc) from None
