"""Pilot tests of the forms' manners: no error before a field is touched, messages in the form's words,
typed markup shown literally, and an EAB screen that offers only what the provider needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from conftest import Home
from test_ui_keys import error_text, run, screen_text
from textual.pilot import Pilot
from textual.widgets import Button, Input, Label
from uiwait import until

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo
from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard
from zerossl_tui.ui.screens.cert_form import CertificateForm
from zerossl_tui.ui.screens.eab import EabScreen
from zerossl_tui.ui.screens.provider_form import ProviderForm

CLI_WORDS = ("-d NAME", "--provider", "--directory", "--eab-kid", "--eab-hmac-key")


@pytest.fixture
def demo(home: Home) -> CertificateService:
    """A service over demo certificates in every state, at a fixed moment."""
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)
    return service


def is_error(screen: object) -> bool:
    return screen.query_one("#error", Label).has_class("error")  # type: ignore[attr-defined]


async def open_add(app: Dashboard, pilot: Pilot[int]) -> CertificateForm:
    await pilot.press("a")
    form = app.screen
    assert isinstance(form, CertificateForm)
    return form


def test_add_form_says_nothing_wrong_before_typing(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        form = await open_add(app, pilot)
        assert error_text(form) == "Fill in Name and Domains to save."
        assert not is_error(form)
        assert "invalid" not in screen_text(app)
        assert form.query_one("#save", Button).disabled

    run(demo, scenario)


def test_leaving_a_field_shows_its_problem_in_form_words(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        form = await open_add(app, pilot)
        await pilot.press("tab")  # leave Name empty
        assert error_text(form) == "type a short name for this certificate, such as shop" and is_error(form)
        await pilot.press("shift+tab", *"news", "tab", "tab")  # Domains left empty too
        assert error_text(form) == "type at least one domain name, such as example.com"
        assert not any(words in screen_text(app) for words in CLI_WORDS)

    run(demo, scenario)


def test_save_shows_the_first_problem(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        form = await open_add(app, pilot)
        await pilot.press("ctrl+s")
        assert is_error(form) and "type a short name" in error_text(form)
        assert isinstance(app.screen, CertificateForm)

    run(demo, scenario)


def test_certfile_without_keyfile_is_worded_for_the_form(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        form = await open_add(app, pilot)
        form.query_one("#name", Input).value = "news"
        form.query_one("#domains", Input).value = "news.example.com"
        form.query_one("#certfile", Input).value = "/etc/ssl/news.pem"
        await pilot.pause()
        assert error_text(form) == "Fill in Keyfile to save." and not is_error(form)  # not touched yet
        await pilot.press("ctrl+s")
        assert error_text(form) == "Certfile and Keyfile go together: fill in both or neither" and is_error(form)

    run(demo, scenario)


@pytest.mark.parametrize("typed", ["x[/", "[/]", "[b]bold[/b]", "[@click=app.quit]q"])
def test_markup_typed_into_name_is_shown_literally(demo: CertificateService, typed: str) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        form = await open_add(app, pilot)
        await pilot.press(*typed)
        assert error_text(form).startswith(f"invalid certificate name {typed!r}")
        assert f"invalid certificate name {typed!r}" in screen_text(app)
        assert isinstance(app.screen, CertificateForm)  # [@click=app.quit] did not quit either

    run(demo, scenario)


def test_provider_form_words_a_missing_directory(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("s")
        await pilot.pause()
        await pilot.click("#add-provider")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ProviderForm)
        await pilot.press(*"myca")
        assert error_text(form).startswith("Directory: type the CA's ACME directory URL")
        assert not any(words in screen_text(app) for words in CLI_WORDS)

    run(demo, scenario)


# -- the EAB screen -----------------------------------------------------------------------------


async def open_eab(app: Dashboard, pilot: Pilot[int], provider: str) -> EabScreen:
    app.push_screen(EabScreen(app.service, provider))
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, EabScreen)
    # a provider not known here: its directory is asked in a worker
    await until(pilot, lambda: "Asking" not in need(screen), "the CA's directory")
    return screen


def need(screen: EabScreen) -> str:
    return str(screen.query_one("#need", Label).content)


def shown_rows(screen: EabScreen) -> set[str]:
    return {key for key in ("eab_kid", "eab_hmac_key", "email", "api_key")
            if screen.query_one(f"#{key}", Input).parent.display}  # type: ignore[union-attr]


Check = Callable[[EabScreen], Awaitable[None] | None]


def check_eab(service: CertificateService, provider: str, check: Check) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        screen = await open_eab(app, pilot, provider)
        check(screen)

    run(service, scenario)


def test_eab_for_zerossl_offers_to_fetch_them(demo: CertificateService) -> None:
    def check(screen: EabScreen) -> None:
        assert need(screen).startswith("ZeroSSL requires EAB credentials")
        assert shown_rows(screen) == {"eab_kid", "eab_hmac_key", "email", "api_key"}
        assert screen.query_one("#zerossl-hint").display

    check_eab(demo, "zerossl", check)


def test_eab_for_letsencrypt_says_none_is_needed(demo: CertificateService) -> None:
    def check(screen: EabScreen) -> None:
        assert need(screen).startswith("Let's Encrypt needs no EAB credentials")
        assert shown_rows(screen) == set() and not screen.query_one("#zerossl-hint").display
        assert screen.query_one("#save", Button).disabled

    check_eab(demo, "letsencrypt", check)


def test_eab_for_google_asks_for_key_id_and_hmac_only(demo: CertificateService) -> None:
    def check(screen: EabScreen) -> None:
        assert need(screen).startswith("google requires EAB credentials")
        assert shown_rows(screen) == {"eab_kid", "eab_hmac_key"}

    check_eab(demo, "google", check)


def local_provider(home: Home, server: PebbleServer) -> CertificateService:
    home.run("provider", "add", "sandbox", "--directory", server.directory, "--ca-bundle",
             str(server.ca_bundle), check=True)
    return CertificateService()


def test_eab_for_a_pebble_without_eab_says_none_is_needed(home: Home, pebble: PebbleServer) -> None:
    def check(screen: EabScreen) -> None:
        assert need(screen).startswith("sandbox needs no EAB credentials")
        assert shown_rows(screen) == set()

    check_eab(local_provider(home, pebble), "sandbox", check)


def test_eab_for_a_pebble_that_requires_eab_asks_for_it(home: Home, pebble_eab: PebbleServer) -> None:
    def check(screen: EabScreen) -> None:
        assert need(screen).startswith("sandbox requires EAB credentials")
        assert shown_rows(screen) == {"eab_kid", "eab_hmac_key"}
        assert not screen.query_one("#zerossl-hint").display

    check_eab(local_provider(home, pebble_eab), "sandbox", check)


def test_eab_for_an_unreachable_ca_says_it_could_not_ask(home: Home) -> None:
    home.run("provider", "add", "down", "--directory", "https://127.0.0.1:1/directory", check=True)

    def check(screen: EabScreen) -> None:
        assert need(screen).startswith("Could not ask down whether it needs EAB credentials")
        assert shown_rows(screen) == {"eab_kid", "eab_hmac_key"}

    check_eab(CertificateService(), "down", check)


def test_theme_named_with_markup_is_listed_literally(demo: CertificateService, home: Home) -> None:
    themes = home.config.parent / "themes"
    themes.mkdir(parents=True)
    (themes / "odd.toml").write_text('name = "x[/]y[b]"\nprimary = "#123456"\n')

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        assert "x[/]y[b]" in app.theme_names
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#theme").value = "x[/]y[b]"  # type: ignore[attr-defined]
        await pilot.pause()
        assert "x[/]y[b]" in screen_text(app)

    run(demo, scenario)
