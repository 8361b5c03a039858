"""Pilot tests of dns-01 in the dashboard: the form's Challenge and DNS provider fields, the DNS providers
screen against a real BIND, and the manual provider's modal."""

from __future__ import annotations

import pytest
from conftest import Home
from dnsservers import ZONE, Bind, bind
from test_ui_keys import error_text, run, screen_text
from textual.pilot import Pilot
from textual.widgets import Button, Input, Label, Log, Select, Static
from uiwait import until

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard
from zerossl_tui.ui.screens.cert_form import CertificateForm
from zerossl_tui.ui.screens.confirm import ConfirmScreen
from zerossl_tui.ui.screens.dns import DnsScreen

__all__ = ["bind"]  # fixture, imported for pytest


@pytest.fixture
def demo(home: Home) -> CertificateService:
    """Demo certificates at a fixed moment, plus one rfc2136 DNS provider (nothing is contacted)."""
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)
    service.set_dns("bind", type="rfc2136", server="127.0.0.1:5353", tsig_key_name="acme",
                    tsig_secret="c2VjcmV0c2VjcmV0c2VjcmV0")
    return service


async def fill_wildcard(app: Dashboard, pilot: Pilot[int]) -> CertificateForm:
    await pilot.press("a")
    form = app.screen
    assert isinstance(form, CertificateForm)
    form.query_one("#name", Input).value = "wild"
    form.query_one("#domains", Input).value = f"*.{ZONE}, {ZONE}"
    await pilot.pause()
    return form


def test_wildcard_is_refused_with_http01_and_saved_with_dns01(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        form = await fill_wildcard(app, pilot)
        assert not form.query_one("#row-dns").display
        await pilot.press("ctrl+s")
        assert error_text(form).startswith(f"*.{ZONE} is a wildcard: choose Challenge dns-01")
        assert form.query_one("#save", Button).disabled
        form.query_one("#challenge", Select).value = "dns-01"
        await pilot.pause()
        assert form.query_one("#row-dns").display
        assert "DNS provider" in error_text(form) and form.query_one("#save", Button).disabled
        form.query_one("#dns", Select).value = "bind"
        form.query_one("#issue_now").value = False  # type: ignore[attr-defined]
        await pilot.pause()
        assert error_text(form) == "Ready to save."
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, CertificateForm), "the form to save")
        spec = demo.reload().certificates["wild"]
        assert (spec.challenge, spec.dns, spec.domains) == ("dns-01", "bind", (f"*.{ZONE}", ZONE))

    run(demo, scenario)


def test_table_marks_dns01_certificates(demo: CertificateService) -> None:
    demo.edit_certificate("shop", challenge="dns-01", dns="bind")

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        assert str(app.table.get_cell("shop", "provider")).endswith("·dns")
        assert "·dns" not in str(app.table.get_cell("blog", "provider"))

    run(demo, scenario)


def test_order_log_names_the_dns_provider_of_a_dns01_certificate(demo: CertificateService) -> None:
    """The log's facts line says how the certificate is validated: dns-01 and its provider, not a port."""
    demo.edit_certificate("shop", challenge="dns-01", dns="bind")

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.select("shop")
        app.load_orders("shop")

        def log() -> str:
            return str(app.main.order_log.query_one("#log-text", Static).render())

        await until(pilot, lambda: log().startswith("shop "), "the log of shop")
        facts = log().splitlines()[1]  # the demo's earlier http-01 orders stay in the log below
        assert "dns-01 via bind" in facts and "http-01" not in facts

    run(demo, scenario)


async def open_dns(app: Dashboard, pilot: Pilot[int]) -> DnsScreen:
    await pilot.press("D")
    screen = app.screen
    assert isinstance(screen, DnsScreen)
    await until(pilot, lambda: not screen.busy)
    return screen


def label(screen: DnsScreen, name: str) -> str:
    return str(screen.query_one(f"#{name}", Label).content)


@pytest.mark.dns
def test_dns_screen_adds_tests_and_refuses_to_remove_a_used_provider(home: Home, bind: Bind) -> None:
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)
    secret = bind.secrets["hmac-sha256"]

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        screen = await open_dns(app, pilot)
        assert "No DNS provider yet" in screen_text(app)
        fields = {"dns-name": "lab", "server": bind.server, "tsig_key_name": "acme", "tsig_secret": secret,
                  "resolvers": bind.server, "propagation_timeout": "20"}
        for key, value in fields.items():
            screen.query_one(f"#{key}", Input).value = value
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.names == ["lab"])
        assert screen.query_one("#tsig_secret", Input).value == ""
        shown = screen_text(app)
        assert secret not in shown and "tsig_secret=***" in shown and bind.server in shown
        assert secret in (home.config.parent / "secrets.toml").read_text()
        assert secret not in home.config.read_text() and "[dns.lab]" in home.config.read_text()

        screen.query_one("#domain", Input).value = ZONE
        await pilot.press("ctrl+t")
        await until(pilot, lambda: "ok: a TXT record" in label(screen, "result"), timeout=60)
        steps = "\n".join(screen.query_one("#steps", Log).lines)
        assert "dns-presented" in steps and "dns-visible" in steps
        assert bind.leftovers() == []

        service.add_certificate("wild", [f"*.{ZONE}"], service.settings.default_provider(),
                                challenge="dns-01", dns="lab")
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.click("#yes")
        await until(pilot, lambda: label(screen, "error") != "")
        assert label(screen, "error").startswith("DNS provider 'lab' is used by wild")
        assert "lab" in service.reload().dns

    run(service, scenario)


def test_edit_form_keeps_dns01_and_switching_to_http01_drops_the_provider(demo: CertificateService) -> None:
    demo.edit_certificate("shop", challenge="dns-01", dns="bind")

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.select("shop")
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, CertificateForm)
        assert form.query_one("#challenge", Select).value == "dns-01"
        assert form.query_one("#dns", Select).value == "bind" and not form.query_one("#row-http_port").display
        form.query_one("#challenge", Select).value = "http-01"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, CertificateForm))
        spec = demo.reload().certificates["shop"]
        assert (spec.challenge, spec.dns) == ("http-01", "")

    run(demo, scenario)
