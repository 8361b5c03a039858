"""The fleet's Hosts view, without Textual: rows from ``storage status`` (hosts, heartbeats, what each
serves, locks held) and the certificates' current serials. Time comes in as ``now``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import format as fmt

STALE_SECONDS = 120  # as the PostgreSQL journal counts a host gone (storage.postgres.journal)


@dataclass(frozen=True)
class Fleet:
    """What the Hosts view shows: ``status`` (a StorageStatus) and each certificate's current serial."""

    status: Any
    current: dict[str, str]


def age_seconds(heartbeat: datetime | None, now: datetime) -> float | None:
    """Seconds since the heartbeat (None: never beat)."""
    return None if heartbeat is None else max(0.0, (now - heartbeat).total_seconds())


def host_rows(fleet: Fleet, now: datetime) -> list[tuple[str, str, str, str]]:
    """(host, heartbeat age, ok/stale, certificate=serial ...) per host; a serial that is not the current
    one is marked ``(old)``."""
    rows = []
    for host in fleet.status.hosts:
        age = age_seconds(host.last_heartbeat, now)
        state = "stale" if age is None or age > STALE_SECONDS else "ok"
        shown = "never" if age is None else f"{fmt.span(age)} ago"
        serves = ", ".join(f"{cert}={serial}" + ("" if fleet.current.get(cert) == serial else " (old)")
                           for cert, serial in sorted(host.served.items())) or "-"
        rows.append((host.host_id, shown, state, serves))
    return rows


def lock_of(fleet: Fleet, cert: str, now: datetime) -> str:
    """Who holds ``cert``'s lock, and until when ("-" when free)."""
    for lock in fleet.status.locks:
        if lock.name == cert:
            if lock.expires is None:
                return lock.owner
            return f"{lock.owner} (lease {fmt.span(max(0.0, (lock.expires - now).total_seconds()))})"
    return "-"


def behind(fleet: Fleet, cert: str) -> list[str]:
    """Hosts that still serve another serial of ``cert`` than the current one."""
    current = fleet.current.get(cert, "")
    return sorted(h.host_id for h in fleet.status.hosts if cert in h.served and h.served[cert] != current)


def cert_rows(fleet: Fleet, now: datetime) -> list[tuple[str, str, str, str]]:
    """(certificate, current serial, lock holder, hosts behind) per certificate."""
    return [(cert, serial or "-", lock_of(fleet, cert, now), ", ".join(behind(fleet, cert)) or "-")
            for cert, serial in sorted(fleet.current.items())]


def cert_line(fleet: Fleet | None, cert: str, now: datetime) -> str:
    """One line for a certificate's order log: its lock holder and the hosts behind ("" outside a fleet)."""
    if fleet is None:
        return ""
    late = behind(fleet, cert)
    return (f"fleet: lock {lock_of(fleet, cert, now)}; "
            + (f"still serving an older serial: {', '.join(late)}" if late else "every host serves the current one"))
