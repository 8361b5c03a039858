"""Dashboard text helpers: the countdown column keeps its width for every lifetime, and says when it next
changes (the clock redraws a row only then)."""

from __future__ import annotations

from zerossl_tui.ui.format import COUNTDOWN_WIDTH, countdown, countdown_changes_in, span, span_changes_in


def test_a_five_year_countdown_fits_its_column_with_the_days_whole() -> None:
    """Pebble and private CAs issue 5-year certificates: the table cut them to '1825d 23h 58m 0…'."""
    text = countdown(1825 * 86400 + 23 * 3600 + 58 * 60 + 7)
    assert len(text) == COUNTDOWN_WIDTH and text.strip() == "1825d 23h"
    assert countdown(89 * 86400 + 59).strip() == "89d 00h"


def test_countdown_shows_seconds_only_within_a_day() -> None:
    assert countdown(86400).strip() == "1d 00h"
    assert countdown(86399).strip() == "23h 59m 59s"
    assert countdown(59 * 60 + 9).strip() == "59m 09s"
    assert countdown(-90).strip() == "expired 1m ago"
    assert {len(countdown(s)) for s in (86400 * 3, 86399, 61, 0, -5, -86400 * 400)} == {COUNTDOWN_WIDTH}


def test_changes_in_is_when_the_text_changes() -> None:
    """For every start, the text is the same until the moment given and different just after it."""
    for start in (86400 * 59 + 3 * 3600 + 17.25, 86400 + 0.5, 86400, 3600 * 5 + 12.5, 42.75, 0.4, 0.0, -30.5,
                  -3600 * 2 - 7, -86400 * 3 - 1):
        wait = countdown_changes_in(start)
        assert countdown(start - wait + 0.002) == countdown(start), start
        assert countdown(start - wait - 0.001) != countdown(start), start
    assert countdown_changes_in(86400 * 59 + 3 * 3600 + 17.25) > 17  # hourly, not every second
    for start in (86400 * 20 + 100.5, 3600 * 5 + 12.5, 42.75):
        wait = span_changes_in(start)
        assert wait is not None
        assert span(start - wait + 0.002) == span(start) != span(start - wait - 0.001), start
    assert span_changes_in(0) is None
