"""The PostgreSQL backend for a fleet of hosts: the same four storage interfaces as the filesystem backend
(store, journal, locker, challenge store) on one shared database, plus the hosts table.

``open_postgresql(dsn, host_id, key_file, now)`` connects, creates or upgrades the schema, checks that
``key_file`` is the fleet's key, notes this host's heartbeat and heals orders whose process died.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ...core.errors import ConfigError
from ..backend import Backend
from .challenges import PgChallengeStore
from .crypto import KeyFileMismatch, SecretBox, ensure_key_file, load_key_file
from .db import Database
from .hosts import HostInfo, PgHosts
from .journal import PgJournal
from .locks import MAX_LEASE_SECONDS, PgLocker
from .notify import CHANGED_CHANNEL, CURRENT_CHANNEL, TOKENS_CHANNEL, Listener, daemon_process
from .schema import SCHEMA_VERSION, migrate, schema_version
from .status import StorageStatus, storage_status
from .store import DeployPending, PgCertificateStore

__all__ = [
    "SCHEMA_VERSION",
    "StorageStatus",
    "CHANGED_CHANNEL",
    "CURRENT_CHANNEL",
    "DeployPending",
    "TOKENS_CHANNEL",
    "HostInfo",
    "Listener",
    "fleet_listener",
    "PgCertificateStore",
    "PgChallengeStore",
    "PgHosts",
    "PgJournal",
    "PgLocker",
    "daemon_process",
    "KeyFileMismatch",
    "ensure_key_file",
    "fleet_hosts",
    "open_postgresql",
    "schema_version",
    "storage_status",
]


def open_postgresql(dsn: str, host_id: str, key_file: Path, now: datetime, *,
                    lease: float = MAX_LEASE_SECONDS, deploy_locks: Path | None = None) -> Backend:
    """The PostgreSQL backend as seen from ``host_id``; ConfigError or StorageError (one line) when the key
    file is wrong or the database cannot be reached. ``deploy_locks``: this host's folder of local locks
    that serialise the deployments of one certificate (the data folder's; None: none)."""
    if not host_id.strip():
        raise ConfigError("[storage] host_id is empty: name this host (default: its host name)")
    box = load_key_file(key_file)
    db = Database(dsn)
    try:
        migrate(db)
        _check_key(db, box)
        store = PgCertificateStore(db, box, host_id, deploy_locks)
        journal = PgJournal(db, host_id)
        store.hosts.record_heartbeat()
        journal.heal(now)
    except BaseException:
        db.close()
        raise
    return Backend(store, journal, PgLocker(db, host_id, lease), PgChallengeStore(db, journal), "postgresql")


def _check_key(db: Database, box: SecretBox) -> None:
    """Store the key check value on first use; afterwards, refuse a key file that does not match it."""
    with db.transaction() as cur:
        cur.execute("INSERT INTO key_check (id, sealed) VALUES (1, %s) ON CONFLICT (id) DO NOTHING",
                    (box.check_value(),))
        cur.execute("SELECT sealed FROM key_check WHERE id = 1")
        row = cur.fetchone()
    if row is not None:
        box.verify(bytes(row[0]))


def fleet_hosts(backend: Backend) -> PgHosts | None:
    """The hosts table of a PostgreSQL backend (heartbeats, what each host serves); None for other backends."""
    hosts = getattr(backend.store, "hosts", None)
    return hosts if isinstance(hosts, PgHosts) else None


def fleet_listener(backend: Backend) -> Listener | None:
    """A listener for new current versions, http-01 tokens and renewal states changed by commands, on a
    PostgreSQL backend; None for others."""
    hosts = fleet_hosts(backend)
    return Listener(hosts.db, (CURRENT_CHANNEL, TOKENS_CHANNEL, CHANGED_CHANNEL)) if hosts is not None else None
