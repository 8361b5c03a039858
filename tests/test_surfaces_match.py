"""Every setting of settings.toml can be given on the command line (its --help explains it) and in the
dashboard's forms, and the command line and the forms save it the same way."""

from __future__ import annotations

import tomllib

import pytest
from conftest import Home
from test_ui_keys import error_text
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from uiwait import Scenario, run_dashboard, until

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.core.schema import CERTIFICATE_FIELDS, DNS_FIELDS, PROVIDER_FIELDS
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard
from zerossl_tui.ui.dns_model import values_of
from zerossl_tui.ui.screens.cert_form import CertificateForm
from zerossl_tui.ui.screens.dns import DnsScreen
from zerossl_tui.ui.screens.eab import EabScreen
from zerossl_tui.ui.screens.provider_form import ProviderForm

# settings key -> the form widget's id, where they differ
FORM_IDS = {"domains": "domains", "type": "dns-type"}
# settings key -> its command-line option, where it is not --key-with-dashes
OPTIONS = {"domains": "--domain", "command": "--command", "options": "--option", "resolvers": "--resolver"}


@pytest.fixture
def demo(home: Home) -> CertificateService:
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)
    return service


def run(service: CertificateService, scenario: Scenario, size: tuple[int, int] = (100, 40)) -> None:
    run_dashboard(service, scenario, size)


def option(key: str) -> str:
    return OPTIONS.get(key, "--" + key.replace("_", "-"))


async def opened(pilot: Pilot[int], screen: Screen[object], first: str) -> None:
    """Push ``screen`` and wait until its widget ``first`` is there (its compose has run)."""
    pilot.app.push_screen(screen)
    await until(pilot, lambda: pilot.app.screen is screen and bool(screen.query(f"#{first}")), f"#{first}")


def ids(app: App[object]) -> set[str]:
    return {node.id for node in app.screen.query("*") if node.id}


@pytest.mark.parametrize(("command", "fields"), [
    (["add"], CERTIFICATE_FIELDS), (["edit"], CERTIFICATE_FIELDS), (["provider", "add"], PROVIDER_FIELDS),
    (["dns", "add"], DNS_FIELDS)])
def test_every_setting_is_an_option_that_help_explains(home: Home, command: list[str], fields: tuple) -> None:
    text = " ".join(home.run(*command, "--help", check=True).stdout.split())
    missing = [f.key for f in fields if option(f.key) not in text]
    assert not missing, f"`{' '.join(command)} --help` lacks {missing}"
    for field in fields:  # the option is followed by the setting's own docstring (its first words)
        if field.key not in ("domains", "options", "resolvers"):
            assert " ".join(field.doc.split()[:4]) in text, field.key


def test_every_certificate_setting_is_in_the_form(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, CertificateForm), "the add form")
        missing = [f.key for f in CERTIFICATE_FIELDS if FORM_IDS.get(f.key, f.key) not in ids(app)]
        assert not missing, f"the certificate form lacks {missing}"

    run(demo, scenario)


def test_every_provider_and_dns_setting_is_on_a_screen(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await opened(pilot, ProviderForm(app.service), "directory")
        shown = ids(app)
        app.pop_screen()
        await opened(pilot, EabScreen(app.service, "zerossl"), "eab_kid")
        shown |= ids(app)
        missing = [f.key for f in PROVIDER_FIELDS if f.key not in shown]
        assert not missing, f"no screen offers provider settings {missing}"
        app.pop_screen()
        await opened(pilot, DnsScreen(app.service), "dns-type")
        missing = [f.key for f in DNS_FIELDS if FORM_IDS.get(f.key, f.key) not in ids(app)]
        assert not missing, f"the DNS screen lacks {missing}"

    run(demo, scenario)


def test_provider_form_saves_a_preferred_chain_as_provider_add_does(demo: CertificateService, home: Home) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await opened(pilot, ProviderForm(app.service), "name")
        app.screen.query_one("#name").focus()
        await pilot.press(*"myca", "tab", *"https://ca.example.net/dir", "tab", "tab", "tab", *"ISRG Root X2")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, ProviderForm), "the form to close")

    run(demo, scenario)
    home.run("provider", "add", "cli", "--directory", "https://ca.example.net/dir", "--preferred-chain",
             "ISRG Root X2", check=True)
    providers = demo.reload().providers
    assert providers["myca"].preferred_chain == providers["cli"].preferred_chain == "ISRG Root X2"


def test_owner_and_group_from_the_command_line_and_a_typo_refused(home: Home, demo: CertificateService) -> None:
    done = home.run("add", "own", "-d", "own.example.com", "--provider", "zerossl", "--owner", "no-such-user-zt")
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["zerossl-tui: error: owner 'no-such-user-zt': there is no user of that "
                                        "name on this system: give an existing user or its number"]
    home.run("add", "own", "-d", "own.example.com", "--provider", "zerossl", "--owner", "root", "--group", "0",
             check=True)
    saved = tomllib.loads(home.config.read_text())["certificates"]["own"]
    assert (saved["owner"], saved["group"]) == ("root", "0")


def test_owner_typo_in_the_form_is_said_in_the_same_words(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, CertificateForm), "the add form")
        await pilot.press(*"own", "tab", *"own.example.com")
        app.screen.query_one("#owner").focus()
        await pilot.press(*"no-such-user-zt", "tab")
        assert error_text(app.screen) == ("owner 'no-such-user-zt': there is no user of that name on this system: "
                                          "give an existing user or its number")

    run(demo, scenario)


def test_dns_form_gives_the_txt_ttl(demo: CertificateService) -> None:
    values = values_of("rfc2136", {"server": "127.0.0.1:53", "tsig_key_name": "acme", "tsig_secret": "c2VjcmV0",
                                   "tsig_algorithm": "hmac-sha256", "ttl": "30"})
    spec = demo.set_dns("bind", **values)
    assert spec.ttl == 30 and demo.reload().dns["bind"].ttl == 30


@pytest.mark.parametrize("command", [["provider", "list"], ["dns", "list"], ["dns", "remove"], ["dns", "test"],
                                     ["notify", "list"], ["notify", "remove"], ["notify", "test"]])
def test_every_command_help_says_what_it_does(home: Home, command: list[str]) -> None:
    text = home.run(*command, "--help", check=True).stdout
    described = text.split("\n\n")[1]  # after the usage: what it does, before the arguments
    assert not described.startswith(("positional arguments", "options")), text
