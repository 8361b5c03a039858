"""The hosts of the fleet: when each last said it was alive, and which version of each certificate it serves.

Times come from the database server's clock (``now()``), so hosts whose clocks disagree still agree on
how old a heartbeat is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .db import Database


@dataclass(frozen=True)
class HostInfo:
    """One host: its id, its last heartbeat, and ``served``: certificate -> serial it serves."""

    host_id: str
    last_heartbeat: datetime | None
    served: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)


class PgHosts:
    """Heartbeats and served versions, written by ``host_id`` and read for every host."""

    def __init__(self, db: Database, host_id: str) -> None:
        self.db = db
        self.host_id = host_id

    def record_heartbeat(self) -> None:
        """Note that this host is alive now."""
        with self.db.statement() as cur:
            cur.execute("INSERT INTO hosts (host_id, last_heartbeat) VALUES (%s, now()) ON CONFLICT (host_id)"
                        " DO UPDATE SET last_heartbeat = excluded.last_heartbeat", (self.host_id,))

    def record_served(self, cert: str, version: str, serial: str) -> None:
        """Note that this host now serves ``version`` (serial ``serial``) of ``cert``."""
        with self.db.statement() as cur:  # one statement: one round trip per deployment
            cur.execute("WITH known AS (INSERT INTO hosts (host_id, last_heartbeat) VALUES (%(host)s, now())"
                        " ON CONFLICT (host_id) DO NOTHING) INSERT INTO served (host_id, cert, version, serial, at)"
                        " VALUES (%(host)s, %(cert)s, %(version)s, %(serial)s, now()) ON CONFLICT (host_id, cert)"
                        " DO UPDATE SET version = excluded.version, serial = excluded.serial, at = excluded.at",
                        {"host": self.host_id, "cert": cert, "version": version, "serial": serial})

    def served_versions(self) -> dict[str, str]:
        """certificate -> the version this host last recorded serving."""
        with self.db.statement() as cur:
            cur.execute("SELECT cert, version FROM served WHERE host_id = %s", (self.host_id,))
            return {str(cert): str(version) for cert, version in cur.fetchall()}

    def serves(self, cert: str) -> str | None:
        """The version of ``cert`` this host last recorded serving; None when none."""
        with self.db.statement() as cur:
            cur.execute("SELECT version FROM served WHERE host_id = %s AND cert = %s", (self.host_id, cert))
            row = cur.fetchone()
        return str(row[0]) if row else None

    def hosts(self) -> list[HostInfo]:
        """Every host that ever checked in, by id, with what it serves."""
        with self.db.transaction() as cur:
            cur.execute("SELECT host_id, last_heartbeat FROM hosts ORDER BY host_id")
            beats = cur.fetchall()
            cur.execute("SELECT host_id, cert, serial, version FROM served ORDER BY host_id, cert")
            served = cur.fetchall()
        out = {host: HostInfo(host, beat) for host, beat in beats}
        for host, cert, serial, version in served:
            info = out.setdefault(host, HostInfo(host, None))
            info.served[cert] = serial
            info.versions[cert] = version
        return [out[h] for h in sorted(out)]

    def stale_seconds(self, host_id: str) -> float | None:
        """Seconds since ``host_id``'s last heartbeat by the database clock; None when it never checked in."""
        with self.db.statement() as cur:
            cur.execute("SELECT extract(epoch FROM now() - last_heartbeat) FROM hosts WHERE host_id = %s",
                        (host_id,))
            row = cur.fetchone()
        return float(row[0]) if row else None
