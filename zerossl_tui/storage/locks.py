"""A lock per certificate, across processes and threads: ``flock`` on ``locks/<name>.lock``.

The kernel releases a ``flock`` when its holder dies, so a crashed process never leaves a stale lock: the
next one simply takes it. Each ``CertLock`` opens its own file description, so two threads of one
process exclude each other just like two processes do. Lock files are never deleted (deleting one while
another process waits on it would let two holders in); they hold the holder's pid, for diagnostics only.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import threading
from pathlib import Path

from ..core.errors import StorageError
from .fsutil import ensure_dir, storage_error
from .lockwait import raise_unless_held, wait_for_lock
from .paths import safe_name

POLL_SECONDS = 0.1


def lock_path(locks_dir: Path, name: str) -> Path:
    """``locks/<name>.lock``."""
    return Path(locks_dir) / f"{safe_name(name, 'certificate')}.lock"


class CertLock:
    """Exclusive right to issue, renew or revoke one certificate."""

    def __init__(self, locks_dir: Path, name: str) -> None:
        self.name = name
        self.path = lock_path(locks_dir, name)
        self._fd: int | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free, without waiting; True when held (also if already held)."""
        with self._guard:
            if self._fd is not None:
                return True
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            except OSError as exc:
                os.close(fd)
                raise storage_error("lock", self.path, exc) from None
            self._fd = fd
            _note_holder(fd)
            return True

    def is_locked(self) -> bool:
        """True when anyone holds this certificate's lock (this object included): an order is running."""
        return self.held or is_locked(self.path.parent, self.name)

    def acquire(self, timeout: float | None = None, cancel: threading.Event | None = None) -> bool:
        """Wait for the lock: up to ``timeout`` seconds (None: no limit) or until ``cancel`` is set.

        Polls every POLL_SECONDS; a set ``cancel`` cuts the wait short at once. True when held.
        """
        return wait_for_lock(self.try_acquire, timeout, cancel, POLL_SECONDS)

    def acquire_or_raise(self, timeout: float | None = None, cancel: threading.Event | None = None) -> None:
        """``acquire``, raising Cancelled when ``cancel`` was set and LockBusy when the time ran out."""
        raise_unless_held(self.acquire(timeout, cancel), self.name, cancel,
                          lambda: busy_message(self.path.parent, self.name))

    def release(self) -> None:
        """Give the lock back (nothing happens when it is not held)."""
        with self._guard:
            fd, self._fd = self._fd, None
            if fd is None:
                return
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> CertLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _open(self) -> int:
        ensure_dir(self.path.parent)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise _open_error(self.path, exc) from None
        try:
            _check_lock_file(fd, self.path)
        except BaseException:
            os.close(fd)
            raise
        return fd


def _open_error(path: Path, exc: OSError) -> StorageError:
    if exc.errno == errno.ELOOP:
        return StorageError(f"lock file {path} is a symbolic link: remove it (a lock file is never followed)")
    return storage_error("open lock file", path, exc)


def _check_lock_file(fd: int, path: Path) -> None:
    """Refuse a lock file that is not our own plain file: it is written (the holder's pid), and a hard link
    planted there would let us overwrite the file it links to."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid != os.geteuid():
        raise StorageError(
            f"lock file {path} is not a plain file of this user (a link, or owned by another user): remove it"
        )


def _note_holder(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # the pid is only a diagnostic


def is_locked(locks_dir: Path, name: str) -> bool:
    """True when some process (or another CertLock of this one) holds ``name``'s lock right now.

    It tests by taking a shared lock for an instant, so a ``try_acquire`` at that very moment can fail
    once: issuers should wait with ``acquire(timeout=...)`` rather than give up after one try.
    """
    return lock_taken(lock_path(locks_dir, name))


def lock_taken(path: Path, *, exclusive: bool = False) -> bool:
    """True when another open file holds an ``flock`` on ``path`` that a shared (or, with ``exclusive``, any)
    lock would conflict with; False when the file does not exist. Tested by locking for an instant."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise _open_error(path, exc) from None
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def holder_pid(locks_dir: Path, name: str) -> int | None:
    """The pid written by the last holder, when the lock is held; for messages only."""
    try:
        if not is_locked(locks_dir, name):
            return None
    except StorageError:
        return None
    try:
        fd = os.open(lock_path(locks_dir, name), os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        text = handle.read(32).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def busy_message(locks_dir: Path, name: str) -> str:
    """``NAME is being issued by process PID``: one line for LockBusy."""
    pid = holder_pid(locks_dir, name)
    by = f" by process {pid}" if pid else " by another process"
    return f"{name}: another order for it is running{by}; try again when it has finished"
