"""How orders that end are told: one toast each, until more than ``SHOWN`` end within ``WINDOW`` seconds.
Then one toast names them all, replaced as more end (a CA outage fails every order at once; six toasts
covered an 80x24 table). Other toasts (Renew due, a saved setting) are left alone."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WINDOW = 10.0  # as long as an order's toast stays up
SHOWN = 2  # then the summary: three toasts at most
TITLE = "Orders"
NAMED = 8  # names spelled out in the summary; the rest are counted


@dataclass
class OrderToasts:
    """Remembers the orders that ended recently, to fold their toasts into one when there are many."""

    notify: Callable[..., None]
    forget: Callable[[str], None]  # removes the shown toasts of one title (the previous summary)
    clock: Callable[[], float] = time.monotonic
    recent: list[tuple[float, str, bool]] = field(default_factory=list)

    def tell(self, name: str, ok: bool, message: str, *, title: str, severity: str) -> None:
        """One order ended: its own toast, or the summary of every order that ended just now."""
        now = self.clock()
        self.recent = [item for item in self.recent if now - item[0] < WINDOW] + [(now, name, ok)]
        if len(self.recent) <= SHOWN:
            self.notify(message, title=title, severity=severity, timeout=WINDOW)
            return
        self.forget(TITLE)
        failed = [n for _, n, good in self.recent if not good]
        self.notify(summary(self.recent), title=TITLE, severity="error" if failed else "information",
                    timeout=WINDOW)


def summary(recent: list[tuple[float, str, bool]]) -> str:
    """``6 ended: 2 issued (a, b), 4 failed (c, d, e, f); the Last result column ...``."""
    issued = [n for _, n, ok in recent if ok]
    failed = [n for _, n, ok in recent if not ok]
    parts = [f"{len(names)} {what} ({_names(names)})" for what, names in (("issued", issued), ("failed", failed))
             if names]
    why = "; the Last result column and each order log say why" if failed else ""
    return f"{len(recent)} ended: " + ", ".join(parts) + why


def _names(names: list[str]) -> str:
    more = f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
    return ", ".join(names[:NAMED]) + more


def forget_titled(app: Any) -> Callable[[str], None]:
    """``OrderToasts.forget`` for a Textual App: unshow its toasts titled so (Textual has no public call
    for one toast; ``_unnotify`` is what a toast's own timeout uses)."""
    def forget(title: str) -> None:
        for shown in [n for n in app._notifications if n.title == title]:
            app._unnotify(shown)
    return forget
