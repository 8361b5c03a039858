"""The renewal scheduler shared by the dashboard and `zerossl-tui daemon`.

It sleeps until the earliest next-renewal moment (not on a fixed poll), wakes early when told (settings
changed, cancel), and renews what is due with the service's concurrency limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import ZtError
from ..core.models import ProgressEvent, RenewalState
from .accounts import open_session
from .ari import ari_wanted, refresh_ari
from .service import CertificateService

if TYPE_CHECKING:
    from ..engine.session import AcmeSession

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
        """Finish deployments a killed process left, ask ARI where it is time to, renew what is due."""
        from .orders import heal_deploys

        heal_deploys(self.service)
        self.refresh_ari()
        due = self.due_names()
        if due:
            self.renew_names(due)

    def due_names(self) -> list[str]:
        """Certificates whose next renewal moment has come."""
        views = self.service.views()
        now = self.service.clock.now()  # after views(): a never-issued certificate is due "now"
        return [v.spec.name for v in views if _due(v.next_renewal, now)]

    def renew_names(self, due: list[str]) -> None:
        """Renew ``due`` with the service's concurrency limit and log each result."""
        self.log(f"renewing {len(due)} due: {', '.join(due[:10])}" + (" ..." if len(due) > 10 else ""))
        results = self.service.renew(due, progress=self.progress, cancel=self.cancel)
        for name, info, err in results:
            if err is not None:
                self.log(f"{name}: failed: {err}")
            elif info is not None:
                self.log(f"{name}: renewed, serial {info.serial}, valid until {info.not_after.isoformat()}")

    def refresh_ari(self) -> None:
        """One ARI question per certificate whose retry time has come (one session per provider)."""
        now = self.service.clock.now()
        states = self.service.journal.all_states()
        sessions: dict[str, AcmeSession] = {}
        for spec in self.service.settings.certificates.values():
            info = self.service.current_info(spec.name)
            if self.cancel.is_set() or not ari_wanted(states.get(spec.name, RenewalState()),
                                                      info.not_after if info else None, now):
                continue
            try:
                if spec.provider not in sessions:
                    sessions[spec.provider] = open_session(self.service, spec.provider, cancel=self.cancel)
                refresh_ari(self.service, spec.name, session=sessions[spec.provider])
            except ZtError as exc:  # one certificate's bad provider must not stop the others
                self.log(f"{spec.name}: renewal information: {exc.message}")

    def seconds_until_next(self) -> float:
        """Seconds until the earliest next renewal, clamped to [MIN_SLEEP, MAX_SLEEP]."""
        now = self.service.clock.now()
        moments = [v.next_renewal for v in self.service.views() if v.next_renewal is not None]
        if not moments:
            return MAX_SLEEP
        delay = (min(moments) - now).total_seconds()
        return max(MIN_SLEEP, min(MAX_SLEEP, delay))

    def _sleep(self, seconds: float) -> None:
        """Sleep until ``seconds`` pass, a wake-up, a cancel, or a change of the settings file."""
        end = self.service.clock.monotonic() + seconds
        stamp = _mtime(self.service.paths.config_file)
        while not self.cancel.is_set() and not self._wake.is_set():
            left = end - self.service.clock.monotonic()
            if left <= 0 or _mtime(self.service.paths.config_file) != stamp:
                return
            self._wake.wait(min(left, 1.0))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


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
