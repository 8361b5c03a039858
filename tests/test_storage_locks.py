"""Per-certificate locks: one issuer at a time across processes and threads; a dead holder frees it."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from zerossl_tui.core.errors import Cancelled, LockBusy
from zerossl_tui.storage.locks import CertLock, holder_pid, is_locked

HOLDER = """
import sys
from pathlib import Path
from zerossl_tui.storage.locks import CertLock
lock = CertLock(Path(sys.argv[1]), "shop")
assert lock.try_acquire()
print("held", flush=True)
sys.stdin.readline()
lock.release()
print("released", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def holder(tmp_path: Path):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "locks")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def tell(proc: subprocess.Popen[str]) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def test_second_process_waits_until_the_first_releases(tmp_path: Path, holder) -> None:
    locks = tmp_path / "locks"
    lock = CertLock(locks, "shop")
    assert is_locked(locks, "shop") and lock.is_locked()
    assert holder_pid(locks, "shop") == holder.pid
    assert not lock.try_acquire()
    assert not lock.acquire(timeout=0.3)
    assert tell(holder) == "released"
    assert lock.acquire(timeout=5)
    lock.release()


def test_lock_of_a_killed_process_is_taken_over(tmp_path: Path, holder) -> None:
    lock = CertLock(tmp_path / "locks", "shop")
    assert not lock.try_acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert lock.acquire(timeout=5)
    assert holder_pid(tmp_path / "locks", "shop") not in (None, holder.pid)
    lock.release()
    assert not is_locked(tmp_path / "locks", "shop")


class Watched(threading.Event):
    """A cancel event that tells when a waiter has found the lock taken: ``acquire`` waits on its cancel
    event between tries."""

    def __init__(self) -> None:
        super().__init__()
        self.waited = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waited.set()
        return super().wait(timeout)


def _waiter(lock: CertLock, timeout: float, cancel: Watched) -> tuple[threading.Thread, list[object]]:
    """A thread that waits for ``lock``; once the test saw it waiting, it holds True, False or the error."""
    got: list[object] = []

    def wait() -> None:
        try:
            got.append(lock.acquire_or_raise(timeout=timeout, cancel=cancel) is None)
        except Exception as exc:  # handed to the test
            got.append(exc)

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    assert cancel.waited.wait(30), "the waiter never found the lock taken"
    return thread, got


def test_threads_of_one_process_exclude_each_other(tmp_path: Path) -> None:
    first, second = CertLock(tmp_path, "shop"), CertLock(tmp_path, "shop")
    assert first.try_acquire()
    waiter, got = _waiter(second, 600, Watched())
    assert waiter.is_alive() and got == [] and not second.held  # it is waiting, and did not get in
    first.release()
    waiter.join(30)
    assert got == [True] and second.held
    second.release()


def test_different_certificates_do_not_block_each_other(tmp_path: Path) -> None:
    with CertLock(tmp_path, "shop"), CertLock(tmp_path, "blog") as blog:
        assert blog.held
    assert not is_locked(tmp_path, "shop") and not is_locked(tmp_path, "blog")


def test_cancel_cuts_the_wait_short(tmp_path: Path) -> None:
    """The waiter would wait 10 minutes: only the cancel can end it within the test's 30 s."""
    owner = CertLock(tmp_path, "shop")
    owner.try_acquire()
    cancel = Watched()
    waiter, got = _waiter(CertLock(tmp_path, "shop"), 600, cancel)
    cancel.set()
    waiter.join(30)
    assert len(got) == 1 and isinstance(got[0], Cancelled)
    owner.release()


def test_busy_lock_says_who_holds_it(tmp_path: Path) -> None:
    owner = CertLock(tmp_path, "shop")
    owner.try_acquire()
    with pytest.raises(LockBusy) as info:
        CertLock(tmp_path, "shop").acquire_or_raise(timeout=0.1)
    assert "shop" in info.value.message and "process" in info.value.message
    owner.release()


def test_nothing_is_locked_before_anyone_asked(tmp_path: Path) -> None:
    assert not is_locked(tmp_path / "never-created", "shop")
