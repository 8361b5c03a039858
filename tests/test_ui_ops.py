"""The dashboard's operations screens: notification URLs, ACME accounts, and the Served column.

Real servers on loopback: a local HTTP receiver for ``json://`` notifications, the session's Pebble for key
rollover and deactivation, and a python ``ssl`` server that keeps serving the certificate it loaded.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import Home
from test_verify_served import TlsServer
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label
from uiwait import until

from zerossl_tui.devtools.pebble import PebbleServer, free_port
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard, make_app
from zerossl_tui.ui.screens.accounts import AccountsScreen
from zerossl_tui.ui.screens.confirm import ConfirmScreen
from zerossl_tui.ui.screens.notify import NotifyScreen

SIZE = (140, 40)
SECRET = "s3cret-pass-w0rd"


class Receiver:
    """A local HTTP server that keeps every JSON body posted to it (what apprise's ``json://`` sends)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length", 0))
                owner.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def run(service: CertificateService, scenario: Callable[[Dashboard, Pilot[Any]], Awaitable[None]]) -> None:
    """Run ``scenario`` in the dashboard over ``service`` (auto-renew off), once its rows are loaded."""
    async def main() -> None:
        app = make_app(service, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.loaded, "the certificates")
            await scenario(app, pilot)

    asyncio.run(main())


def label(app: Dashboard, selector: str) -> str:
    """The text a label of the current screen shows."""
    return str(app.screen.query_one(selector, Label).render())


def screen_text(app: Dashboard) -> str:
    """Everything drawn on screen (the SVG export holds the text of every cell; spaces as &#160;)."""
    return app.export_screenshot().replace("&#160;", " ")


def test_notification_url_is_saved_masked_tested_and_removed(home: Home, receiver: Receiver) -> None:
    service = CertificateService()
    url = f"json://hook:{SECRET}@127.0.0.1:{receiver.port}/notify"

    async def scenario(app: Dashboard, pilot: Pilot[Any]) -> None:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NotifyScreen), "the notifications screen")
        await pilot.pause()
        screen = app.screen
        url_input = screen.query_one("#url", Input)
        assert url_input.password, "the URL is typed into a masked input"
        url_input.value = url
        await pilot.click("#add")
        await until(pilot, lambda: screen.query_one("#urls", DataTable).row_count == 1, "the added URL")
        assert url in service.notify_urls() and not url_input.value
        assert f"json://127.0.0.1:{receiver.port}/***" in label(app, "#result")
        shown = screen_text(app)
        assert f"127.0.0.1:{receiver.port}/***" in shown and SECRET not in shown and "hook" not in shown

        await pilot.click("#test")
        await until(pilot, lambda: "sent to 1 of 1" in label(app, "#result"), "the test result")
        assert receiver.bodies and receiver.bodies[0]["title"] == "zerossl-tui test"

        await asked(pilot, "delete")
        await pilot.press("y")
        await until(pilot, lambda: screen.query_one("#urls", DataTable).row_count == 0, "the removal")
        assert service.notify_urls() == []

    run(service, scenario)
    assert not service.paths.config_file.exists() or SECRET not in service.paths.config_file.read_text()


def test_a_test_to_a_dead_target_says_how_to_fix_it_like_the_cli(home: Home) -> None:
    service = CertificateService()
    service.add_notify_url(f"json://127.0.0.1:{free_port()}/dead")

    async def scenario(app: Dashboard, pilot: Pilot[Any]) -> None:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NotifyScreen), "the notifications screen")
        await pilot.pause()
        await pilot.click("#test")
        await until(pilot, lambda: "sent to 0 of 1" in label(app, "#result"), "the test result")
        assert "not delivered: check that the target is up and the URL is right" in label(app, "#result")

    run(service, scenario)


def test_bad_notification_url_is_one_line_naming_only_the_masked_url(home: Home) -> None:
    service = CertificateService()

    async def scenario(app: Dashboard, pilot: Pilot[Any]) -> None:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NotifyScreen), "the notifications screen")
        await pilot.pause()
        app.screen.query_one("#url", Input).value = f"nosuchscheme://{SECRET}@example.net/x"
        await pilot.click("#add")
        await until(pilot, lambda: bool(label(app, "#error")), "the error")
        error = label(app, "#error")
        assert "not a notification URL" in error and SECRET not in error and "\n" not in error
        assert SECRET not in screen_text(app)

    run(service, scenario)
    assert service.notify_urls() == []


def registered(local_home: Home) -> CertificateService:
    service = CertificateService()
    service.test_provider("local")
    return service


def account(service: CertificateService) -> tuple[bytes | None, str]:
    return service.store.load_account("local", service.settings.provider("local").directory)


async def open_accounts(app: Dashboard, pilot: Pilot[Any]) -> AccountsScreen:
    await pilot.press("u")
    await until(pilot, lambda: isinstance(app.screen, AccountsScreen) and bool(app.screen.rows), "the accounts")
    screen = app.screen
    assert isinstance(screen, AccountsScreen)
    screen.query_one("#accounts", DataTable).move_cursor(row=[r.provider for r in screen.rows].index("local"))
    return screen


@pytest.mark.pebble
def test_key_rollover_asks_first_then_replaces_the_account_key(local_home: Home, pebble: PebbleServer) -> None:
    service = registered(local_home)
    old_key, url = account(service)

    async def scenario(app: Dashboard, pilot: Pilot[Any]) -> None:
        await open_accounts(app, pilot)
        assert url in screen_text(app)
        await asked(pilot, "ctrl+r")
        await pilot.press("escape")  # the confirmation says no: nothing happens
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the confirmation to close")
        assert account(service)[0] == old_key
        await asked(pilot, "ctrl+r")
        await pilot.press("y")
        await until(pilot, lambda: "new account key in use" in label(app, "#result"), "the rollover", 60)
        assert label(app, "#result") == f"local: new account key in use for {url}"

    run(service, scenario)
    new_key, new_url = account(service)
    assert new_key != old_key and new_url == url
    service.add_certificate("after", ["after.example.test"], "local", http_port=pebble.http_port,
                            http_bind="127.0.0.1")
    assert service.issue("after").serial, "the new key orders certificates"


async def asked(pilot: Pilot[Any], key: str) -> None:
    """Press ``key`` and wait for its confirmation to be on top (a key pressed sooner goes to the screen
    below it)."""
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), f"the confirmation of {key}")


@pytest.mark.pebble
def test_deactivate_asks_first_and_forgets_the_account(local_home: Home, pebble: PebbleServer) -> None:
    service = registered(local_home)
    _, url = account(service)

    async def scenario(app: Dashboard, pilot: Pilot[Any]) -> None:
        screen = await open_accounts(app, pilot)
        await asked(pilot, "ctrl+d")
        await pilot.press("y")
        await until(pilot, lambda: "deactivated" in label(app, "#result"), "the deactivation", 60)
        assert label(app, "#result") == f"local: account {url} deactivated"
        await until(pilot, lambda: not [r for r in screen.rows if r.provider == "local"][0].url, "the row cleared")
        table = screen.query_one("#accounts", DataTable)
        assert "not registered" in str(table.get_row("local")[2])

    run(service, scenario)
    assert account(service)[1] == "" and url


@pytest.fixture
def stale_site(local_home: Home, pebble: PebbleServer) -> Iterator[tuple[CertificateService, TlsServer]]:
    """`site`, renewed after its TLS server loaded it: the server still serves the first certificate."""
    service = CertificateService()
    srv = local_home.root / "srv"
    service.add_certificate("site", ["site.example.test"], "local", http_port=pebble.http_port,
                            http_bind="127.0.0.1", certfile=str(srv / "fullchain.pem"),
                            keyfile=str(srv / "privkey.pem"))
    service.issue("site")
    server = TlsServer(Path(srv / "fullchain.pem"), Path(srv / "privkey.pem"))
    service.edit_certificate("site", verify=[f"127.0.0.1:{server.port}"])
    service.issue("site")
    yield service, server
    server.stop()


@pytest.mark.pebble
def test_served_column_shows_stale_after_a_check_and_ok_after_the_reload(
        stale_site: tuple[CertificateService, TlsServer]) -> None:
    service, server = stale_site

    async def scenario(app: Dashboard, pilot: Pilot[Any]) -> None:
        assert app.table.get_cell("site", "served") == "unchecked"
        await pilot.press("v")
        await until(pilot, lambda: app.table.get_cell("site", "served") == "stale", "stale")
        log = str(app.main.order_log.query_one("#log-text").render())
        assert f"127.0.0.1:{server.port}" in log and "reload the web server" in log
        server.reload()
        await pilot.press("v")
        await until(pilot, lambda: app.table.get_cell("site", "served") == "ok", "ok after the reload")

    run(service, scenario)


def test_served_column_is_a_dash_without_endpoints_and_v_says_how_to_add_them(home: Home) -> None:
    service = CertificateService()
    service.add_certificate("plain", ["plain.example.test"], "letsencrypt")

    async def scenario(app: Dashboard, pilot: Pilot[Any]) -> None:
        assert app.table.get_cell("plain", "served") == "—"
        await pilot.press("v")
        await pilot.pause(0.1)
        assert any("--verify HOST:PORT" in str(n.message) for n in app._notifications)

    run(service, scenario)


@pytest.mark.pebble
def test_renewing_in_the_dashboard_verifies_the_endpoints_after_the_deploy(
        stale_site: tuple[CertificateService, TlsServer]) -> None:
    service, server = stale_site
    server.reload()  # serves the current certificate; the renewal below makes it stale until reloaded again
    before = service.current_info("site")
    served_before = (server.certfile.read_bytes(), server.keyfile.read_bytes())
    stop = threading.Event()

    def reload_when_deployed() -> None:  # the web server's reload, a moment after both files changed
        while not stop.wait(0.05):
            if all(now != then for now, then in zip((server.certfile.read_bytes(), server.keyfile.read_bytes()),
                                                     served_before, strict=True)):
                stop.wait(0.5)
                server.reload()
                return

    async def scenario(app: Dashboard, pilot: Pilot[Any]) -> None:
        app.table.select("site")
        await pilot.press("r")
        await until(pilot, lambda: service.current_info("site") != before, "the renewal", 60)
        await until(pilot, lambda: app.table.get_cell("site", "served") == "ok", "the check after the deploy", 90)

    watcher = threading.Thread(target=reload_when_deployed)
    watcher.start()
    try:
        run(service, scenario)
    finally:
        stop.set()
        watcher.join()
    recorded = json.loads((service.paths.data_dir / "served.json").read_text())["site"]
    info = service.current_info("site")
    assert info is not None and [c["served_serial"] for c in recorded.values()] == [info.serial]
