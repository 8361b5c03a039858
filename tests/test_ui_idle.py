"""The idle dashboard does little, and still shows what changes: countdowns of the rows on screen tick (each
second within a day of expiry, on the hour further out), a row turns expired when its time comes, and a renewal
by another process shows up at the periodic look."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from conftest import Home
from uiwait import loaded, until

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.core.models import CertStatus
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo, store_fake
from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.service.service import CertificateService
from zerossl_tui.storage.journal import Journal
from zerossl_tui.ui.app import Dashboard, make_app
from zerossl_tui.ui.freshness import FULL_EVERY, Freshness

SIZE = (140, 40)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DEMO_NOW)


@pytest.fixture
def demo(home: Home, clock: FixedClock) -> CertificateService:
    """The demo certificates, and ``soon``, which expires 30 minutes after the demo's moment."""
    service = CertificateService(clock=clock)
    seed_demo(service)
    service.add_certificate("soon", ["soon.example.com"], "zerossl")
    store_fake(service, "soon", ("soon.example.com",), DEMO_NOW + timedelta(minutes=30), "5EC0DD")
    return service


def expiry(app: Dashboard, name: str) -> str:
    return app.table.get_cell(name, "expiry").strip()


def test_countdowns_on_screen_follow_the_clock(demo: CertificateService, clock: FixedClock) -> None:
    """The app's own clock tick (no direct call) moves the countdowns: within the hour every second, a
    countdown of days on the hour; when ``soon`` runs out, the periodic look shows it expired."""

    async def scenario() -> None:
        app = make_app(demo, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            assert "soon" in app.table.names[: app.table.size.height - 1]  # on screen
            assert (expiry(app, "soon"), expiry(app, "shop")) == ("30m 00s", "71d 04h")
            clock.advance(1)  # shop had exactly 71 days and 4 hours left
            await until(pilot, lambda: expiry(app, "soon") == "29m 59s", "a countdown ticking each second")
            assert expiry(app, "shop") == "71d 03h"
            clock.advance(1)
            await until(pilot, lambda: expiry(app, "soon") == "29m 58s", "a countdown ticking each second")
            assert expiry(app, "shop") == "71d 03h"
            clock.advance(3599)
            await until(pilot, lambda: expiry(app, "shop") == "71d 02h", "a countdown of days, on the hour")
            assert expiry(app, "soon") == "expired 30m ago"
            assert app.table.views["soon"].status is CertStatus.EXPIRING  # as last read: nothing re-read
            app.look_again()  # what the 30-second timer calls: no file changed, but a status did
            await until(pilot, lambda: app.table.views["soon"].status is CertStatus.EXPIRED, "soon expired")
            assert app.table.get_cell("soon", "status") == "expired"

    asyncio.run(scenario())


def test_the_periodic_look_reads_only_what_changed(demo: CertificateService, clock: FixedClock,
                                                   home: Home) -> None:
    """The stamp moves when another process writes the journal, and a read is due at the first status
    change by time or after FULL_EVERY; otherwise the rows are not read again."""
    views = demo.views()
    seen, stamp = Freshness(), demo.data_stamp()
    seen.record(stamp, demo.settings, views, clock.now())
    assert seen.unchanged(demo.data_stamp(), demo.settings, clock.now() + timedelta(minutes=5))
    assert not seen.unchanged(demo.data_stamp(), demo.settings, DEMO_NOW + timedelta(minutes=30))  # soon expires
    assert not seen.unchanged(demo.data_stamp(), demo.settings, clock.now() + FULL_EVERY)
    home.run("remove", "legacy", check=True)  # another process: the settings file changes
    demo.reload()  # (the scheduler does, when the file changes)
    assert not seen.unchanged(demo.data_stamp(), demo.settings, clock.now())
    seen.record(demo.data_stamp(), demo.settings, demo.views(), clock.now())
    assert seen.unchanged(demo.data_stamp(), demo.settings, clock.now())
    with Journal(demo.paths.journal_path) as journal:  # an order starts, on another connection (a daemon's)
        journal.start_order("shop", clock.now())
    assert not seen.unchanged(demo.data_stamp(), demo.settings, clock.now())


@pytest.mark.pebble
def test_a_renewal_by_another_process_shows_up(local_home: Home, pebble: PebbleServer) -> None:
    service = CertificateService()
    service.add_certificate("shop", ["shop.example.test"], "local", http_port=pebble.http_port,
                            http_bind="127.0.0.1")
    first = service.issue("shop")

    async def scenario() -> None:
        app = make_app(service, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            view = app.table.views["shop"]
            assert view.info is not None and view.info.serial == first.serial
            done = await asyncio.to_thread(local_home.run, "renew", "shop", "--force")
            assert done.returncode == 0, done.stderr
            app.look_again()  # what the 30-second timer calls

            def renewed() -> bool:
                info = app.table.views["shop"].info
                return info is not None and info.serial != first.serial

            await until(pilot, renewed, "the other process's renewal")
            await pilot.pause()
            assert "shop" in app.table.names

    asyncio.run(scenario())

