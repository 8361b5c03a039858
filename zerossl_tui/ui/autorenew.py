"""The renewal scheduler inside the dashboard: due certificates renew while it is open.

It is the service's Scheduler (same timing: sleep until the earliest next renewal, ARI first), except that
due certificates are handed to the dashboard's order queue, so they run as ordinary order workers: each
row shows its progress, ``c`` cancels one, and the concurrency limit is shared with ``r`` and ``R``.
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

    def tick(self) -> None:
        """Ask ARI where it is time to, queue what is due (and not running here or elsewhere), wait for it."""
        self.refresh_ari()
        views = self.service.views()
        now = self.service.clock.now()  # after views(): a never-issued certificate is due "now"
        due = [v for v in views if v.next_renewal is not None and v.next_renewal <= now]
        ready = [v.spec.name for v in due
                 if v.status is not CertStatus.ISSUING and self.board.get(v.spec.name) is None]
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
