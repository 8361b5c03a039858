"""The dashboard's dns-01 and fleet parts: the ``manual`` DNS provider's hook and modal, and in a fleet
(PostgreSQL storage) the periodic read of hosts and locks that the order log shows per certificate."""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text

from ..core.models import CertificateView
from .base import DashboardBase
from .hosts_model import Fleet, cert_line
from .manual import DashboardManual, ManualDnsScreen, ManualRecords, ManualRemovable, ManualVisible
from .messages import Answer
from .screens.dns import DnsScreen
from .screens.hosts import REFRESH_SECONDS, load_fleet
from .text import plain

if TYPE_CHECKING:
    from ..service.service import CertificateService


class DnsAndFleet(DashboardBase):
    """The manual DNS modal's wiring and the fleet's state, under the Dashboard's keys."""

    fleet: Fleet | None = None

    def __init__(self, service: CertificateService, **options: Any) -> None:
        super().__init__(service, **options)
        service.manual_dns = self.manual_hook  # a `manual` DNS provider asks this dashboard's user

    # -- the manual DNS provider ----------------------------------------------------------------

    def manual_hook(self, name: str) -> DashboardManual:
        """A hook for one order of ``name`` (or a `dns test` of the DNS provider ``name``)."""
        return DashboardManual(self, name, cancel=lambda: self.waiting_cancel(name))

    def waiting_cancel(self, name: str) -> threading.Event | None:
        """What Cancel in the manual modal sets: the order's cancel event, or a running DNS test's."""
        job = self.board.get(name)
        if job is not None:
            return job.cancel
        tests = [screen for screen in self.screen_stack if isinstance(screen, DnsScreen)]
        return tests[-1].cancel if tests else None

    def on_manual_records(self, message: ManualRecords) -> None:
        """An order waits for a person to create records: show them."""
        self.push_screen(ManualDnsScreen(message.hook, message.records))

    def on_manual_visible(self, message: ManualVisible) -> None:
        """A resolver sees a record: tell the modal showing it."""
        for screen in self.screen_stack:
            if isinstance(screen, ManualDnsScreen) and screen.hook is message.hook:
                screen.mark_visible(message.fqdn, message.server)

    def on_manual_removable(self, message: ManualRemovable) -> None:
        """The order is over: its modal closes, and the person may delete the records."""
        for screen in list(self.screen_stack):
            if isinstance(screen, ManualDnsScreen) and screen.hook is message.hook:
                screen.dismiss(None)
        lines = [f"TXT {record.fqdn} may be deleted now" for record in message.records]
        self.notify("\n".join(lines), title=f"{message.hook.name}: manual DNS", timeout=10)

    # -- the fleet ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        """In a fleet, read hosts and locks now and every few seconds (for the order log)."""
        if self.service.settings.storage.backend == "postgresql":
            self.refresh_fleet()
            self.set_interval(REFRESH_SECONDS, self.refresh_fleet)

    def refresh_fleet(self) -> None:
        """Read the fleet in a named worker; the answer comes back to ``on_answer``."""
        self.run_blocking("fleet", partial(load_fleet, self.service), self, group="fleet")

    def fleet_loaded(self, message: Answer) -> None:
        """Keep the fleet's state and redraw the log (a database that does not answer is said once)."""
        if message.error is not None:
            if self.fleet is not None:
                self.report(message.error)
            self.fleet = None
            return
        self.fleet = message.result
        self.draw_log()

    def under_header(self, view: CertificateView | None, palette: dict[str, str]) -> Text | None:
        """Under the log's header, in a fleet: which host holds the lock, which hosts serve an older serial."""
        served = super().under_header(view, palette)
        line = cert_line(self.fleet, view.spec.name, self.clock.now()) if view else ""
        if not line:
            return served
        text = Text() if served is None else served.copy().append("\n")
        return text.append(plain(line))
