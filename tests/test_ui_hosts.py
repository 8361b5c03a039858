"""The fleet's Hosts view against a real PostgreSQL: hosts with heartbeat age (stale flagged) and what they
serve, and per certificate who holds its lock and which hosts still serve an older serial."""

from __future__ import annotations

import psycopg
import pytest
from conftest import Home
from pgserver import pg_dsn, pg_server
from test_storage_cli import add_cert
from test_ui_dns import until
from test_ui_keys import run, screen_text
from textual.pilot import Pilot
from textual.widgets import DataTable

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard
from zerossl_tui.ui.screens.hosts import HostsScreen

pytestmark = [pytest.mark.pebble]
__all__ = ["pg_dsn", "pg_server"]  # fixtures, imported for pytest


def rows(screen: HostsScreen, table: str) -> list[list[str]]:
    grid = screen.query_one(f"#{table}", DataTable)
    return [[str(cell) for cell in grid.get_row_at(i)] for i in range(grid.row_count)]


def test_hosts_view_flags_stale_hosts_old_serials_and_lock_holders(local_home: Home, pebble: PebbleServer,
                                                                   pg_dsn: str) -> None:
    home = local_home
    add_cert(home, pebble, "shop")
    home.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--host-id", "web-1", check=True)
    home.run("issue", "shop", check=True)
    with psycopg.connect(pg_dsn, autocommit=True) as db:  # a second host, gone for an hour, on an old serial
        db.execute("INSERT INTO hosts (host_id, last_heartbeat) VALUES ('web-2', now() - interval '1 hour')")
        db.execute("INSERT INTO served (host_id, cert, version, serial, at) VALUES ('web-2', 'shop', 'v0', "
                   "'0bad', now())")
        db.execute("INSERT INTO locks (name, owner, token, expires) VALUES ('cert:shop', 'web-3:4242', 't', "
                   "now() + interval '30 seconds')")
    service = CertificateService()
    serial = service.views()[0].info.serial  # type: ignore[union-attr]

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await until(pilot, lambda: app.fleet is not None)
        app.draw_log()
        await pilot.pause()
        shown = screen_text(app)
        assert "fleet: lock web-3:4242 (lease" in shown and "still serving an older serial: web-2" in shown
        await pilot.press("H")
        screen = app.screen
        assert isinstance(screen, HostsScreen)
        await until(pilot, lambda: len(rows(screen, "hosts")) == 2)
        web1, web2 = rows(screen, "hosts")
        assert web1[0] == "web-1" and web1[2] == "ok" and web1[3] == f"shop={serial}"
        assert web2[0] == "web-2" and web2[1].startswith("1h") and web2[2] == "stale" and web2[3] == "shop=0bad (old)"
        [shop] = rows(screen, "certs-fleet")
        assert shop[:2] == ["shop", serial] and shop[2].startswith("web-3:4242 (lease") and shop[3] == "web-2"

    run(service, scenario)
