"""Pilot tests of the 90-day strip and the validity bar over a real service with demo data and a fixed clock."""

from __future__ import annotations

import pytest
from conftest import Home
from textual.pilot import Pilot
from uiwait import Scenario, run_dashboard

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard
from zerossl_tui.ui.widgets.timeline import LABEL

ALL = {"api", "blog", "cdn", "legacy", "mail", "shop", "status"}


@pytest.fixture
def demo(home: Home) -> CertificateService:
    """A service over demo certificates in every state, at a fixed moment."""
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)
    return service


def run(service: CertificateService, scenario: Scenario, size: tuple[int, int] = (140, 40)) -> None:
    run_dashboard(service, scenario, size)


def test_clicking_a_day_filters_the_table_and_clicking_again_restores_it(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        strip = app.main.timeline
        assert strip.model is not None and strip.model.days == 1
        # Demo `shop` expires in 71 days (and nothing else does that day): its column shows only shop.
        column = next(i for i, b in enumerate(strip.model.buckets) if b.expiring == ["shop"])
        await pilot.click("#timeline", offset=(1 + 1 + len(LABEL) + column, 2))
        await pilot.pause()
        assert set(app.table.names) == {"shop"}
        assert "showing" in str(strip.border_subtitle)
        await pilot.click("#timeline", offset=(1 + 1 + len(LABEL) + column, 2))
        await pilot.pause()
        assert set(app.table.names) == ALL

    run(demo, scenario)


def test_keys_on_the_focused_strip_choose_today_and_escape_shows_all(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.focus()
        await pilot.press("shift+tab")
        assert app.focused is app.main.timeline
        await pilot.press("home", "enter")
        await pilot.pause()
        # Today: the renewals that are due now or back off for 37 minutes, and the expired `legacy`.
        assert set(app.table.names) == {"api", "blog", "legacy", "mail", "status"}
        await pilot.press("escape")
        await pilot.pause()
        assert set(app.table.names) == ALL

    run(demo, scenario)


def test_strip_follows_the_text_filter(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("slash", *"shop")
        await pilot.pause()
        model = app.main.timeline.model
        assert model is not None
        assert set().union(*(b.names for b in model.buckets)) == {"shop"}

    run(demo, scenario)


def test_narrow_strip_shows_weeks(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        model = app.main.timeline.model
        assert model is not None and model.days == 7 and len(model.buckets) == 13

    run(demo, scenario, size=(80, 40))


def test_failing_renewals_are_drawn_in_the_themes_error_colour(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        strip = app.main.timeline
        today = strip.render().spans
        error = app.table.palette["error"]
        assert any(error in str(span.style) for span in today)
        app.theme = "harbor"
        await pilot.pause()
        assert app.table.palette["error"] != error
        assert any(app.table.palette["error"] in str(span.style) for span in strip.render().spans)

    run(demo, scenario)


def test_validity_bar_follows_the_selection_and_says_why(demo: CertificateService) -> None:
    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.select("cdn")
        await pilot.pause()
        text = app.main.validity.render().plain
        assert "issued 2025-05-31" in text and "expires 2025-08-29" in text
        assert "ARI window" in text and "renewal window (ARI)" in text
        app.table.select("mail")
        await pilot.pause()
        text = app.main.validity.render().plain
        assert "ARI window" not in text and "retry after a failed attempt" in text

    run(demo, scenario)
