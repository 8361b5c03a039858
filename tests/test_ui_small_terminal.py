"""The dashboard in the smallest terminal a user runs it in (80x24): every screen's content can be reached."""

from __future__ import annotations

import pytest
from conftest import Home
from test_ui_keys import screen_text
from textual.pilot import Pilot
from textual.widgets import Input
from uiwait import run_dashboard, until

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard
from zerossl_tui.ui.screens.eab import EabScreen
from zerossl_tui.ui.screens.help import HelpScreen
from zerossl_tui.ui.screens.provider_form import ProviderForm


def test_help_scrolls_to_its_last_keys_at_80x24(home: Home) -> None:
    """The `?` list is taller than 24 lines: its last keys (filter, theme, quit, the command palette) were cut
    off with no way to reach them; the list now scrolls with the arrow keys, End and the mouse wheel."""
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        assert "Renew the selected certificate now" in screen_text(app)
        await pilot.press("end")
        await pilot.pause()
        text = screen_text(app)
        assert "Command palette: every action by name" in text and "Mouse: click a row" in text, text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "the help screen to close")

    run_dashboard(service, scenario, (80, 24))


def test_the_table_shows_more_than_three_rows_at_80x24(home: Home) -> None:
    """At 80x24 the order log took 45% of the height (at least 8 lines) and the table showed 3 of the
    certificates; on a short terminal the log now yields the table room for at least six."""
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.pause()
        assert app.table.size.height - 1 >= 6, app.table.size  # minus the header row
        assert app.screen.query_one("#log").size.height >= 5, "the log keeps five lines"

    run_dashboard(service, scenario, (80, 24))


@pytest.mark.parametrize("screen_of", ["eab", "provider"])
def test_dialog_buttons_come_into_view_at_80x24(home: Home, screen_of: str) -> None:
    """The EAB dialog of a CA that needs EAB is taller than 24 lines: Tab moved the focus to its API key
    and its Save button below the screen's edge, where nobody could see them. The dialog now scrolls to
    what has the focus."""
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.push_screen(EabScreen(service, "zerossl") if screen_of == "eab" else ProviderForm(service))
        await until(pilot, lambda: bool(app.screen.query("#save")), "the dialog")
        assert "Save" not in screen_text(app)
        if screen_of == "provider":  # Save is enabled (focusable) once the form is valid
            app.screen.query_one("#name", Input).value = "myca"
            app.screen.query_one("#directory", Input).value = "https://ca.example.net/dir"
            await pilot.pause()
        app.screen.query_one("#save").focus()
        await pilot.pause()
        await pilot.pause()
        assert "Save" in screen_text(app), screen_text(app)

    run_dashboard(service, scenario, (80, 24))
