"""Helpers shared by several test modules (fixtures live in conftest.py): one-line errors, file modes,
Hypothesis settings, a Pebble that skips the test when missing, and waiting on a call against a deadline."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from zerossl_tui.core.errors import UsageError
from zerossl_tui.devtools.pebble import PebbleMissing, PebbleOptions, PebbleServer, find_pebble

# Property tests are derandomized (the same cases on every run); ZT_PROPS_SCALE=10 runs ten times as many,
# and ZT_PROPS_RANDOM=1 draws new ones.
SCALE = int(os.environ.get("ZT_PROPS_SCALE", "1"))
RANDOM = bool(os.environ.get("ZT_PROPS_RANDOM"))


def one_line(stderr: str) -> str:
    """The one non-empty line of a CLI's stderr, failing the test on more lines or on a traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {stderr!r}"
    assert "Traceback" not in stderr
    return lines[0]


def one_line_message(exc: UsageError) -> str:
    """The message of a refused value, failing the test when it is empty or spans lines."""
    assert exc.message and "\n" not in exc.message and "\r" not in exc.message, exc.message
    return exc.message


def mode_of(path: Path) -> int:
    """Permission bits of ``path`` (0o600, ...)."""
    return stat.S_IMODE(path.stat().st_mode)


def examples(n: int) -> settings:
    """Hypothesis settings for ``n`` cases (times ZT_PROPS_SCALE), reproducible unless ZT_PROPS_RANDOM."""
    return settings(max_examples=n * SCALE, deadline=None, derandomize=not RANDOM, database=None,
                    suppress_health_check=list(HealthCheck))


def started_pebble(workdir: Path, options: PebbleOptions | None = None) -> PebbleServer:
    """A running Pebble in ``workdir``; skips the test when Pebble is not installed."""
    options = options or PebbleOptions()
    try:
        find_pebble(options.prefer_ari)
    except PebbleMissing as exc:
        pytest.skip(str(exc))
    return PebbleServer(workdir, options).start()


def finishes(call: Callable[[], Any], within: float) -> Any:
    """Run ``call`` in a thread and give back what it returned or raise what it raised; fail the test when
    it is still running after ``within`` seconds. ``within`` is a generous bound on "it ended", chosen far
    below the time the call would take if what the test proves were broken: never a speed requirement."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test as it was raised
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), f"still running after {within:g} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def poll(check: Callable[[], object], timeout: float = 30) -> bool:
    """True once ``check()`` is true, polled every 0.1 s; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False
