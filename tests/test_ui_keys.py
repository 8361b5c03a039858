"""Pilot tests of every dashboard key and modal, over a real service with demo data and a fixed clock."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from conftest import EAB_HMAC, Home
from textual.pilot import Pilot
from textual.widgets import Input, Label
from uiwait import loaded, until

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo, show_running
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard, make_app
from zerossl_tui.ui.screens.cert_form import CertificateForm
from zerossl_tui.ui.screens.confirm import ConfirmScreen, RevokeScreen
from zerossl_tui.ui.screens.eab import EabScreen
from zerossl_tui.ui.screens.help import HelpScreen
from zerossl_tui.ui.screens.settings import SettingsScreen

SIZE = (140, 40)
Scenario = Callable[[Dashboard, Pilot[int]], Awaitable[None]]


@pytest.fixture
def demo(home: Home) -> CertificateService:
    """A service over demo certificates in every state, at a fixed moment."""
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)
    return service


async def ready(app: Dashboard, pilot: Pilot[int]) -> None:
    """Wait for the first load and the selected row's log."""
    await loaded(pilot)


def run(service: CertificateService, scenario: Scenario) -> Dashboard:
    """Run ``scenario`` against a fresh dashboard (scheduler off) and return the app afterwards."""
    app = make_app(service, autorenew=False)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await ready(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())
    return app


def screen_text(app: Dashboard) -> str:
    """Everything on screen as one plain string (styles removed)."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]*>", "", re.sub(r"<style.*?</style>", "", svg, flags=re.S))
                         ).replace("\xa0", " ").replace("\n", "")


def error_text(screen: object) -> str:
    """The inline error label of a form."""
    return str(screen.query_one("#error", Label).content)  # type: ignore[attr-defined]


def test_table_shows_every_state(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        statuses = {name: str(app.table.get_cell(name, "status")) for name in app.table.views}
        assert statuses == {"api": "expiring soon", "blog": "due", "cdn": "valid", "legacy": "expired",
                            "mail": "failed", "shop": "valid", "status": "never issued"}
        assert str(app.table.get_cell("api", "domains")) == "api.example.com +2"
        assert str(app.table.get_cell("cdn", "renewal")).endswith("(ari)")
        assert str(app.table.get_cell("mail", "renewal")) == "in 37m 00s (backoff)"

    run(demo, scenario)


def test_clock_tick_updates_only_countdowns(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        before = str(app.table.get_cell("shop", "expiry"))
        assert before.strip() == "71d 04h"
        assert isinstance(app.clock, FixedClock)
        app.clock.advance(61)
        app.tick()
        assert str(app.table.get_cell("shop", "expiry")).strip() == "71d 03h"
        assert len(str(app.table.get_cell("shop", "expiry"))) == 16

    run(demo, scenario)


def test_filter_by_name_or_domain(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"img.")
        assert list(app.table.views) and app.table.row_count == 1
        assert app.table.selected_name == "cdn"
        await pilot.press("escape")
        assert app.table.row_count == 7

    run(demo, scenario)


def test_sort_key_and_header_click(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("o", "o", "o", "o")  # name -> domains -> provider -> status -> expiry
        assert app.table.sort_column == "expiry"
        first = app.table.names[0]
        assert first == "legacy"  # expired first
        app.table.sort_by("status")
        assert app.table.names[0] == "legacy"
        await pilot.click("#certs", offset=(2, 0))  # the Name header
        assert app.table.sort_column == "name"
        assert app.table.names[0] == "api"

    run(demo, scenario)


def test_add_form_validates_as_you_type(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, CertificateForm)
        await pilot.press(*"news")
        form.query_one("#domains", Input).focus()
        await pilot.press(*"*.example.com")
        assert "wildcard" in error_text(form)
        assert form.query_one("#save").disabled
        form.query_one("#domains", Input).value = "news.example.com, www.news.example.com"
        await pilot.pause()
        assert error_text(form) == "Ready to save."
        form.query_one("#http_port", Input).value = "70000"
        await pilot.pause()
        assert "out of range" in error_text(form)
        form.query_one("#http_port", Input).value = "8080"
        form.query_one("#issue_now").value = False  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, CertificateForm), "the form to save")
        await ready(app, pilot)

    run(demo, scenario)
    spec = demo.reload().certificates["news"]
    assert spec.domains == ("news.example.com", "www.news.example.com") and spec.http_port == 8080


def test_add_form_refuses_existing_name(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("a")
        await pilot.press(*"shop")
        assert "already exists" in error_text(app.screen)
        await pilot.press("escape")
        assert not isinstance(app.screen, CertificateForm)

    run(demo, scenario)


def test_edit_form_changes_certificate(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.select("blog")
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, CertificateForm) and form.query_one("#name", Input).disabled
        form.query_one("#webroot", Input).value = "/var/www/blog"
        await pilot.pause()
        await pilot.click("#save")
        await ready(app, pilot)

    run(demo, scenario)
    assert demo.reload().certificates["blog"].webroot == "/var/www/blog"


def test_remove_asks_then_removes(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.select("legacy")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        assert "legacy" in demo.reload().certificates
        await pilot.press("d")
        await pilot.click("#yes")
        # removing runs in a worker, then the rows are read again
        await until(pilot, lambda: "legacy" not in app.table.views, "the row to go")

    run(demo, scenario)
    assert "legacy" not in demo.reload().certificates


def test_revoke_asks_for_reason(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.select("status")
        await pilot.press("x")
        assert not isinstance(app.screen, RevokeScreen)  # never issued: nothing to revoke
        app.table.select("shop")
        await pilot.press("x")
        assert isinstance(app.screen, RevokeScreen)
        assert app.screen.query_one("#reason").value == 0  # type: ignore[attr-defined]
        await pilot.click("#no")
        assert not isinstance(app.screen, RevokeScreen)

    run(demo, scenario)


def test_eab_modal_masks_and_saves_secret(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.select("shop")
        await pilot.press("k")
        modal = app.screen
        assert isinstance(modal, EabScreen) and modal.provider == "zerossl"
        hmac = modal.query_one("#eab_hmac_key", Input)
        assert hmac.password
        modal.query_one("#eab_kid", Input).value = "kid-42"
        hmac.value = "not base64!"
        await pilot.pause()
        assert "base64url" in error_text(modal)
        hmac.value = EAB_HMAC
        await pilot.pause()
        assert error_text(modal) == ""
        assert EAB_HMAC not in app.export_screenshot()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, EabScreen), "the EAB screen to save")
        await pilot.press("k")
        modal = app.screen
        assert isinstance(modal, EabScreen)
        assert modal.query_one("#eab_hmac_key", Input).value == ""
        assert "configured (key ID kid-42)" in str(modal.query_one("#status", Label).content)
        assert EAB_HMAC not in app.export_screenshot()

    run(demo, scenario)
    assert demo.reload().providers["zerossl"].eab_hmac_key == EAB_HMAC


def test_settings_screen_saves_renewal_and_theme(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("s")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        assert "How many orders may run at once." in screen_text(app)
        screen.query_one("#concurrency", Input).value = "-1"
        await pilot.pause()
        assert "out of range" in str(screen.query_one("#error", Label).content)
        screen.query_one("#concurrency", Input).value = "7"
        screen.query_one("#theme").value = "ember"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, SettingsScreen), "the settings to save")
        assert app.theme == "ember"
        await app.workers.wait_for_complete()

    run(demo, scenario)
    settings = demo.reload()
    assert settings.renewal.concurrency == 7 and settings.ui.theme == "ember"


def test_theme_key_cycles_and_is_saved(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        assert app.theme == "zerossl"
        await pilot.press("t")
        assert app.theme != "zerossl"
        await app.workers.wait_for_complete()

    app = run(demo, scenario)
    assert demo.reload().ui.theme == app.theme


def test_bad_theme_file_notifies_once_and_falls_back(demo: CertificateService, home: Home) -> None:
    themes = home.config.parent / "themes"
    themes.mkdir(parents=True)
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    (themes / "alsobad.toml").write_text("this is not toml")
    (themes / "mine.toml").write_text('name = "mine"\nprimary = "#123456"\n')
    demo.update_table("ui", {"theme": "missing"})

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        warnings = [n.message for n in app._notifications if n.severity == "warning"]
        assert len(warnings) == 1  # one notification for every problem
        assert "broken.toml" in warnings[0] and "alsobad.toml" in warnings[0] and "'missing'" in warnings[0]
        assert app.theme == "zerossl" and "mine" in app.theme_names

    run(demo, scenario)


def test_cancel_key_drops_queued_and_stops_running(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.select("shop")
        await pilot.press("c")
        assert any("no order is running" in n.message for n in app._notifications)
        show_running(app.board, "cdn", DEMO_NOW)
        app.board.enqueue("blog", force=False)
        app.table.set_job("blog", "queued")
        app.table.select("blog")
        await pilot.press("c")
        assert app.board.get("blog") is None and str(app.table.get_cell("blog", "status")) == "due"
        app.table.select("cdn")
        job = app.board.get("cdn")
        await pilot.press("c")
        assert job is not None and job.cancel.is_set()
        app.board.finish("cdn")

    run(demo, scenario)


def test_help_and_command_palette_list_the_keys(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Renew every certificate that is due" in text and "Cancel the selected" in text
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for label in ("Renew (r)", "Renew due (R)", "Add (a)", "Revoke (x)", "EAB (k)", "Filter (/)"):
            assert label in titles

    run(demo, scenario)


def test_quit_asks_while_orders_run(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        show_running(app.board, "cdn", DEMO_NOW)
        job = app.board.get("cdn")
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.click("#yes")
        await pilot.pause()
        assert job is not None and job.cancel.is_set()

    app = run(demo, scenario)
    assert app.return_code == 0


def test_quit_without_orders_exits(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("q")
        await pilot.pause()

    assert run(demo, scenario).return_code == 0


def test_empty_store_shows_how_to_add(home: Home) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        assert app.query_one("#empty").display and not app.table.display
        assert "Press a to add your first certificate" in screen_text(app)
        await pilot.press("a")
        assert isinstance(app.screen, CertificateForm)

    run(CertificateService(clock=FixedClock(DEMO_NOW)), scenario)


def test_user_theme_folder_is_next_to_settings(home: Home) -> None:
    from zerossl_tui.ui.themes import user_dir

    assert user_dir(home.config) == Path(home.config).parent / "themes"


def test_rows_off_screen_catch_up_when_scrolled_into_view(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        table = app.table
        table.sort_by("name", reverse=True)  # ends with `api`, which has a countdown
        await pilot.press("home")
        await pilot.pause()
        assert table.size.height <= 6  # header + 5 rows: the last of the 7 rows is below the fold
        last = table.names[-1]
        before = table.get_cell(last, "expiry")
        assert isinstance(app.clock, FixedClock)
        app.clock.advance(3600)
        app.tick()
        assert table.get_cell(last, "expiry") == before  # not on screen: not touched by the tick
        await pilot.press("end")
        await pilot.pause()
        assert table.selected_name == last
        assert table.get_cell(last, "expiry") != before

    app = make_app(demo, autorenew=False)

    async def main() -> None:
        async with app.run_test(size=(140, 16)) as pilot:
            await ready(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())


def test_mouse_click_selects_a_row(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.click("#certs", offset=(5, 3))  # header is line 0: the third row
        await pilot.pause()
        assert app.table.selected_name == app.table.names[2]
        await app.workers.wait_for_complete()
        assert f"Order log: {app.table.names[2]}" in screen_text(app)

    run(demo, scenario)
