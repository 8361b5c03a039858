"""What `storage use` and `storage status` print."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from .output import printable, rfc3339

if TYPE_CHECKING:
    from ..service.storage_admin import UseResult
    from ..storage.postgres.status import StorageStatus


def used(result: UseResult) -> None:
    """One line for `storage use`: what was copied and checked, or that nothing changed."""
    where = result.storage.backend + (f" (host {result.storage.host_id})" if result.storage.host_id else "")
    if not result.changed:
        print(f"storage: already using {where}; nothing changed")
        return
    parts = []
    if result.key_created:
        parts.append(f"created key file {result.storage.key_file or 'storage.key'} (copy it to every host)")
    if result.report is not None:
        copied = ", ".join(f"{n} {k}" for k, n in sorted(result.report.copied.items()) if n) or "nothing new"
        checked = ", ".join(f"{n} {k}" for k, n in sorted(result.report.checked.items()) if n) or "nothing"
        parts.append(f"copied {copied}; verified {checked}")
    print(printable(f"storage: now using {where}" + ("; " + "; ".join(parts) if parts else "")))


def status(state: StorageStatus, now: datetime, *, as_json: bool) -> None:
    """`storage status`: backend, schema, hosts with heartbeat age and served serials, locks."""
    if as_json:
        doc = state.as_json()
        ages = {h.host_id: _age(h.last_heartbeat, now) for h in state.hosts}
        for host in doc["hosts"]:
            host["heartbeat_age_seconds"] = ages.get(host["host_id"])
        print(json.dumps(doc, indent=2))
        return
    print(f"backend: {state.backend}  schema version: {state.schema_version}")
    for host in state.hosts:
        age = _age(host.last_heartbeat, now)
        beat = f"heartbeat {age:.0f} s ago" if age is not None else "no heartbeat"
        served = ", ".join(f"{c} {s}" for c, s in sorted(host.served.items())) or "nothing"
        print(printable(f"host {host.host_id}: {beat}; serves {served}"))
    for lock in state.locks:
        until = f" until {rfc3339(lock.expires)}" if lock.expires else ""
        print(printable(f"lock {lock.name}: held by {lock.owner}{until}"))
    if not state.locks:
        print("no locks held")


def _age(at: datetime | None, now: datetime) -> float | None:
    return None if at is None else max(0.0, round((now - at).total_seconds(), 1))
