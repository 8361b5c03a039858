"""The dashboard against a real Pebble CA: renew, renew-all-due, add-then-issue, EAB credentials."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from conftest import EAB_HMAC, EAB_KID, Home
from textual.widgets import Input, Label
from uiwait import until

from zerossl_tui.core.models import CertInfo, OrderRecord
from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard, make_app

pytestmark = pytest.mark.pebble
SIZE = (140, 40)


def add_local(service: CertificateService, pebble: PebbleServer, name: str, *domains: str) -> None:
    """A certificate answered by the built-in responder where Pebble validates."""
    service.add_certificate(name, domains or (f"{name}.example.test",), "local", http_port=pebble.http_port,
                            http_bind="127.0.0.1")


def issued_local(pebble: PebbleServer, name: str) -> tuple[CertificateService, CertInfo]:
    """A service holding ``name``, issued once at Pebble, and that first certificate."""
    service = CertificateService()
    add_local(service, pebble, name)
    return service, service.issue(name)


def most_at_once(orders: list[OrderRecord]) -> int:
    """The largest number of these orders that were running at the same moment (from the journal)."""
    moments = sorted([(o.started, 1) for o in orders] + [(o.finished or o.started, -1) for o in orders],
                     key=lambda pair: (pair[0], pair[1]))
    running = peak = 0
    for _, delta in moments:
        running += delta
        peak = max(peak, running)
    return peak


async def settle(app: Dashboard, pilot, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until no order is queued or running and every worker has finished."""
    deadline = time.monotonic() + timeout
    await pilot.pause(0.2)
    while app.board.names() and time.monotonic() < deadline:
        await pilot.pause(0.2)
    assert not app.board.names(), f"orders still running: {app.board.names()}"
    finite = [w for w in app.workers if w.group != "scheduler"]  # the scheduler runs until the app exits
    if finite:
        await app.workers.wait_for_complete(finite)
    await pilot.pause(0.1)


async def notice(app: Dashboard, pilot, title: str) -> str:  # type: ignore[no-untyped-def]
    """The message of the first notification titled ``title``, once it has come."""
    def found() -> list[str]:
        return [n.message for n in app._notifications if n.title == title]

    await until(pilot, found, f"a {title!r} notification")
    return found()[0]


def test_renew_key_issues_new_cert(local_home: Home, pebble: PebbleServer) -> None:
    service, first = issued_local(pebble, "shop")

    async def scenario() -> None:
        app = make_app(service, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert app.table.selected_name == "shop"
            await pilot.press("r")
            await settle(app, pilot)

    asyncio.run(scenario())
    info = service.current_info("shop")
    assert info is not None and info.serial != first.serial


def test_renew_due_key_renews_every_due_one_concurrently(local_home: Home, pebble: PebbleServer) -> None:
    service = CertificateService()
    service.update_table("renewal", {"concurrency": 3})
    add_local(service, pebble, "fresh")
    kept = service.issue("fresh")
    for name in ("due1", "due2", "due3", "due4"):
        add_local(service, pebble, name)  # never issued: due now

    async def scenario() -> None:
        app = make_app(service, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("R")
            assert (await notice(app, pilot, "Renew due")).startswith("Renewing 4 due")
            await settle(app, pilot)
            assert {str(app.table.get_cell(n, "status")) for n in ("due1", "due2", "due3", "due4")} == {"valid"}

    asyncio.run(scenario())
    assert all(service.current_info(n) is not None for n in ("due1", "due2", "due3", "due4"))
    fresh = service.current_info("fresh")
    assert fresh is not None and fresh.serial == kept.serial  # not due: untouched
    peak = most_at_once([service.orders(n)[0] for n in ("due1", "due2", "due3", "due4")])
    assert 2 <= peak <= 3  # several at once, never more than the limit


def test_renew_due_key_asks_the_journal_not_the_table(local_home: Home, pebble: PebbleServer) -> None:
    """Another process issued it after the table was loaded: R finds it no longer due."""
    service = CertificateService()
    add_local(service, pebble, "shop")  # never issued: due

    async def scenario() -> None:
        app = make_app(service, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert str(app.table.get_cell("shop", "status")) != "valid"
            CertificateService().issue("shop")  # as `zerossl-tui issue shop` from a shell would
            await pilot.press("R")
            assert await notice(app, pilot, "Renew due") == "Nothing is due for renewal."
            await settle(app, pilot)

    asyncio.run(scenario())
    assert len(service.orders("shop")) == 1


def test_add_form_creates_a_certificate_that_issues(local_home: Home, pebble: PebbleServer) -> None:
    service = CertificateService()

    async def scenario() -> None:
        app = make_app(service, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("a")
            await pilot.press(*"blog")
            await pilot.press("tab")
            await pilot.press(*"blog.example.test www.blog.example.test")
            form = app.screen
            form.query_one("#http_port", Input).value = str(pebble.http_port)
            form.query_one("#http_bind", Input).value = "127.0.0.1"
            await pilot.pause()
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert str(app.table.get_cell("blog", "status")) == "valid"
            assert app.table.selected_name == "blog"

    asyncio.run(scenario())
    info = service.current_info("blog")
    assert info is not None and set(info.domains) == {"blog.example.test", "www.blog.example.test"}


def test_eab_modal_stores_credentials_that_register(home: Home, pebble_eab: PebbleServer) -> None:
    service = CertificateService()
    service.set_provider("eabca", directory=pebble_eab.directory, ca_bundle=str(pebble_eab.ca_bundle))
    result = ""

    async def scenario() -> None:
        nonlocal result
        app = make_app(service, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("k")
            modal = app.screen
            assert modal.provider == "eabca"  # type: ignore[attr-defined]
            modal.query_one("#eab_kid", Input).value = EAB_KID
            modal.query_one("#eab_hmac_key", Input).value = EAB_HMAC
            await pilot.pause()
            await pilot.click("#test")
            await until(pilot, lambda: _result(modal).startswith(("Account ready", "EAB", "CA", "Unexpected",
                                                                    "Operation")), "the account test", 60)
            result = _result(modal)
            assert EAB_HMAC not in app.export_screenshot()
            assert modal.query_one("#eab_hmac_key", Input).value == ""

    asyncio.run(scenario())
    assert result.startswith("Account ready"), result
    assert service.reload().providers["eabca"].has_eab


def test_eab_modal_reports_the_ca_refusal_without_eab(home: Home, pebble_eab: PebbleServer) -> None:
    service = CertificateService()
    service.set_provider("eabca", directory=pebble_eab.directory, ca_bundle=str(pebble_eab.ca_bundle))
    result = ""

    async def scenario() -> None:
        nonlocal result
        app = make_app(service, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("k")
            await pilot.click("#test")
            await until(pilot, lambda: _result(app.screen) != "" and
                        not _result(app.screen).startswith("Contacting"), "the CA's answer", 60)
            result = _result(app.screen)

    asyncio.run(scenario())
    assert "EAB" in result or "external account" in result.lower(), result


def test_failed_order_notifies_title_and_message_and_keeps_running(local_home: Home, pebble: PebbleServer) -> None:
    service = CertificateService()
    service.set_provider("dead", directory="https://127.0.0.1:9/dir")
    service.add_certificate("down", ["down.example.test"], "dead", http_port=pebble.http_port)

    async def scenario() -> None:
        app = make_app(service, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("r")
            await settle(app, pilot)
            errors = [n for n in app._notifications if n.severity == "error"]
            assert errors and errors[-1].title and "down" in errors[-1].message
            assert str(app.table.get_cell("down", "status")) == "failed"
            assert app.is_running

    asyncio.run(scenario())


def test_autorenew_issues_due_certificates_while_open(local_home: Home, pebble: PebbleServer) -> None:
    service = CertificateService()
    add_local(service, pebble, "auto")

    async def scenario() -> None:
        app = make_app(service, autorenew=True)
        async with app.run_test(size=SIZE) as pilot:
            deadline = time.monotonic() + 30
            while service.current_info("auto") is None and time.monotonic() < deadline:
                await pilot.pause(0.2)
            await settle(app, pilot)
            assert str(app.table.get_cell("auto", "status")) == "valid"
            assert "auto-renew on" in app.sub_title

    asyncio.run(scenario())
    assert service.current_info("auto") is not None


def test_autorenew_replaces_a_certificate_revoked_from_the_dashboard(local_home: Home, pebble: PebbleServer) -> None:
    """After x, the row says renewal 'now (revoked)': auto-renew must act on it now, not after its hour's sleep."""
    service, first = issued_local(pebble, "rev")

    async def scenario() -> None:
        app = make_app(service, autorenew=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            app.revoke("rev", 0)
            await notice(app, pilot, "Revoked")
            await until(pilot, lambda: (service.current_info("rev") or first).serial != first.serial,
                        "the revoked certificate to be replaced", 60)
            await settle(app, pilot)

    asyncio.run(scenario())


def _result(screen: Any) -> str:
    return str(screen.query_one("#result", Label).content)
