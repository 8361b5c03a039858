"""Waiting in dashboard tests: poll the running app against a deadline (workers answer through the message
queue, and a loaded CI machine may take seconds), never a fixed number of short pauses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard, make_app

WAIT = 30.0


async def until(pilot: Pilot[Any], check: Callable[[], object], what: str = "the dashboard",
                timeout: float = WAIT) -> None:
    """Let the app run until ``check()`` is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def loaded(pilot: Pilot[Any]) -> None:
    """Wait for the first rows, then for the loaders (the selected row's log) to finish."""
    app: Any = pilot.app
    await until(pilot, lambda: app.loaded, "the first rows")
    await app.workers.wait_for_complete()
    await pilot.pause()


Scenario = Callable[[Dashboard, Pilot[int]], Awaitable[None]]


def run_dashboard(service: CertificateService, scenario: Scenario, size: tuple[int, int] = (140, 40)) -> None:
    """Run ``scenario`` against the dashboard over ``service`` once its first load is shown (scheduler off)."""
    app = make_app(service, autorenew=False)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await loaded(pilot)
            await scenario(app, pilot)

    asyncio.run(main())
