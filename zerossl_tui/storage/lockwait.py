"""Waiting for a lock, the same way for every backend: poll ``try_acquire`` until it wins, the time runs
out, or a cancel event is set (which cuts the wait short at once: no sleep a cancel cannot interrupt)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..core.errors import Cancelled, LockBusy


def wait_for_lock(try_acquire: Callable[[], bool], timeout: float | None, cancel: threading.Event | None,
                  poll: float) -> bool:
    """Call ``try_acquire`` every ``poll`` seconds for up to ``timeout`` seconds (None: no limit) or until
    ``cancel`` is set; True when it won."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not try_acquire():
        if cancel is not None and cancel.is_set():
            return False
        left = poll if deadline is None else min(poll, deadline - time.monotonic())
        if left <= 0:
            return False
        (cancel or threading.Event()).wait(left)
    return True


def raise_unless_held(held: bool, name: str, cancel: threading.Event | None, busy: Callable[[], str]) -> None:
    """After a wait for ``name``'s lock: Cancelled when ``cancel`` cut it short, LockBusy (``busy()``, which
    names the holder) when the time ran out, nothing when the lock is held."""
    if held:
        return
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{name}: cancelled while waiting for another order to finish")
    raise LockBusy(busy())
