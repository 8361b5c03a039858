"""The SQLite journal's schema: ``MIGRATIONS[n]`` brings a database from ``user_version`` n to n + 1."""

from __future__ import annotations

_V1_RESULTS = ("running", "issued", "failed", "cancelled", "revoked")
# "imported": not an order, the row that says where an imported certificate came from (`log`, the dashboard).
RESULTS = (*_V1_RESULTS, "imported")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


_SCHEMA_V1 = f"""
CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cert TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    result TEXT NOT NULL DEFAULT 'running' CHECK (result IN ({_in(_V1_RESULTS)})),
    error_type TEXT NOT NULL DEFAULT '',
    error_detail TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT '',
    order_url TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX orders_by_cert ON orders (cert, id);
CREATE INDEX orders_running ON orders (result) WHERE result = 'running';
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    retry_after REAL
);
CREATE INDEX events_by_order ON events (order_id, id);
CREATE TABLE renewal_state (
    cert TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
"""
# Which process runs an order: pids are reused (after a reboot), so a pid alone could keep a dead order alive.
_SCHEMA_V2 = "ALTER TABLE orders ADD COLUMN pid_start TEXT NOT NULL DEFAULT ''"
# TXT records that dns-01 orders added, until removed: a crashed process's records are cleaned up later.
_SCHEMA_V3 = """
CREATE TABLE dns_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cert TEXT NOT NULL,
    provider TEXT NOT NULL,
    fqdn TEXT NOT NULL,
    value TEXT NOT NULL,
    order_id INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX dns_records_by_cert ON dns_records (cert)
"""
# An import is journaled as an order that ended "imported" (where the certificate came from): SQLite cannot
# change a CHECK in place, so the table is rebuilt, ids kept (events refer to them; foreign keys are off).
_SCHEMA_V4 = f"""
CREATE TABLE orders_v4 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cert TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    result TEXT NOT NULL DEFAULT 'running' CHECK (result IN ({_in(RESULTS)})),
    error_type TEXT NOT NULL DEFAULT '',
    error_detail TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT '',
    order_url TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL DEFAULT 0,
    pid_start TEXT NOT NULL DEFAULT ''
);
INSERT INTO orders_v4 SELECT id, cert, started, finished, result, error_type, error_detail, serial, order_url,
    pid, pid_start FROM orders;
DROP TABLE orders;
ALTER TABLE orders_v4 RENAME TO orders;
CREATE INDEX orders_by_cert ON orders (cert, id);
CREATE INDEX orders_running ON orders (result) WHERE result = 'running'
"""
MIGRATIONS = (_SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3, _SCHEMA_V4)
SCHEMA_VERSION = len(MIGRATIONS)
