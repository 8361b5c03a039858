"""The daemon's operations loop: every endpoint verified hourly, notifications checked every minute.

It runs beside the renewal scheduler (its own thread) and only needs an object with ``verify()`` and
``notify_check(log)``; an error costs one log line and the loop goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..core.errors import ZtError

VERIFY_EVERY = 3600.0
NOTIFY_EVERY = 60.0


class Watched(Protocol):
    """What the loop calls (CertificateService provides both)."""

    def verify(self) -> list[Any]: ...

    def notify_check(self, log: Callable[[str], None]) -> list[str]: ...


def run_watch(target: Watched, cancel: threading.Event, log: Callable[[str], None], *,
              verify_every: float = VERIFY_EVERY, notify_every: float = NOTIFY_EVERY,
              monotonic: Callable[[], float] = time.monotonic) -> None:
    """Verify and notify until ``cancel`` is set."""
    next_verify = monotonic()
    while not cancel.is_set():
        if monotonic() >= next_verify:
            _guarded(lambda: _log_bad(target.verify(), log), log, "verify")
            next_verify = monotonic() + verify_every
        _guarded(lambda: target.notify_check(log), log, "notifications")
        cancel.wait(notify_every)


def start_watch(target: Watched, cancel: threading.Event, log: Callable[[str], None]) -> threading.Thread:
    """``run_watch`` in a daemon thread."""
    thread = threading.Thread(target=run_watch, args=(target, cancel, log), name="zt-watch", daemon=True)
    thread.start()
    return thread


def _log_bad(checks: list[Any], log: Callable[[str], None]) -> None:
    for check in checks:
        if not check.ok:
            log(f"verify {check.name} {check.endpoint}: {check.state} {check.served_serial or check.error}")


def _guarded(step: Callable[[], object], log: Callable[[str], None], what: str) -> None:
    try:
        step()
    except ZtError as exc:
        log(f"{what}: {exc.message}")


class Ordered(Protocol):
    """What ``after_order`` needs (CertificateService provides it)."""

    @property
    def store(self) -> Any: ...

    @property
    def paths(self) -> Any: ...

    @property
    def clock(self) -> Any: ...

    def certificate(self, name: str) -> Any: ...

    def notify_check(self, log: Callable[[str], None]) -> list[str]: ...


def after_order(target: Ordered, names: list[str], log: Callable[[str], None], *,
                cancel: threading.Event | None = None) -> list[Any]:
    """Call once orders have ended: ``names`` (those that deployed a new certificate) get their endpoints
    verified, waiting a little for the web server's reload, and recorded; then the notifications that
    are due go out (failures included). Errors are logged, never raised; returns the checks."""
    from .verify import record_checks, verify_after_deploy

    checks: list[Any] = []
    for name in names:
        spec = target.certificate(name)
        if spec.verify:
            checks += verify_after_deploy(spec, target.store, cancel=cancel)
    if checks:
        _guarded(lambda: record_checks(target.paths.data_dir, checks, target.clock.now().isoformat()), log,
                 "verify")
        _log_bad(checks, log)
    _guarded(lambda: target.notify_check(log), log, "notifications")
    return checks
