"""Connections to the fleet's PostgreSQL: a small pool, made again by itself after the server went away.

psycopg's pool lives in a separate package (``psycopg_pool``); a list of idle connections is all the
storage layer needs, as every call is one short transaction. Connections are in autocommit mode and each
``transaction()`` is an explicit BEGIN/COMMIT, so no session sits idle inside a transaction. Every psycopg
error becomes one ``StorageError`` line naming the server (never the password); a connection that broke is
dropped, and the next call connects again.
"""

from __future__ import annotations

import re
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from ...core.errors import StorageError

CONNECT_TIMEOUT = 5
MAX_IDLE = 4
# libpq's own refusals of a DSN option's value, made before any connection is tried (sslmode=bogus, ...)
_BAD_OPTION = re.compile(r"\binvalid (\w+ value|port number|integer value)")
_REFUSED_LOGIN = ("authentication failed", "does not exist", "no password supplied", "no pg_hba.conf entry")
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



class DsnOptionError(StorageError):
    """A DSN option whose value libpq refuses: fixed in [storage], never by waiting for the server (exit 2)."""

    exit_code = 2

class Database:
    """The fleet database of one process: a few reusable connections and one-line errors.

    A connection is taken for one transaction and put back afterwards; at most MAX_IDLE wait between
    uses, so threads that come and go (workers, lease renewers) never leave connections behind.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.where = describe(dsn)
        self._idle: list[tuple[psycopg.Connection[Any], float]] = []
        self._guard = threading.Lock()
        self._on_close: list[Callable[[], None]] = []

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor inside one transaction, committed at the end of the block and rolled back on error."""
        conn = self._take()
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            _close(conn)  # after a driver error the session's state is unknown: start afresh next time
            raise self.error(exc) from None
        except BaseException:
            self._give_back(conn)
            raise
        self._give_back(conn)

    @contextmanager
    def statement(self) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor for one statement, which commits by itself: one round trip to the server where
        ``transaction()`` takes three (BEGIN, the statement, COMMIT). Hosts make dozens of these per order
        and per deployment; under load each round trip also waits for this process's other threads."""
        conn = self._take()
        try:
            with conn.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            _close(conn)
            raise self.error(exc) from None
        except BaseException:
            self._give_back(conn)
            raise
        self._give_back(conn)

    def error(self, exc: BaseException) -> StorageError:
        """One line for a driver error, saying that the program reconnects by itself."""
        line = one_line(exc)
        if isinstance(exc, psycopg.OperationalError) and _BAD_OPTION.search(line):
            error: StorageError = DsnOptionError(f"[storage] dsn of PostgreSQL at {self.where} has a value libpq"
                                                 f" refuses ({line}): fix it with `zerossl-tui storage use"
                                                 " postgresql --dsn DSN`")
        elif isinstance(exc, psycopg.OperationalError) and any(w in line for w in _REFUSED_LOGIN):
            error = StorageError(f"PostgreSQL at {self.where} refused the login ({line}): check the dsn's user"
                                 " and database, and its password (secrets.toml, ~/.pgpass or PGPASSWORD)")
        elif isinstance(exc, psycopg.OperationalError):
            error = StorageError(f"PostgreSQL at {self.where} is unreachable ({line}): check that it"
                                 " runs and accepts connections; zerossl-tui reconnects by itself")
        else:
            error = StorageError(f"PostgreSQL at {self.where}: {line}")
        error.sqlstate = getattr(exc, "sqlstate", None)  # type: ignore[attr-defined]
        return error

    def on_close(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` first when the database is closed (the locker gives back its locks)."""
        self._on_close.append(hook)

    def close(self) -> None:
        """Run the close hooks, then close the idle connections (connections in use close when given back);
        later calls connect again."""
        for hook in self._on_close:
            try:
                hook()
            except StorageError:
                pass  # the server is away: what the hook would clean up expires by itself
        with self._guard:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            _close(conn)

    def _take(self) -> psycopg.Connection[Any]:
        while True:
            with self._guard:
                conn, used = self._idle.pop() if self._idle else (None, 0.0)
            if conn is None:
                return self._connect()
            if not (conn.closed or conn.broken) and _answers(conn, used):
                return conn
            _close(conn)

    def _give_back(self, conn: psycopg.Connection[Any]) -> None:
        with self._guard:
            if len(self._idle) < MAX_IDLE and not (conn.closed or conn.broken):
                self._idle.append((conn, time.monotonic()))
                return
        _close(conn)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                   options="-c TimeZone=UTC", application_name="zerossl-tui")
        except psycopg.Error as exc:
            raise self.error(exc) from None


def _answers(conn: psycopg.Connection[Any], used: float) -> bool:
    """False when an idle connection was closed by the server (it restarted meanwhile) or, idle for a
    while, no longer answers."""
    try:
        # An idle session receives nothing unless the server is closing it: anything readable means it is gone.
        if select.select([conn.fileno()], [], [], 0)[0]:
            return False
    except (OSError, ValueError, psycopg.Error):
        return False
    if time.monotonic() - used < IDLE_CHECK_SECONDS:
        return True
    try:
        conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _close(conn: psycopg.Connection[Any]) -> None:
    try:
        conn.close()
    except psycopg.Error:
        pass  # it is already broken: nothing to close cleanly
