"""A demo fleet for the Hosts view's snapshot and screenshot: three hosts around the demo certificates, one
still deploying, one gone quiet on old serials, and an order holding a lock. No database is involved: the
view's rows come from the same ``Fleet`` a PostgreSQL read gives."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..core.interfaces import LockHolder
from ..service.service import CertificateService
from ..storage.postgres.hosts import HostInfo
from ..storage.postgres.schema import SCHEMA_VERSION
from ..storage.postgres.status import StorageStatus
from ..ui.hosts_model import Fleet
from ..ui.screens.hosts import HostsScreen


def demo_fleet(service: CertificateService, now: datetime) -> Fleet:
    """web-1 and web-2 alive (web-2 still on the previous serial of one certificate), web-3 silent for
    25 minutes on older serials; web-1 renewing ``cdn``."""
    current = {v.spec.name: v.info.serial for v in service.views() if v.info is not None}
    names = sorted(current)
    lagging = names[0] if names else ""
    hosts = (
        HostInfo("web-1", now - timedelta(seconds=3), dict(current)),
        HostInfo("web-2", now - timedelta(seconds=4),
                 {n: ("5c1d0e7a9b" if n == lagging else s) for n, s in current.items()}),
        HostInfo("web-3", now - timedelta(minutes=25), {n: f"0{index}ab1e" for index, n in enumerate(names[:3])}),
    )
    locks = (LockHolder("cdn", "web-1:2817", now + timedelta(seconds=24)),)
    return Fleet(StorageStatus("postgresql", SCHEMA_VERSION, hosts, locks), current)


class DemoHostsScreen(HostsScreen):
    """The Hosts view showing the demo fleet at ``now`` instead of reading a database."""

    def __init__(self, service: CertificateService, now: datetime) -> None:  # noqa: D107
        super().__init__(service)
        self.now = now

    def action_refresh(self) -> None:
        """The demo fleet, drawn at once."""
        self.fleet = demo_fleet(self.service, self.now)
        self.draw()
