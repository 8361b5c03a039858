"""The add/edit form offers every certificate setting that `add`/`edit` and settings.toml have (hooks, verify,
preferred chain, ACME profiles, key reuse, fullchain and chain files), saves them as the command line does,
and refuses hostile values in the same one line (or keeps them literally), on an 80x24 terminal."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import Home
from test_ui_keys import error_text, screen_text
from textual import events
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input
from uiwait import Scenario, run_dashboard, until

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard
from zerossl_tui.ui.screens.cert_form import CertificateForm

SMALL = (80, 24)
# What a user types into the new fields, and the same as `add` options.
TYPED = {"deploy_hook": "systemctl reload nginx", "failure_hook": "logger renewal failed",
         "verify": "127.0.0.1:443, [::1]:8443", "preferred_chain": "ISRG Root X1", "profile": "shortlived",
         "required_profile": "classic", "fullchain": "/srv/ssl/news/full.pem", "chainfile": "/srv/ssl/news/chain.pem"}
CLI = ["--deploy-hook", "systemctl reload nginx", "--failure-hook", "logger renewal failed", "--verify",
       "127.0.0.1:443", "--verify", "[::1]:8443", "--preferred-chain", "ISRG Root X1", "--profile", "shortlived",
       "--required-profile", "classic", "--fullchain", "/srv/ssl/news/full.pem", "--chainfile",
       "/srv/ssl/news/chain.pem", "--reuse-key"]


@pytest.fixture
def demo(home: Home) -> CertificateService:
    """A service over demo certificates in every state, at a fixed moment."""
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)
    return service


def run_small(service: CertificateService, scenario: Scenario) -> None:
    """``scenario`` against the dashboard on an 80x24 terminal (scheduler off)."""
    run_dashboard(service, scenario, SMALL)


async def focus_field(pilot: Pilot[int], field: str, limit: int = 40) -> None:
    """Tab through the form, as a person does, until ``field`` has the focus."""
    for _ in range(limit):
        if pilot.app.focused is not None and pilot.app.focused.id == field:
            return
        await pilot.press("tab")
    raise AssertionError(f"tab never reached {field}")


async def type_into(pilot: Pilot[int], field: str, text: str) -> None:
    await focus_field(pilot, field)
    await pilot.press(*text)


async def paste_into(pilot: Pilot[int], field: str, text: str) -> None:
    """A paste from the terminal into ``field`` (how an escape sequence or 100 kB reach a form)."""
    await focus_field(pilot, field)
    pilot.app.screen.query_one(f"#{field}", Input).post_message(events.Paste(text))
    await pilot.pause()


def visible(app: Dashboard, field: str) -> bool:
    """The field lies inside the screen (the form scrolled to it)."""
    region = app.screen.query_one(f"#{field}").region
    return region.height > 0 and region.y < SMALL[1] and region.right <= SMALL[0]


def test_add_form_saves_every_setting_as_the_command_line_does(demo: CertificateService, home: Home) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, CertificateForm), "the add form")
        await type_into(pilot, "name", "news")
        await type_into(pilot, "domains", "news.example.com")
        for field, text in TYPED.items():
            await type_into(pilot, field, text)
            assert visible(app, field), f"{field} is off the 80x24 screen"
        await focus_field(pilot, "reuse_key")
        await pilot.press("space")
        await focus_field(pilot, "issue_now")
        await pilot.press("space")  # not now: the demo CA is not there
        assert error_text(app.screen) == "Ready to save."
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, CertificateForm), "the form to close")

    run_small(demo, scenario)
    saved = demo.reload().certificates["news"]
    assert (saved.deploy_hook, saved.verify, saved.preferred_chain, saved.reuse_key) == (
        "systemctl reload nginx", ("127.0.0.1:443", "[::1]:8443"), "ISRG Root X1", True)
    done = home.run("add", "cli", "-d", "news.example.com", "--provider", saved.provider, *CLI)
    assert done.returncode == 0, done.stderr
    assert replace(demo.reload().certificates["cli"], name="news") == saved


def test_edit_form_shows_saved_settings_and_clears_one(demo: CertificateService) -> None:
    demo.edit_certificate("shop", verify=["127.0.0.1:443"], deploy_hook="[bold]reload[/bold]", reuse_key=True)

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.select("shop")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, CertificateForm), "the edit form")
        form = app.screen
        assert form.query_one("#verify", Input).value == "127.0.0.1:443"
        assert form.query_one("#reuse_key", Checkbox).value
        await focus_field(pilot, "deploy_hook")
        assert "[bold]reload[/bold]" in screen_text(app)  # markup shown as typed
        await focus_field(pilot, "verify")
        await pilot.press("end", *["backspace"] * len("127.0.0.1:443"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, CertificateForm), "the form to close")

    run_small(demo, scenario)
    saved = demo.reload().certificates["shop"]
    assert saved.verify == () and saved.deploy_hook == "[bold]reload[/bold]" and saved.reuse_key


@pytest.mark.parametrize(("field", "option", "value"), [
    ("deploy_hook", "--deploy-hook", "\x1b]0;pwned\x07systemctl reload nginx"),
    ("deploy_hook", "--deploy-hook", "x" * 100_000),
    ("preferred_chain", "--preferred-chain", "\x9b31mRoot"),
    ("verify", "--verify", "h" * 100_000 + ":443"),
], ids=["escape-sequence", "100kB-hook", "c1-csi", "100kB-endpoint"])
def test_hostile_values_are_refused_in_the_command_lines_words(demo: CertificateService, home: Home, field: str,
                                                              option: str, value: str) -> None:
    done = home.run("add", "cli", "-d", "cli.example.com", "--provider", "zerossl", option, value)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    cli_words = done.stderr.strip().removeprefix("zerossl-tui: error: ")
    assert len(cli_words) < 300 and "\x1b" not in cli_words and "\x9b" not in cli_words

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, CertificateForm), "the add form")
        await type_into(pilot, "name", "news")
        await type_into(pilot, "domains", "news.example.com")
        await paste_into(pilot, field, value)
        await pilot.press("tab")
        assert error_text(app.screen) == cli_words
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, CertificateForm)  # not saved

    run_small(demo, scenario)
    assert "news" not in demo.reload().certificates
