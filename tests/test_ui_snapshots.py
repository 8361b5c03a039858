"""Snapshot tests of the dashboard's screens, with demo data and a fixed clock (pytest-textual-snapshot).

Baselines live in tests/__snapshots__; regenerate with ``pytest tests/test_ui_snapshots.py --snapshot-update``
and look at them before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import Home
from textual.pilot import Pilot
from textual.widgets import Input, Label
from uiwait import loaded, until

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo, seed_served, show_running
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard, make_app

SIZE = (140, 40)
Compare = Callable[..., bool]


@pytest.fixture(autouse=True)
def steady_cursors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text cursors stay shown: a blinking one is on or off depending on when the picture is taken, so a
    snapshot of a focused field would match only every other time."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def demo_app(home: Home) -> Dashboard:
    """The dashboard over demo certificates in every state, clock fixed, scheduler off."""
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)
    return make_app(service, autorenew=False)


def select(name: str) -> Callable[[Pilot[Any]], Any]:
    """A run_before that waits for the data, then selects ``name``."""
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        app = pilot.app
        assert isinstance(app, Dashboard)
        app.table.select(name)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


class TestMainScreen:
    def test_every_state(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        assert snap_compare(demo_app, terminal_size=SIZE, run_before=select("shop"))

    def test_live_order_timeline(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await select("cdn")(pilot)
            show_running(demo_app.board, "cdn", DEMO_NOW)
            demo_app.table.set_job("cdn", "processing")
            demo_app.draw_log()
            await pilot.pause()

        assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)

    def test_filtered(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        assert snap_compare(demo_app, terminal_size=SIZE, run_before=loaded, press=["slash", *"example.com"])

    def test_empty_store(self, home: Home, snap_compare: Compare) -> None:
        app = make_app(CertificateService(clock=FixedClock(DEMO_NOW)), autorenew=False)
        assert snap_compare(app, terminal_size=SIZE, run_before=loaded)

    def test_light_theme(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await select("api")(pilot)
            demo_app.theme = "harbor"
            await pilot.pause()

        assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)


async def add_form(pilot: Pilot[Any]) -> None:
    """Press ``a`` and wait until the form has focused its first field (keys typed sooner go elsewhere)."""
    from zerossl_tui.ui.screens.cert_form import CertificateForm

    await pilot.press("a")
    await until(pilot, lambda: isinstance(pilot.app.screen, CertificateForm)
                and isinstance(pilot.app.focused, Input), "the add form")


class TestModals:
    def test_add_form_with_inline_error(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await loaded(pilot)
            await add_form(pilot)
            await pilot.press(*"news", "tab", *"news.example.com, *.example.com")

        assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)

    def test_eab_modal_masks_the_secret(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await select("shop")(pilot)
            await pilot.press("k")
            demo_app.screen.query_one("#eab_kid", Input).value = "kid-1"
            demo_app.screen.query_one("#eab_hmac_key", Input).value = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
            await pilot.pause()

        assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)

    def test_eab_modal_for_a_ca_without_eab(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        assert snap_compare(demo_app, terminal_size=SIZE, run_before=select("blog"), press=["k"])

    def test_revoke_reason(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        assert snap_compare(demo_app, terminal_size=SIZE, run_before=select("shop"), press=["x"])

    def test_help(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        assert snap_compare(demo_app, terminal_size=SIZE, run_before=loaded, press=["question_mark"])


class TestSettings:
    def test_settings_screen(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        assert snap_compare(demo_app, terminal_size=SIZE, run_before=loaded, press=["s"])


class TestOperations:
    def test_served_column_and_details(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        seed_served(demo_app.service)
        assert snap_compare(demo_app, terminal_size=SIZE, run_before=select("blog"))

    def test_notifications_screen_masks_every_url(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        demo_app.service.add_notify_url("json://hook:s3cret@hooks.example.net/zerossl?token=abc")
        demo_app.service.add_notify_url("ntfy://ops:hunter2@ntfy.example.net/certs")

        async def run_before(pilot: Pilot[Any]) -> None:
            await loaded(pilot)
            await pilot.press("n")
            await demo_app.workers.wait_for_complete()
            await pilot.pause()
            demo_app.screen.query_one("#url", Input).value = "mailto://ops:p4ssw0rd@mail.example.net"
            await pilot.pause()

        assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)

    def test_accounts_screen(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        directory = demo_app.service.settings.provider("zerossl").directory
        demo_app.service.store.save_account("zerossl", b"demo key", "https://acme.zerossl.com/v2/DV90/account/d3m0",
                                            directory)

        async def run_before(pilot: Pilot[Any]) -> None:
            await loaded(pilot)
            await pilot.press("u")
            await demo_app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("down", "ctrl+r")

        assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)


class TestTimelineAndValidity:
    def test_day_chosen_in_the_strip_filters_the_table(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await loaded(pilot)
            demo_app.main.timeline.focus()
            await pilot.press("home", "enter")
            await pilot.pause()

        assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)

    def test_narrow_strip_counts_weeks(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        assert snap_compare(demo_app, terminal_size=(80, 36), run_before=select("shop"))

    def test_validity_bar_with_ari_window(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        assert snap_compare(demo_app, terminal_size=SIZE, run_before=select("cdn"))

    def test_validity_bar_of_a_failing_certificate(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        assert snap_compare(demo_app, terminal_size=SIZE, run_before=select("api"))


class TestDns:
    def test_dns_providers_screen_masks_secrets(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        service = demo_app.service
        service.set_dns("bind", type="rfc2136", server="192.0.2.53:53", tsig_key_name="acme",
                        tsig_secret="c2VjcmV0c2VjcmV0c2VjcmV0", zone="example.com")
        service.set_dns("hand", type="manual")
        service.edit_certificate("shop", challenge="dns-01", dns="bind")

        async def run_before(pilot: Pilot[Any]) -> None:
            await loaded(pilot)
            await pilot.press("D")
            await demo_app.workers.wait_for_complete()
            await pilot.pause()
            demo_app.screen.query_one("#tsig_secret", Input).value = "typed-secret"
            await pilot.pause()

        assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)

    def test_add_form_with_dns01_and_a_wildcard(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        demo_app.service.set_dns("bind", type="rfc2136", server="192.0.2.53:53", tsig_key_name="acme",
                                 tsig_secret="c2VjcmV0c2VjcmV0c2VjcmV0")

        async def run_before(pilot: Pilot[Any]) -> None:
            from textual.widgets import Select

            await loaded(pilot)
            await add_form(pilot)
            await pilot.press(*"wild", "tab", *"*.example.com, example.com")
            form = demo_app.screen
            form.query_one("#challenge", Select).value = "dns-01"
            form.query_one("#dns", Select).value = "bind"
            await until(pilot, lambda: "Ready to save" in str(form.query_one("#error", Label).content),
                        "the form to take both choices")

        assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)

    def test_manual_dns_modal(self, demo_app: Dashboard, snap_compare: Compare) -> None:
        from zerossl_tui.ui.manual import DashboardManual, ManualDnsScreen, Record

        async def run_before(pilot: Pilot[Any]) -> None:
            await loaded(pilot)
            records = [Record("_acme-challenge.example.com", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"),
                       Record("_acme-challenge.example.com", "zB9kA0tGf1Jb2mYq8Wcx3pVd4sLhRuE5nTo6iKa7yZ0")]
            modal = ManualDnsScreen(DashboardManual(demo_app, "wild"), records)
            await demo_app.push_screen(modal)
            await pilot.pause()
            modal.mark_visible("_acme-challenge.example.com", "192.0.2.53:53")
            await pilot.pause()

        assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)
