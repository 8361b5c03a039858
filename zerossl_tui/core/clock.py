"""The one place that reads the current time; everything else takes ``now`` as an argument."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """Wall-clock time in UTC, and monotonic time for deadlines."""

    def now(self) -> datetime:
        """The current moment, timezone-aware (UTC)."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for deadlines and intervals."""
        return time.monotonic()


class FixedClock(Clock):
    """A clock that says what it is told: for tests, screenshots and simulations."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self._mono = 0.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        from datetime import timedelta

        self.at += timedelta(seconds=seconds)
        self._mono += seconds


SYSTEM_CLOCK = Clock()
