"""Many orders ending together (a CA outage, `R` over a fleet of due certificates) are told in one toast
naming them, not one toast each: at 80x24 six failures covered the whole table."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Home
from test_ui_pebble import settle

from zerossl_tui.devtools.pebble import PebbleServer, free_port
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import make_app

pytestmark = pytest.mark.pebble
NAMES = [f"site{i}" for i in range(6)]


def test_six_failures_at_once_are_one_summary(local_home: Home, pebble: PebbleServer) -> None:
    service = CertificateService()
    for name in NAMES:  # the responder listens where Pebble does not look: every validation fails
        service.add_certificate(name, [f"{name}.example.test"], "local", http_port=free_port(),
                                http_bind="127.0.0.1")
    seen: list[list[str]] = []

    async def scenario() -> None:
        app = make_app(service, autorenew=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("R")
            await settle(app, pilot)
            seen.append([f"{n.title}: {n.message}" for n in app._notifications])

    asyncio.run(scenario())
    toasts = [t for t in seen[0] if not t.startswith("Renew due")]
    assert len(toasts) <= 3, toasts
    summary = [t for t in toasts if t.startswith("Orders: 6 ended")]
    assert summary and all(name in summary[0] for name in NAMES), toasts
    assert "6 failed" in summary[0] and "Last result" in summary[0]
