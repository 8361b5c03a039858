"""What each cell of the certificates table says and in which colour: pure functions of a view and now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ...core.models import CertificateView, CertStatus
from ...core.policy import emergency_at, lifetime_renewal_at
from .. import format as fmt
from ..served import Recorded, served_color, served_text
from ..text import plain

Cell = tuple[str, str]
Cells = dict[str, Cell]
"""Column key -> (text, Rich style)."""

COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("Name", "name", None),
    ("Domains", "domains", None),
    ("Provider", "provider", None),
    ("Status", "status", fmt.STATUS_WIDTH),
    ("Expires in", "expiry", fmt.COUNTDOWN_WIDTH),
    ("Next renewal", "renewal", fmt.RENEWAL_WIDTH),
    ("Served", "served", None),
    ("Last result", "result", None),
)
STATUS_RANK = {s: i for i, s in enumerate(
    [CertStatus.EXPIRED, CertStatus.REVOKED, CertStatus.EXPIRING, CertStatus.FAILED, CertStatus.DUE, CertStatus.ISSUING,
     CertStatus.NEVER_ISSUED, CertStatus.VALID])}
STATUS_COLOR = {
    CertStatus.VALID: "success", CertStatus.DUE: "warning", CertStatus.EXPIRING: "error",
    CertStatus.EXPIRED: "error", CertStatus.FAILED: "error", CertStatus.ISSUING: "accent",
    CertStatus.NEVER_ISSUED: "muted", CertStatus.REVOKED: "error",
}
URGENCY_COLOR = {"ok": "success", "soon": "warning", "urgent": "error", "expired": "error", "none": "muted"}
LATE = "9999"
RESULT_WIDTH = 15  # the start of an error; the order log has all of it


def _sort_keys() -> dict[str, Callable[[CertificateView], Any]]:
    return {
        "name": lambda v: v.spec.name,
        "domains": lambda v: (v.spec.domains[0] if v.spec.domains else "", v.spec.name),
        "provider": lambda v: (v.spec.provider, v.spec.name),
        "status": lambda v: (STATUS_RANK.get(v.status, 99), v.spec.name),
        "expiry": lambda v: (v.info.not_after.isoformat() if v.info else LATE, v.spec.name),
        "renewal": lambda v: (v.next_renewal.isoformat() if v.next_renewal else LATE, v.spec.name),
        "result": lambda v: (v.last_result, v.spec.name),
        "served": lambda v: (not v.spec.verify, v.spec.name),  # the table sorts by the cell's rank instead
    }


SORT_KEYS = _sort_keys()
SORT_ORDER = [key for _, key, _ in COLUMNS]


def status_cell(view: CertificateView, palette: dict[str, str], step: str | None) -> tuple[str, str]:
    """The status word, or the running order's step."""
    if step is not None:
        return fmt.step_text(step), palette["muted" if step == "queued" else "accent"]
    return fmt.status_text(view), palette[STATUS_COLOR.get(view.status, "muted")]


def expiry_cell(view: CertificateView, now: datetime, palette: dict[str, str]) -> tuple[str, str]:
    """The countdown, coloured by urgency."""
    level = fmt.urgency(view.info, now)
    style = palette[URGENCY_COLOR[level]] + (" bold" if level in ("urgent", "expired") else "")
    return fmt.expiry_text(view.info, now), style


def live_cells(view: CertificateView, now: datetime, palette: dict[str, str]) -> tuple[Cell, Cell, datetime]:
    """The cells that change with time alone (the countdown, the next renewal), and when they next do."""
    return expiry_cell(view, now, palette), (fmt.next_renewal_text(view, now), ""), live_changes_at(view, now)


def live_changes_at(view: CertificateView, now: datetime) -> datetime:
    """The first moment after ``now`` when the row's live cells (the countdown, its colour, the next
    renewal) show something else: a row whose countdown shows hours is looked at again in an hour, not
    every second."""
    waits: list[float | None] = []
    info = view.info
    if info is not None:
        waits.append(fmt.countdown_changes_in((info.not_after - now).total_seconds()))
        waits.extend((at - now).total_seconds() for at in (emergency_at(info), lifetime_renewal_at(info))
                     if at > now)
    if view.next_renewal is not None:
        waits.append(fmt.span_changes_in((view.next_renewal - now).total_seconds()))
    found = [wait for wait in waits if wait is not None]
    return now + timedelta(seconds=min(found)) if found else datetime.max.replace(tzinfo=now.tzinfo)


def served_cell(view: CertificateView, recorded: Recorded | None, palette: dict[str, str]) -> tuple[str, str]:
    """What the ``verify`` endpoints last reported: ok, stale, unreachable, unchecked, or a dash for none."""
    text = served_text(view.spec.verify, recorded)
    return text, palette[served_color(text)]


def provider_text(view: CertificateView) -> str:
    """The CA, marked when its names are proven over DNS (dns-01) rather than the default http-01."""
    return f"{view.spec.provider} ·dns" if view.spec.challenge == "dns-01" else view.spec.provider


def cells_for(view: CertificateView, now: datetime, palette: dict[str, str], step: str | None,
              served: Recorded | None = None) -> Cells:
    """Every cell of one row (``served``: the certificate's last recorded checks)."""
    return {
        "name": (plain(view.spec.name), "bold"),
        "domains": (plain(fmt.domains_text(view.spec.domains)), ""),
        "provider": (plain(provider_text(view)), ""),
        "status": status_cell(view, palette, step),
        "expiry": expiry_cell(view, now, palette),
        "renewal": (fmt.next_renewal_text(view, now), ""),
        "served": served_cell(view, served, palette),
        "result": (plain(fmt.last_result_text(view, RESULT_WIDTH)),
                   palette["error"] if view.last_result == "failed" else ""),
    }
