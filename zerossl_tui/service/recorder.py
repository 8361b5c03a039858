"""The journal side of one order: every step written to the journal and passed to the progress sink."""

from __future__ import annotations

import threading
from datetime import datetime

from ..core.errors import Cancelled, ZtError
from ..core.models import EventKind, ProgressEvent
from .deps import Deps

Event = tuple[int, str, str, datetime, float | None]  # order id, kind, message, at, retry_after


class EventBatch:
    """The events of a bulk run's orders, written together every ``FLUSH`` seconds and before any order of
    the run ends, instead of one transaction each: a run's ~8 events per order were a tenth of its journal
    and progress CPU (bench/README.md, issue 14). Order rows, order URLs and renewal states are still written
    at once (a resume depends on them); a reader in another process sees events at most ``FLUSH`` later.
    A write that fails is raised to the next order that records an event (as each write's failure was)."""

    FLUSH = 0.05

    def __init__(self, deps: Deps) -> None:
        self.journal = deps.journal
        self._events: list[Event] = []
        self._guard = threading.Lock()  # the list; and one flush at a time, so events keep their order
        self._writing = threading.Lock()
        self._failed: ZtError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-events", daemon=True)
        self._thread.start()

    def add(self, event: Event) -> None:
        """Queue one event; the error of a failed earlier write, when there was one."""
        if self._failed is not None:
            raise self._failed
        with self._guard:
            self._events.append(event)

    def flush(self) -> None:
        """Write every queued event now."""
        with self._writing:
            with self._guard:
                events, self._events = self._events, []
            if not events:
                return
            add_events = getattr(self.journal, "add_events", None)
            if add_events is not None:
                add_events(events)
            else:  # a journal without batch writes (PostgreSQL): one at a time, still off the order's thread
                for event in events:
                    self.journal.add_event(*event)

    def close(self) -> None:
        """Stop the periodic writes and write what is left; the error of a write that failed on the way
        (its events are lost: said, not hidden)."""
        self._stop.set()
        self._thread.join()
        self.flush()
        if self._failed is not None:
            raise self._failed

    def _run(self) -> None:
        while not self._stop.wait(self.FLUSH):
            try:
                self.flush()
            except ZtError as exc:
                self._failed = exc


class Recorder:
    """Writes every step of one order to the journal and forwards it to the caller's progress sink."""

    def __init__(self, deps: Deps, name: str, order_id: int = 0, events: EventBatch | None = None) -> None:
        """A new order, or the existing ``order_id`` (to finish what a killed process began); ``events``: the
        run's batch its events go through (else each is written at once)."""
        self.deps, self.name, self.events = deps, name, events
        self.result = deps.journal.order_result(order_id, name) if order_id else None
        self.order_id = order_id if self.result else deps.journal.start_order(name, deps.clock.now())

    def __call__(self, kind: EventKind, message: str, retry_after: float | None = None) -> None:
        at = self.deps.clock.now()
        if self.events is not None:
            self.events.add((self.order_id, kind.value, message, at, retry_after))
        else:
            self.deps.journal.add_event(self.order_id, kind.value, message, at, retry_after)
        self.deps.progress(ProgressEvent(self.name, kind, message, at, retry_after))

    def finish(self, result: str, **details: str) -> None:
        """Close the order with ``result`` ('issued', 'failed', ...) and its details (its events first)."""
        if self.events is not None:
            self.events.flush()
        self.deps.journal.finish_order(self.order_id, result, self.deps.clock.now(), **details)

    def fail(self, exc: ZtError, prefix: str = "") -> str:
        """Record ``exc`` as the order's end (cancelled or failed); the result written."""
        cancelled = isinstance(exc, Cancelled)
        self(EventKind.CANCELLED if cancelled else EventKind.FAILED, prefix + exc.message)
        result = "cancelled" if cancelled else "failed"
        self.finish(result, error_type=error_type(exc), error_detail=exc.message)
        return result


def error_type(exc: ZtError) -> str:
    """The short name of an error as the journal and hooks show it (``rateLimited``, ``LockBusy``...)."""
    return getattr(exc, "short_type", type(exc).__name__)
