"""Connections to the fleet's PostgreSQL: one per thread, made again by itself after the server went away.

psycopg's pool lives in a separate package (``psycopg_pool``); a thread-local connection is all the
storage layer needs, as every call is one short transaction. Connections are in autocommit mode and each
``transaction()`` is an explicit BEGIN/COMMIT, so no session sits idle inside a transaction. Every psycopg
error becomes one ``StorageError`` line naming the server (never the password); a connection that broke is
dropped, and the next call connects again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from ...core.errors import StorageError

CONNECT_TIMEOUT = 5
IDLE_CHECK_SECONDS = 2.0  # a connection idle longer than this is pinged first: the server may have restarted


def describe(dsn: str) -> str:
    """``host:port/dbname`` of ``dsn`` for messages (no user, no password)."""
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "the configured database"
    host = str(info.get("host") or info.get("hostaddr") or "localhost")
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or ''}"


def one_line(exc: BaseException) -> str:
    """The first line of a driver message (libpq adds hints on further lines)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Database:
    """The fleet database of one process: a connection per thread and one-line errors."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.where = describe(dsn)
        self._local = threading.local()
        self._all: list[psycopg.Connection[Any]] = []
        self._guard = threading.Lock()
        self._closed = False

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor inside one transaction, committed at the end of the block and rolled back on error."""
        conn = self._connection()
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            if conn.broken or conn.closed or isinstance(exc, psycopg.OperationalError):
                self._drop(conn)
            raise self.error(exc) from None

    def error(self, exc: BaseException) -> StorageError:
        """One line for a driver error, saying that the program reconnects by itself."""
        if isinstance(exc, psycopg.OperationalError):
            error = StorageError(f"PostgreSQL at {self.where} is unreachable ({one_line(exc)}): check that it"
                                 " runs and accepts connections; zerossl-tui reconnects by itself")
        else:
            error = StorageError(f"PostgreSQL at {self.where}: {one_line(exc)}")
        error.sqlstate = getattr(exc, "sqlstate", None)  # type: ignore[attr-defined]
        return error

    def close(self) -> None:
        """Close every connection; later calls connect again."""
        with self._guard:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def _connection(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is not None and (conn.closed or conn.broken or not self._alive(conn)):
            self._drop(conn)
            conn = None
        if conn is None:
            conn = self._connect()
        self._local.used = time.monotonic()
        return conn

    def _alive(self, conn: psycopg.Connection[Any]) -> bool:
        """False when a connection idle for a while no longer answers (the server restarted)."""
        if time.monotonic() - getattr(self._local, "used", 0.0) < IDLE_CHECK_SECONDS:
            return True
        try:
            conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                   options="-c TimeZone=UTC", application_name="zerossl-tui")
        except psycopg.Error as exc:
            raise self.error(exc) from None
        self._local.conn = conn
        with self._guard:
            self._all.append(conn)
        return conn

    def _drop(self, conn: psycopg.Connection[Any]) -> None:
        self._local.conn = None
        with self._guard:
            if conn in self._all:
                self._all.remove(conn)
        try:
            conn.close()
        except psycopg.Error:
            pass  # it is already broken: nothing to close cleanly
