"""The renewal scheduler inside the dashboard: due certificates renew while it is open.

It is the service's Scheduler (same timing: sleep until the earliest next renewal, due renewals first, then
the paced ARI pass), except that due certificates are handed to the dashboard's order queue, so they run as
ordinary order workers: each row shows its progress, ``c`` cancels one, and the concurrency limit is shared
with ``r`` and ``R``. It starts after the first paint (``base.py``), in a thread worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..core.models import CertStatus
from ..service.scheduler import Scheduler
from ..service.service import CertificateService
from .board import OrderBoard

BUSY_RETRY = 30.0


class DashboardScheduler(Scheduler):
    """Renews due certificates through ``dispatch`` and waits for those orders to end."""

    def __init__(
        self,
        service: CertificateService,
        cancel: threading.Event,
        log: Callable[[str], None],
        board: OrderBoard,
        dispatch: Callable[[list[str]], None],
    ) -> None:
        super().__init__(service, cancel, log)
        self.board = board
        self.dispatch = dispatch
        self._skipped = False

    def due_names(self) -> list[str]:
        """As the service's; also forgets whether the last look skipped a busy certificate."""
        self._skipped = False
        return super().due_names()

    def renew_names(self, due: list[str]) -> None:
        """Queue what is due (and not running here or elsewhere) as ordinary orders, and wait for them."""
        running = {v.spec.name for v in self.service.views(due) if v.status is CertStatus.ISSUING}
        ready = [name for name in due if name not in running and self.board.get(name) is None]
        self._skipped = len(ready) < len(due)
        if not ready:
            return
        self.log(f"auto-renewing {len(ready)} due certificate(s)")
        self.dispatch(ready)
        self.board.wait_done(ready, self.cancel)

    def seconds_until_next(self) -> float:
        """As the service's, but a due certificate that someone else is issuing is looked at again later."""
        delay = super().seconds_until_next()
        return max(delay, BUSY_RETRY) if self._skipped else delay
