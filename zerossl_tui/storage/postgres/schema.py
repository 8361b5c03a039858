"""The fleet database's schema, created and upgraded by the program.

``MIGRATIONS[n]`` brings a database from version n to n + 1; ``schema_version`` holds the version reached.
Hosts starting at the same moment migrate once: the upgrade runs in one transaction under a
transaction-scoped advisory lock (released when that transaction ends, even if its host dies).
Private keys and EAB secrets are stored only as AES-256-GCM ciphertext (``crypto.py``).
"""

from __future__ import annotations

from ...core.errors import StorageError
from .db import Database

_RESULTS = "'running', 'issued', 'failed', 'cancelled', 'revoked'"

_V1 = f"""
CREATE TABLE versions (
    cert text NOT NULL,
    seq integer NOT NULL,
    version text NOT NULL,
    key_sealed bytea NOT NULL,
    cert_pem bytea NOT NULL,
    chain_pem bytea NOT NULL,
    fullchain_pem bytea NOT NULL,
    meta jsonb NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cert, version),
    UNIQUE (cert, seq)
);
CREATE TABLE current_versions (
    cert text PRIMARY KEY,
    version text NOT NULL
);
CREATE TABLE pending_deploys (
    host_id text NOT NULL,
    cert text NOT NULL,
    version text NOT NULL,
    order_id bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (host_id, cert)
);
CREATE TABLE accounts (
    provider text PRIMARY KEY,
    key_sealed bytea NOT NULL,
    url text NOT NULL DEFAULT '',
    directory text NOT NULL DEFAULT ''
);
CREATE TABLE eab_cache (
    provider text PRIMARY KEY,
    kid text NOT NULL,
    hmac_sealed bytea NOT NULL
);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    cert text NOT NULL,
    started timestamptz NOT NULL,
    finished timestamptz,
    result text NOT NULL DEFAULT 'running' CHECK (result IN ({_RESULTS})),
    error_type text NOT NULL DEFAULT '',
    error_detail text NOT NULL DEFAULT '',
    serial text NOT NULL DEFAULT '',
    order_url text NOT NULL DEFAULT '',
    host_id text NOT NULL DEFAULT '',
    pid integer NOT NULL DEFAULT 0,
    pid_start text NOT NULL DEFAULT ''
);
CREATE INDEX orders_by_cert ON orders (cert, id);
CREATE INDEX orders_running ON orders (result) WHERE result = 'running';
CREATE TABLE events (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    kind text NOT NULL,
    message text NOT NULL,
    retry_after double precision
);
CREATE INDEX events_by_order ON events (order_id, id);
CREATE TABLE renewal_state (
    cert text PRIMARY KEY,
    state jsonb NOT NULL
);
CREATE TABLE dns_records (
    id bigserial PRIMARY KEY,
    cert text NOT NULL,
    provider text NOT NULL,
    fqdn text NOT NULL,
    value text NOT NULL,
    order_id bigint NOT NULL DEFAULT 0
);
CREATE INDEX dns_records_by_cert ON dns_records (cert);
CREATE TABLE locks (
    name text PRIMARY KEY,
    owner text NOT NULL,
    token text NOT NULL,
    expires timestamptz NOT NULL
);
CREATE TABLE tokens (
    token text PRIMARY KEY,
    key_authorization text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE hosts (
    host_id text PRIMARY KEY,
    last_heartbeat timestamptz NOT NULL
);
CREATE TABLE served (
    host_id text NOT NULL,
    cert text NOT NULL,
    version text NOT NULL,
    serial text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host_id, cert)
);
CREATE TABLE key_check (
    id integer PRIMARY KEY CHECK (id = 1),
    sealed bytea NOT NULL
);
CREATE TABLE pending_keys (
    cert text PRIMARY KEY,
    key_sealed bytea NOT NULL
)
"""

# An import is journaled as an order that ended "imported" (where the certificate came from, for `log`).
_V2 = """
ALTER TABLE orders DROP CONSTRAINT orders_result_check;
ALTER TABLE orders ADD CONSTRAINT orders_result_check
    CHECK (result IN ('running', 'issued', 'failed', 'cancelled', 'revoked', 'imported'))
"""

# 3: each http-01 token names its order, so that those a dead host left behind can be pruned.
_V3 = """
ALTER TABLE tokens ADD COLUMN order_id bigint NOT NULL DEFAULT 0;
CREATE INDEX tokens_by_created ON tokens (created)
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)
SCHEMA_VERSION = len(MIGRATIONS)
_MIGRATION_LOCK = 0x7A65726F  # any constant shared by every host: "zero"


def migrate(db: Database) -> int:
    """Create or upgrade the schema to SCHEMA_VERSION; the version the database was at before."""
    with db.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        cur.execute("SELECT max(version) FROM schema_version")
        row = cur.fetchone()
        before = int(row[0]) if row and row[0] is not None else 0
        if before > SCHEMA_VERSION:
            raise _newer(db, before)
        for step in range(before, SCHEMA_VERSION):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    cur.execute(statement.encode())
        if before != SCHEMA_VERSION:
            cur.execute("DELETE FROM schema_version")
            cur.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION,))
    return before


def schema_version(db: Database) -> int:
    """The schema version the database is at (0 when it has none yet)."""
    with db.transaction() as cur:
        cur.execute("SELECT to_regclass('schema_version') IS NOT NULL")
        row = cur.fetchone()
        if not row or not row[0]:
            return 0
        cur.execute("SELECT max(version) FROM schema_version")
        found = cur.fetchone()
    return int(found[0]) if found and found[0] is not None else 0


def _newer(db: Database, version: int) -> StorageError:
    return StorageError(f"the database at {db.where} was set up by a newer zerossl-tui (schema {version},"
                        f" this one knows {SCHEMA_VERSION}): upgrade zerossl-tui on this host")
