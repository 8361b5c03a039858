"""The renewal scheduler shared by the dashboard and `zerossl-tui daemon`.

It sleeps until the earliest next-renewal moment (not on a fixed poll), wakes early when told (settings
changed, cancel) or when another process changed the journal (a `revoke` makes a certificate due at once),
and renews what is due with the service's concurrency limit. Then it asks the CA's renewal information
(ARI) where it is time to, paced (``service.ari``): a pass over 10,000 certificates lasts minutes, so it
stops as soon as anything needs a look (a renewal comes due, a wake-up, another process's change) and goes
on after the renewals; due renewals never wait behind it.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..core.clock import Clock
from ..core.errors import ZtError
from ..core.models import CertificateView, ProgressEvent
from ..core.settings import Settings
from .deps import quiet

if TYPE_CHECKING:
    from .fleet import FleetAgent
    from .orders import RenewResult


class RenewalApi(Protocol):
    """What the scheduler needs of the service (it drives the service, and is not part of it)."""

    clock: Clock

    @property
    def settings(self) -> Settings: ...

    @property
    def config_file(self) -> Path: ...

    def reload(self) -> Settings: ...

    def views(self, names: Iterable[str] | None = None) -> list[CertificateView]: ...

    def heal(self, names: Iterable[str] | None = None) -> None: ...

    def due(self, names: Iterable[str] | None = None) -> list[str]: ...

    def refresh_ari(self, cancel: threading.Event, log: Callable[[str], None],
                    pause: Callable[[float], bool] | None = None) -> bool: ...

    def renew(self, names: Iterable[str] | None = None, *, force: bool = False,
              progress: Callable[[ProgressEvent], None] = ..., cancel: threading.Event | None = None,
              wait_for_held: bool = True) -> list[RenewResult]: ...

MAX_SLEEP = 3600.0
MIN_SLEEP = 0.5
MIN_RETRY = 2.0  # after a failed look (storage away): 2, 4, 8 ... seconds
MAX_RETRY = 60.0
# How often a sleeping scheduler asks whether another process changed the journal: a revoke is noticed
# within seconds, and a dashboard or cron run writing all the time wakes it at most this often.
STORE_EVERY = 2.0
# How soon, at the latest, a scheduler looks again at due certificates whose lock another process or host
# held: it does not wait for them (newly due ones would queue behind) and its next moment leaves them out;
# the holder most likely renews them meanwhile, and one that died loses its lock within its lease.
HELD_LOOK = 2.0


class Scheduler:
    """Renews due certificates forever; ``wake()`` makes it look again at once."""

    def __init__(
        self,
        service: RenewalApi,
        cancel: threading.Event,
        log: Callable[[str], None],
        progress: Callable[[ProgressEvent], None] | None = None,
    ) -> None:
        self.service = service
        self.cancel = cancel
        self.log = log
        self.progress = progress or quiet
        self._wake = threading.Event()
        self._last_error = ""
        self._ari_done = True  # False while an ARI pass stopped early: it goes on at the next turn
        self._held: set[str] = set()  # due certificates the last turn left to another lock holder

    def wake(self) -> None:
        """Look at the schedule again now (settings changed, a certificate was added)."""
        self._wake.set()

    def run(self) -> None:
        """Loop until cancelled; while storage fails (a fleet database away), look again with backoff."""
        failures = 0
        while not self.cancel.is_set():
            self._wake.clear()
            try:
                self.service.reload()
                self.tick()
                # An ARI pass that stopped early goes on soon (a wake-up or a change cuts the wait short).
                delay = self.seconds_until_next() if self._ari_done else MIN_SLEEP
                delay = min(delay, HELD_LOOK) if self._held else delay
                failures = 0
            except ZtError as exc:
                failures += 1
                if failures == 1 or exc.message != self._last_error:
                    self.log(f"error: {exc.message}")
                self._last_error = exc.message
                delay = min(MAX_RETRY, MIN_RETRY * 2 ** min(failures - 1, 10))
            self._sleep(delay)

    def tick(self) -> None:
        """Finish deployments a killed process left, renew what is due, then ask ARI where it is time to,
        paced, until that pass ends or something needs a look (a certificate whose answer made it due is
        renewed at the next turn, at once)."""
        self.service.heal()
        due = self.due_names()
        self._held = set()
        if due:
            self.renew_names(due)
        self._ari_done = self.service.refresh_ari(self.cancel, self.log, pause=self._ari_pause())

    def _ari_pause(self) -> Callable[[float], bool]:
        """The ARI pass's wait between two look-ups: False (stop the pass) on cancel, a wake-up, a change of
        the settings, another process's journal write that made a certificate due, or when the next renewal
        moment comes."""
        watch = _Watch(self)
        deadline: list[float] = []  # the next renewal moment, computed at the first look-up only

        def pause(seconds: float) -> bool:
            clock = self.service.clock
            if not deadline:
                deadline.append(clock.monotonic() + self.seconds_until_next())
            end = clock.monotonic() + seconds
            while True:
                if self.cancel.is_set() or self._wake.is_set() or clock.monotonic() >= deadline[0]:
                    return False
                if not self._goes_on(watch.changed()):
                    return False
                left = end - clock.monotonic()
                if left <= 0:
                    return True
                self._wake.wait(min(left, 1.0))

        return pause

    def due_names(self) -> list[str]:
        """Certificates whose next renewal moment has come."""
        return self.service.due()

    def renew_names(self, due: list[str]) -> None:
        """Renew ``due`` with the service's concurrency limit and log each result."""
        self.log(f"renewing {len(due)} due: {', '.join(due[:10])}" + (" ..." if len(due) > 10 else ""))
        if self.service.settings.storage.backend == "postgresql":
            # Every host of a fleet sees the same names due at once: each takes them in its own order, so
            # that they share the work instead of queueing behind one another for the same locks.
            due = random.sample(due, len(due))
        results = self.service.renew(due, progress=self.progress, cancel=self.cancel, wait_for_held=False)
        self._held = set(due) - {name for name, _, _ in results}
        for name, info, err in results:
            if err is not None:
                self.log(f"{name}: failed: {err}")
            elif info is not None:
                self.log(f"{name}: renewed, serial {info.serial}, valid until {info.not_after.isoformat()}")

    def seconds_until_next(self) -> float:
        """Seconds until the earliest next renewal, clamped to [MIN_SLEEP, MAX_SLEEP]."""
        now = self.service.clock.now()
        moments = [v.next_renewal for v in self.service.views()
                   if v.next_renewal is not None and v.spec.name not in self._held]
        if not moments:
            return MAX_SLEEP
        delay = (min(moments) - now).total_seconds()
        return max(MIN_SLEEP, min(MAX_SLEEP, delay))

    def _goes_on(self, change: str) -> bool:
        """Whether an ARI pass goes on after ``change``: not when the settings changed, nor when another
        process's write to the journal made a certificate due (a `revoke`); any other write (a second
        scheduler's ARI answers, an order of a `renew`) does not stop it, which would cost a whole turn."""
        return not change or (change == "journal" and not self.service.due())

    def _sleep(self, seconds: float) -> None:
        """Sleep until ``seconds`` pass, a wake-up, a cancel, a change of the settings file, or a change that
        another process made to the journal (a `revoke` makes a certificate due at once)."""
        clock = self.service.clock
        end = clock.monotonic() + seconds
        watch = _Watch(self)
        while not self.cancel.is_set() and not self._wake.is_set():
            left = end - clock.monotonic()
            if left <= 0 or watch.changed():
                return
            self._wake.wait(min(left, 1.0))

    def _store_stamp(self) -> object:
        """What changes when another process writes renewal state (None when the backend cannot tell: a
        fleet's PostgreSQL, or a service without a journal)."""
        try:  # opening the journal may reach the storage too (a fleet's database, away at start)
            version = getattr(getattr(self.service, "journal", None), "data_version", None)
            return version() if version is not None else None
        except ZtError:
            return None  # storage away: the next look reports it


class _Watch:
    """What changed since it was made: the settings file, or (looked at every STORE_EVERY seconds) the
    journal, written by another process."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.clock = scheduler.service.clock
        self.config = _mtime(scheduler.service.config_file)
        self.store = scheduler._store_stamp()
        self.store_look = self.clock.monotonic() + STORE_EVERY

    def changed(self) -> str:
        """What changed: "settings", "journal" (then watched again from now on), or "" for nothing."""
        if _mtime(self.scheduler.service.config_file) != self.config:
            return "settings"
        if self.clock.monotonic() < self.store_look:
            return ""
        self.store_look = self.clock.monotonic() + STORE_EVERY
        store, self.store = self.store, self.scheduler._store_stamp()
        return "journal" if store != self.store else ""


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def run_daemon(service: RenewalApi, cancel: threading.Event, log: Callable[[str], None]) -> int:
    """`zerossl-tui daemon`: run the scheduler until SIGTERM / Ctrl-C."""
    count = len(service.settings.certificates)
    log(f"daemon started: {count} certificate(s), settings {service.config_file}")
    scheduler = Scheduler(service, cancel, log)
    agent = _fleet_agent(service, cancel, log, scheduler.wake)
    try:
        scheduler.run()
    except KeyboardInterrupt:
        cancel.set()
    finally:
        if agent is not None:
            agent.stop()
    log("daemon stopped")
    return 0


def _fleet_agent(service: RenewalApi, cancel: threading.Event, log: Callable[[str], None],
                 wake: Callable[[], None]) -> FleetAgent | None:
    """In a fleet (PostgreSQL backend), the agent that heartbeats, answers every host's http-01 tokens,
    deploys every new current version and calls ``wake`` when a command on any host changed a renewal
    state (the fleet's counterpart of the journal's data_version); None on the filesystem."""
    if service.settings.storage.backend != "postgresql":
        return None
    from .fleet import FleetAgent

    agent = FleetAgent(service, cancel, log, wake=wake)  # type: ignore[arg-type]  # the service is also a FleetApi
    agent.start()
    log(f"fleet: host {getattr(service, 'host_id', '?')} joined (heartbeat, http-01 responders, deploy on notify)")
    return agent
