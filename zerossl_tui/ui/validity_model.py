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
    "ari": "the CA's renewal window (ARI): a random moment inside it, kept until the window moves",
    "lifetime": "the lifetime rule: about 1/3 of the validity left (the CA gave no renewal window)",
    "emergency": "under 1/20 of the validity left: renew now, whatever the CA's window says",
    "backoff": "retry after a failed attempt (backoff from 1 minute to 6 hours)",
    "rate-limit": "the CA's rate limit: waiting for the moment its Retry-After named",
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
    when = fmt.clock_text(view.next_renewal) if view.next_renewal else "-"
    line = f"renewal {when} ({fmt.next_renewal_text(view, now)}): {REASONS.get(view.renewal_source, '')}"
    if view.explanation:
        line += f"; {view.explanation}"
    return " ".join(line.split())
