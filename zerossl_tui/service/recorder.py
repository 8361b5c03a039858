"""The journal side of one order: every step written to the journal and passed to the progress sink."""

from __future__ import annotations

from ..core.errors import Cancelled, ZtError
from ..core.models import EventKind, ProgressEvent
from .deps import Deps


class Recorder:
    """Writes every step of one order to the journal and forwards it to the caller's progress sink."""

    def __init__(self, deps: Deps, name: str, order_id: int = 0) -> None:
        """A new order, or the existing ``order_id`` (to finish what a killed process began)."""
        self.deps, self.name = deps, name
        self.result = deps.journal.order_result(order_id, name) if order_id else None
        self.order_id = order_id if self.result else deps.journal.start_order(name, deps.clock.now())

    def __call__(self, kind: EventKind, message: str, retry_after: float | None = None) -> None:
        at = self.deps.clock.now()
        self.deps.journal.add_event(self.order_id, kind.value, message, at, retry_after)
        self.deps.progress(ProgressEvent(self.name, kind, message, at, retry_after))

    def finish(self, result: str, **details: str) -> None:
        """Close the order with ``result`` ('issued', 'failed', ...) and its details."""
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
