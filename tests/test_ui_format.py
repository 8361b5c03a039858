"""Dashboard text helpers: the countdown column keeps its width for every lifetime."""

from __future__ import annotations

from zerossl_tui.ui.format import COUNTDOWN_WIDTH, countdown


def test_a_five_year_countdown_fits_its_column_with_the_days_whole() -> None:
    """Pebble and private CAs issue 5-year certificates: the table cut them to '1825d 23h 58m 0…'."""
    text = countdown(1825 * 86400 + 23 * 3600 + 58 * 60 + 7)
    assert len(text) == COUNTDOWN_WIDTH and text.strip() == "1825d 23h 58m"
    assert countdown(89 * 86400 + 59).strip() == "89d 00h 00m 59s"
