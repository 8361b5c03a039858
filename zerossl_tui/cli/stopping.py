"""Ending the daemon promptly once it is told to stop.

A stop (SIGTERM from systemd, Ctrl-C) cancels running orders and ends the scheduler; every write is atomic,
so nothing is left half-done. What may remain is a background thread blocked on a silent peer (an endpoint
check, a metrics scrape). The process must still end within seconds, not when that peer gives up.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

GRACE = 10.0  # seconds the other threads get to finish once the scheduler has stopped


def stop_metrics(server: Any, grace: float = 5.0) -> None:
    """Stop the metrics server (its ``shutdown()`` waits for the serving loop) within ``grace`` seconds."""
    stopper = threading.Thread(target=server.shutdown, name="metrics shutdown", daemon=True)
    stopper.start()
    stopper.join(grace)
    server.server_close()


def end_promptly(code: int, log: Callable[[str], None], grace: float = GRACE) -> int:
    """Return ``code`` once the other (non-daemon) threads have ended; if some are still busy after
    ``grace`` seconds, name them and end the process at once with ``code``."""
    deadline = time.monotonic() + grace
    for thread in _others():
        thread.join(max(0.0, deadline - time.monotonic()))
    busy = [thread.name for thread in _others() if thread.is_alive()]
    if not busy:
        return code
    log(f"still busy after {grace:.0f} s: {', '.join(busy)}; exiting anyway")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _others() -> list[threading.Thread]:
    current = threading.current_thread()
    return [thread for thread in threading.enumerate() if thread is not current and not thread.daemon]


def wait_for_storage(open_backend: Callable[[], object], cancel: threading.Event,
                     log: Callable[[str], None], longest: float = 30.0) -> None:
    """Return once ``open_backend()`` succeeds, trying again with backoff while it fails for a reason that
    may pass (a fleet database that is away); a settings error (exit 2) is raised at once. Returns early
    when ``cancel`` is set. Why: at boot the daemon may start before PostgreSQL, and the scheduler's
    wait between turns opens the backend too, so a daemon started then ended at once."""
    from ..core.errors import ZtError

    delay, said = 1.0, ""
    while not cancel.is_set():
        try:
            open_backend()
            return
        except ZtError as exc:
            if exc.exit_code != 1:
                raise
            if exc.message != said:
                log(f"waiting for storage: {exc.message}")
            said = exc.message
        cancel.wait(delay)
        delay = min(longest, delay * 2)
