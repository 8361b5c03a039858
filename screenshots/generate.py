"""Generate the README screenshots from the app itself, with demo data and a fixed clock.

    python screenshots/generate.py            # writes screenshots/*.svg

Each screenshot runs the real dashboard (``make_app``) over a real service whose settings and data live in
a temporary home; the certificates come from ``zerossl_tui.devtools.demo``. No network is used.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo, seed_served, show_running
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard, make_app
from zerossl_tui.ui.themes import load_themes, shipped_dir

OUT = Path(__file__).resolve().parent
SIZE = (140, 40)
Step = Callable[[Dashboard, Pilot[int]], Awaitable[None]]


def isolated_home(root: Path) -> None:
    """Point settings, data and HOME at ``root`` so that nothing of the user's is read or shown."""
    os.environ["HOME"] = str(root)
    os.environ["ZEROSSL_TUI_CONFIG"] = str(root / ".config" / "zerossl-tui" / "settings.toml")
    os.environ["ZEROSSL_TUI_DATA_DIR"] = str(root / ".local" / "share" / "zerossl-tui")


async def loaded(app: Dashboard, pilot: Pilot[int]) -> None:
    """Wait for the table and the selected row's log."""
    for _ in range(100):
        await pilot.pause(0.02)
        if app.loaded:
            break
    await app.workers.wait_for_complete()
    await pilot.pause()


def select(name: str) -> Step:
    """Select a row and wait for its log."""
    async def step(app: Dashboard, pilot: Pilot[int]) -> None:
        await loaded(app, pilot)
        app.table.select(name)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    return step


async def issuing(app: Dashboard, pilot: Pilot[int]) -> None:
    """An order running for `cdn`: its row shows the step, the log its live timeline."""
    await select("cdn")(app, pilot)
    show_running(app.board, "cdn", DEMO_NOW)
    app.table.set_job("cdn", "processing")
    app.draw_log()
    await pilot.pause()


async def timeline_day(app: Dashboard, pilot: Pilot[int]) -> None:
    """Today's column of the 90-day strip chosen: the table shows only what needs attention today, and
    `cdn`'s validity bar has its CA's renewal window."""
    await loaded(app, pilot)
    app.main.timeline.focus()
    await pilot.press("home", "enter")
    await pilot.pause()
    app.table.select("api")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def add_form(app: Dashboard, pilot: Pilot[int]) -> None:
    """The add form scrolled to its hooks and verify endpoints, with a mistake being pointed out as it is
    typed."""
    await loaded(app, pilot)
    await pilot.press("a", *"news", "tab", *"news.example.com, *.example.com")
    while app.focused is not None and app.focused.id != "deploy_hook":
        await pilot.press("tab")
    await pilot.press(*"systemctl reload nginx", "tab", "tab", *"127.0.0.1:443")


async def eab(app: Dashboard, pilot: Pilot[int]) -> None:
    """The EAB modal with a key pasted (masked)."""
    await select("shop")(app, pilot)
    await pilot.press("k")
    app.screen.query_one("#eab_kid", Input).value = "f1Yq8W2pXv9nK3dR"
    app.screen.query_one("#eab_hmac_key", Input).value = "c2NyZWVuc2hvdC1vbmx5LW5vdC1hLXJlYWwta2V5"
    await pilot.pause()


async def settings(app: Dashboard, pilot: Pilot[int]) -> None:
    """The settings screen."""
    await loaded(app, pilot)
    await pilot.press("s")
    await pilot.pause()


async def help_screen(app: Dashboard, pilot: Pilot[int]) -> None:
    """The `?` help."""
    await loaded(app, pilot)
    await pilot.press("question_mark")
    await pilot.pause()


async def notifications(app: Dashboard, pilot: Pilot[int]) -> None:
    """The notifications screen: every URL masked, a new one being typed (masked too)."""
    await loaded(app, pilot)
    await pilot.press("n")
    await app.workers.wait_for_complete()
    await pilot.pause()
    app.screen.query_one("#url", Input).value = "mailto://ops:screenshot-only@mail.example.net"
    await pilot.pause()


async def accounts(app: Dashboard, pilot: Pilot[int]) -> None:
    """The accounts screen, asking before a key rollover."""
    await loaded(app, pilot)
    await pilot.press("u")
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("down", "ctrl+r")
    await pilot.pause()


async def hosts(app: Dashboard, pilot: Pilot[int]) -> None:
    """In a fleet, the Hosts view (`H`): here over a demo fleet instead of a PostgreSQL database."""
    from zerossl_tui.devtools.demo_fleet import DemoHostsScreen

    await loaded(app, pilot)
    await app.push_screen(DemoHostsScreen(app.service, DEMO_NOW))
    await pilot.pause()


def seed_operations(service: CertificateService) -> None:
    """Verify endpoints in every state, two notification URLs and a registered ZeroSSL account."""
    seed_served(service)
    service.add_notify_url("json://hook:screenshot-only@hooks.example.net/zerossl?token=abc")
    service.add_notify_url("ntfy://ops:screenshot-only@ntfy.example.net/certs")
    directory = service.settings.provider("zerossl").directory
    service.store.save_account("zerossl", b"demo key", "https://acme.zerossl.com/v2/DV90/account/d3m0", directory)


def themed(theme: str) -> Step:
    """The main screen in ``theme``."""
    async def step(app: Dashboard, pilot: Pilot[int]) -> None:
        await select("api")(app, pilot)
        app.theme = theme
        await pilot.pause()
        app.clear_notifications()
        await pilot.pause()

    return step


def shoot(service: CertificateService, name: str, step: Step) -> Path:
    """Run the dashboard, do ``step``, save ``name``.svg."""
    app = make_app(service, autorenew=False)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await step(app, pilot)
            app.save_screenshot(filename=f"{name}.svg", path=str(OUT))

    asyncio.run(main())
    return OUT / f"{name}.svg"


def main() -> int:
    """Write every screenshot; print their paths."""
    with tempfile.TemporaryDirectory() as tmp:
        isolated_home(Path(tmp))
        service = CertificateService(clock=FixedClock(DEMO_NOW))
        seed_demo(service)
        seed_operations(service)
        shots: list[tuple[str, Step]] = [
            ("main", select("shop")), ("timeline", timeline_day), ("validity-ari", select("cdn")),
            ("issuing", issuing), ("add-form", add_form), ("eab", eab),
            ("settings", settings), ("help", help_screen), ("notifications", notifications),
            ("accounts", accounts), ("hosts", hosts),
        ]
        shots += [(f"theme-{theme}", themed(theme)) for theme in sorted(load_themes([shipped_dir()]).themes)]
        for name, step in shots:
            print(shoot(service, name, step))
    return 0


if __name__ == "__main__":
    sys.exit(main())
