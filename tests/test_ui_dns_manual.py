"""The manual DNS provider's modal, end to end: an order from the dashboard waits on the modal while the
test (the "person") adds the TXT record to a real BIND; the modal sees it and the order completes against
Pebble, which resolves through BIND."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from conftest import Home
from dnsservers import ZONE, Bind, bind, bind_resolver
from helpers import started_pebble
from test_ui_dns import until
from test_ui_keys import run
from textual.pilot import Pilot
from textual.widgets import Input, Label

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard
from zerossl_tui.ui.manual import ManualDnsScreen

pytestmark = [pytest.mark.pebble, pytest.mark.dns]
__all__ = ["bind", "bind_resolver"]  # fixtures, imported for pytest


@pytest.fixture(scope="module")
def dns_pebble(tmp_path_factory: pytest.TempPathFactory, bind_resolver: Bind) -> Iterator[PebbleServer]:
    """Pebble resolving (and validating dns-01) through a recursive BIND in front of ``bind``."""
    server = started_pebble(tmp_path_factory.mktemp("pebble-ui-manual"),
                            PebbleOptions(authz_reuse=0, dns_server=bind_resolver.server))
    yield server
    server.stop()


def nsupdate(bind: Bind, op: str, fqdn: str, value: str) -> None:
    """What the person does at their DNS server."""
    script = f"server 127.0.0.1 {bind.port}\nupdate {op} {fqdn}. 60 TXT \"{value}\"\nsend\n"
    subprocess.run(["nsupdate", "-k", str(bind.keyfile())], input=script, text=True, check=True, timeout=30)


def test_manual_modal_waits_for_the_record_then_the_order_completes(home: Home, dns_pebble: PebbleServer,
                                                                     bind: Bind) -> None:
    home.run("provider", "add", "local", "--directory", dns_pebble.directory, "--ca-bundle",
             str(dns_pebble.ca_bundle), "--email", "ops@example.net", check=True)
    home.run("dns", "add", "hand", "--type", "manual", "--resolver", bind.server, "--propagation-timeout", "90",
             check=True)
    home.run("add", "manual", "-d", ZONE, "--provider", "local", "--dns", "hand", check=True)
    service = CertificateService()

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.focus()
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ManualDnsScreen), timeout=60)
        modal = app.screen
        assert isinstance(modal, ManualDnsScreen)
        fqdn = modal.query_one("#name-0", Input).value.rstrip(".")
        value = modal.query_one("#value-0", Input).value
        assert fqdn == f"_acme-challenge.{ZONE}" and len(value) == 43
        assert "not seen" in str(modal.query_one("#seen-0", Label).content)
        assert app.board.get("manual") is not None  # the order waits for the person
        nsupdate(bind, "add", fqdn, value)
        try:
            await until(pilot, lambda: "seen by" in str(modal.query_one("#seen-0", Label).content)
                        or not isinstance(app.screen, ManualDnsScreen), timeout=60)
            await until(pilot, lambda: app.board.get("manual") is None, timeout=90)
        finally:
            nsupdate(bind, "delete", fqdn, value)
        assert not isinstance(app.screen, ManualDnsScreen)
        assert CertificateService().views()[0].status.value == "valid"
        # the dashboard reloads its rows after an order; let that end before the app closes
        await until(pilot, lambda: app.table.views["manual"].status.value == "valid", timeout=30)
        await pilot.pause(0.5)

    run(service, scenario)
