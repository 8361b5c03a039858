"""What the ``verify`` endpoints last reported (``served.json``), as the dashboard shows it.

The Served cell sums a certificate's endpoints up in one word (the worst state wins: a web server still
serving an old certificate is the outage to see first); the order log lists each endpoint with its detail.
Only endpoints still configured count: ``served.json`` keeps the last result of removed ones too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.message import Message

from . import format as fmt
from .text import plain

if TYPE_CHECKING:
    from ..service.service import CertificateService

Recorded = dict[str, Any]
"""Endpoint -> its last check as ``served.json`` keeps it (state, served_serial, expected_serial, error, at)."""

NONE = "—"
UNCHECKED = "unchecked"
RANK = {"stale": 0, "unreachable": 1, UNCHECKED: 2, "ok": 3, NONE: 4}
COLOR = {"ok": "success", "stale": "error", "unreachable": "error", UNCHECKED: "muted", NONE: "muted"}


@dataclass
class ServedLoaded(Message):
    """Every certificate's last recorded checks, read in a worker (``{name: {endpoint: check}}``)."""

    served: dict[str, Recorded]


def load_served(service: CertificateService) -> dict[str, Recorded]:
    """What ``verify`` last recorded for every certificate (empty when nothing was ever checked)."""
    from ..service.verify import load_checks

    return {name: checks for name, checks in load_checks(service.paths.data_dir).items() if isinstance(checks, dict)}


def states(endpoints: tuple[str, ...], recorded: Recorded | None) -> list[str]:
    """The last state of each configured endpoint (``unchecked`` when it was never checked)."""
    out = []
    for endpoint in endpoints:
        check = (recorded or {}).get(endpoint)
        out.append(str(check.get("state") or UNCHECKED) if isinstance(check, dict) else UNCHECKED)
    return out


def served_text(endpoints: tuple[str, ...], recorded: Recorded | None) -> str:
    """One word for the Served column: the worst state, with how many endpoints are in it when they differ."""
    found = states(endpoints, recorded)
    if not found:
        return NONE
    worst = min(found, key=lambda state: RANK.get(state, -1))
    if len(set(found)) == 1:
        return plain(worst)
    return f"{plain(worst)} {found.count(worst)}/{len(found)}"


def served_color(text: str) -> str:
    """The palette colour name of a Served cell."""
    return COLOR.get(text.split(" ")[0], "error")


def served_rank(text: str) -> int:
    """Sort order of a Served cell: the worst first."""
    return RANK.get(text.split(" ")[0], -1)


def served_block(endpoints: tuple[str, ...], recorded: Recorded | None, palette: dict[str, str]) -> Text | None:
    """The order log's 'served' lines: each endpoint, its state and detail; None without endpoints."""
    if not endpoints:
        return None
    text = Text()
    text.append("served", style="bold")
    text.append("  what the verify endpoints last reported (v checks again)", style="dim")
    for endpoint, state in zip(endpoints, states(endpoints, recorded), strict=True):
        check = (recorded or {}).get(endpoint)
        detail = _detail(state, check if isinstance(check, dict) else {})
        text.append(f"\n  {plain(endpoint)}  ")
        text.append(plain(state), style=f"bold {palette.get(COLOR.get(state, 'error'), '')}")
        text.append(f"  {plain(detail)}")
    return text


def _detail(state: str, check: dict[str, Any]) -> str:
    at = _when(check.get("at"))
    detail = {
        "ok": f"serves serial {check.get('served_serial')}",
        "stale": f"serves serial {check.get('served_serial')}, not the current "
                 f"{check.get('expected_serial') or '(none)'}: reload the web server",
        "unreachable": str(check.get("error") or "no detail"),
        UNCHECKED: "not checked yet",
    }.get(state, str(check.get("error") or ""))
    return f"{detail}  ({at})" if at else detail


def _when(value: Any) -> str:
    try:
        return fmt.clock_text(datetime.fromisoformat(value)) if isinstance(value, str) else ""
    except ValueError:
        return ""
