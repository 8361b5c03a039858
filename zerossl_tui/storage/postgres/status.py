"""What ``storage status`` shows, gathered from any backend: its kind, schema version, the hosts of a fleet
with what each serves, and the locks held right now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...core.interfaces import LockHolder
from ..backend import Backend
from ..journal import SCHEMA_VERSION as JOURNAL_SCHEMA
from .hosts import HostInfo, PgHosts
from .schema import schema_version


@dataclass(frozen=True)
class StorageStatus:
    """A backend's state for people and scripts."""

    backend: str
    schema_version: int
    hosts: tuple[HostInfo, ...]
    locks: tuple[LockHolder, ...]

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 text)."""
        return {
            "backend": self.backend,
            "schema_version": self.schema_version,
            "hosts": [{"host_id": h.host_id, "last_heartbeat": _iso(h.last_heartbeat), "served": dict(h.served)}
                      for h in self.hosts],
            "locks": [{"name": lock.name, "owner": lock.owner, "expires": _iso(lock.expires)} for lock in self.locks],
        }


def storage_status(backend: Backend) -> StorageStatus:
    """The status of ``backend`` (a filesystem backend has no hosts; its schema is the journal's)."""
    hosts = getattr(backend.store, "hosts", None)
    locks = tuple(backend.locker.holders())
    if not isinstance(hosts, PgHosts):
        return StorageStatus(backend.name, JOURNAL_SCHEMA, (), locks)
    return StorageStatus(backend.name, schema_version(hosts.db), tuple(hosts.hosts()), locks)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
