"""Snapshot of the fleet's Hosts view (pytest-textual-snapshot), over the demo certificates and a demo fleet
(three hosts: one still deploying, one stale on old serials, a lock held), with the clock fixed.

Regenerate with ``pytest tests/test_ui_snapshots_fleet.py --snapshot-update`` and look at it first."""

from __future__ import annotations

from typing import Any

from test_ui_snapshots import SIZE, Compare, demo_app, loaded
from textual.pilot import Pilot

from zerossl_tui.devtools.demo import DEMO_NOW
from zerossl_tui.devtools.demo_fleet import DemoHostsScreen
from zerossl_tui.ui.app import Dashboard

__all__ = ["demo_app"]  # the fixture, imported for pytest


def test_hosts_view(demo_app: Dashboard, snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await demo_app.push_screen(DemoHostsScreen(demo_app.service, DEMO_NOW))
        await pilot.pause()

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)
