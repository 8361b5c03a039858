"""The renewal scheduler shared by the dashboard and `zerossl-tui daemon`.

It sleeps until the earliest next-renewal moment (not on a fixed poll), wakes early when told (settings
changed, cancel), and renews what is due with the service's concurrency limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from ..core.errors import ZtError
from ..core.models import ProgressEvent
from .service import CertificateService

MAX_SLEEP = 3600.0
MIN_SLEEP = 0.5


class Scheduler:
    """Renews due certificates forever; ``wake()`` makes it look again at once."""

    def __init__(
        self,
        service: CertificateService,
        cancel: threading.Event,
        log: Callable[[str], None],
        progress: Callable[[ProgressEvent], None] | None = None,
    ) -> None:
        self.service = service
        self.cancel = cancel
        self.log = log
        self.progress = progress or (lambda event: None)
        self._wake = threading.Event()

    def wake(self) -> None:
        """Look at the schedule again now (settings changed, a certificate was added)."""
        self._wake.set()

    def run(self) -> None:
        """Loop until cancelled."""
        while not self.cancel.is_set():
            self._wake.clear()
            try:
                self.service.reload()
                self.tick()
            except ZtError as exc:
                self.log(f"error: {exc.message}")
            delay = self.seconds_until_next()
            self._sleep(delay)

    def tick(self) -> None:
        """Renew everything that is due now."""
        due = [v.spec.name for v in self.service.views() if _due(v.next_renewal, self.service.clock.now())]
        if not due:
            return
        self.log(f"renewing {len(due)} due: {', '.join(due[:10])}" + (" ..." if len(due) > 10 else ""))
        results = self.service.renew(due, progress=self.progress, cancel=self.cancel)
        for name, info, err in results:
            if err is not None:
                self.log(f"{name}: failed: {err}")
            elif info is not None:
                self.log(f"{name}: renewed, serial {info.serial}, valid until {info.not_after.isoformat()}")

    def seconds_until_next(self) -> float:
        """Seconds until the earliest next renewal, clamped to [MIN_SLEEP, MAX_SLEEP]."""
        now = self.service.clock.now()
        moments = [v.next_renewal for v in self.service.views() if v.next_renewal is not None]
        if not moments:
            return MAX_SLEEP
        delay = (min(moments) - now).total_seconds()
        return max(MIN_SLEEP, min(MAX_SLEEP, delay))

    def _sleep(self, seconds: float) -> None:
        end = self.service.clock.monotonic() + seconds
        while not self.cancel.is_set() and not self._wake.is_set():
            left = end - self.service.clock.monotonic()
            if left <= 0:
                return
            self._wake.wait(min(left, 1.0))


def _due(at: datetime | None, now: datetime) -> bool:
    return at is not None and at <= now


def run_daemon(service: CertificateService, cancel: threading.Event, log: Callable[[str], None]) -> int:
    """`zerossl-tui daemon`: run the scheduler until SIGTERM / Ctrl-C."""
    count = len(service.settings.certificates)
    log(f"daemon started: {count} certificate(s), settings {service.paths.config_file}")
    scheduler = Scheduler(service, cancel, log)
    try:
        scheduler.run()
    except KeyboardInterrupt:
        cancel.set()
    log("daemon stopped")
    return 0
