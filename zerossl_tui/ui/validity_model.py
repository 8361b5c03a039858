"""Where issued, now, the planned renewal, the ARI window and expiry fall on a bar of a given width.

Pure computation, no Textual: the validity widget only colours the cells this module lays out. Each cell of
the bar gets a kind (``used``, ``left``, ``late``, ``ari``) and markers sit on top (``now``, ``renew``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..core.models import CertificateView
from ..core.policy import emergency_at
from . import format as fmt

REASONS = {
    "ari": "a moment inside the CA's renewal window (ARI)",
    "lifetime": "1/3 of the validity left (no renewal window from the CA)",
    "emergency": "under 1/20 of the validity left, whatever the CA's window says",
    "backoff": "retry after a failed attempt (backoff)",
    "rate-limit": "the CA's rate limit ends (its Retry-After)",
}


@dataclass(frozen=True)
class ValidityLayout:
    """Cell kinds of the bar and the column of each marker (None: off the bar or unknown)."""

    cells: tuple[str, ...]
    now: int | None
    renew: int | None
    ari: tuple[int, int] | None


def position(at: datetime, start: datetime, end: datetime, width: int) -> int:
    """The column of ``at`` on a bar from ``start`` (column 0) to ``end`` (last column), clamped."""
    total = (end - start).total_seconds()
    if total <= 0 or width <= 1:
        return 0
    share = (at - start).total_seconds() / total
    return max(0, min(width - 1, round(share * (width - 1))))


def layout(view: CertificateView, now: datetime, width: int) -> ValidityLayout | None:
    """The bar of ``view``'s current certificate over ``width`` cells; None when it was never issued."""
    info = view.info
    if info is None or width < 2:
        return None
    start, end = info.not_before, info.not_after

    def col(at: datetime) -> int:
        return position(at, start, end, width)

    now_col, late_col = col(now), col(emergency_at(info))
    renew = col(view.next_renewal) if view.next_renewal is not None else None
    ari = (col(view.ari_window[0]), col(view.ari_window[1])) if view.ari_window else None
    cells = [_kind(i, now_col, late_col, ari) for i in range(width)]
    return ValidityLayout(tuple(cells), now_col, renew, ari)


def _kind(i: int, now_col: int, late_col: int, ari: tuple[int, int] | None) -> str:
    if ari is not None and ari[0] <= i <= ari[1]:
        return "ari"
    if i < now_col:
        return "used"
    return "late" if i >= late_col else "left"


def reason(view: CertificateView, now: datetime) -> str:
    """One line: when the next renewal is planned and why (the same facts as ``list --json``)."""
    if view.info is None:
        return "never issued: the first order runs as soon as it is asked for (r) or auto-renew starts it"
    if view.next_renewal is None:
        return "no renewal planned"
    left = (view.next_renewal - now).total_seconds()
    when = "now" if left <= 0 else f"in {fmt.span(left)}"
    rule = REASONS.get(view.renewal_source, view.renewal_source)
    line = f"renewal {fmt.clock_text(view.next_renewal)}, {when}: {rule}"
    if view.explanation:
        line += f"; {view.explanation}"
    return " ".join(line.split())
