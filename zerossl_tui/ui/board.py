"""The orders this dashboard runs or has queued, shared between the UI thread and worker threads.

Each order has its own ``threading.Event`` for cancel and keeps the progress events it received, so the
table can show its current step and the log its live timeline. No Textual here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..core.models import EventKind, ProgressEvent

QUEUED = "queued"
RUNNING = "running"


@dataclass
class Job:
    """One order: which certificate, forced or only-if-due, its cancel event and its events so far."""

    name: str
    force: bool
    origin: str = "manual"
    cancel: threading.Event = field(default_factory=threading.Event)
    state: str = QUEUED
    events: list[ProgressEvent] = field(default_factory=list)

    @property
    def step(self) -> str:
        """The latest step's name (``queued`` before the worker starts)."""
        if self.state == QUEUED:
            return QUEUED
        return self.events[-1].kind.value if self.events else "starting"

    def retry_at(self) -> datetime | None:
        """When the CA said to look again, while the latest step is ``processing`` with a Retry-After."""
        if not self.events:
            return None
        last = self.events[-1]
        if last.kind is not EventKind.PROCESSING or not last.retry_after:
            return None
        return last.at + timedelta(seconds=last.retry_after)


class OrderBoard:
    """Thread-safe registry of queued and running jobs, at most one per certificate."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jobs: dict[str, Job] = {}

    def enqueue(self, name: str, force: bool, origin: str = "manual") -> Job | None:
        """Queue an order for ``name``; None when one is already queued or running."""
        with self._cond:
            if name in self._jobs:
                return None
            job = self._jobs[name] = Job(name, force, origin)
            return job

    def next_queued(self) -> Job | None:
        """The oldest queued job, now marked running; None when nothing waits."""
        with self._cond:
            for job in self._jobs.values():
                if job.state == QUEUED:
                    job.state = RUNNING
                    return job
            return None

    def finish(self, name: str) -> Job | None:
        """Forget the job of ``name`` (it ended one way or another)."""
        with self._cond:
            job = self._jobs.pop(name, None)
            self._cond.notify_all()
            return job

    def get(self, name: str) -> Job | None:
        """The queued or running job of ``name``."""
        with self._cond:
            return self._jobs.get(name)

    def record(self, event: ProgressEvent) -> None:
        """Keep a progress event (called from worker threads)."""
        with self._cond:
            job = self._jobs.get(event.cert)
            if job is not None:
                job.events.append(event)

    def events(self, name: str) -> tuple[ProgressEvent, ...]:
        """A copy of the events of ``name``'s job so far."""
        with self._cond:
            job = self._jobs.get(name)
            return tuple(job.events) if job else ()

    def running_count(self) -> int:
        """How many jobs have a worker now."""
        with self._cond:
            return sum(1 for job in self._jobs.values() if job.state == RUNNING)

    def names(self) -> list[str]:
        """Every certificate with a queued or running job."""
        with self._cond:
            return list(self._jobs)

    def cancel(self, name: str) -> bool:
        """Ask the job of ``name`` to stop; False when there is none."""
        with self._cond:
            job = self._jobs.get(name)
        if job is None:
            return False
        job.cancel.set()
        return True

    def cancel_all(self) -> None:
        """Ask every job to stop (quitting)."""
        with self._cond:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()

    def wait_done(self, names: Iterable[str], stop: threading.Event, poll: float = 1.0) -> None:
        """Block until none of ``names`` has a job, or ``stop`` is set."""
        wanted = set(names)
        with self._cond:
            while not stop.is_set() and wanted & self._jobs.keys():
                self._cond.wait(poll)
