"""LISTEN/NOTIFY between the hosts of a fleet: a version became current (every host deploys it), an http-01
token was presented or withdrawn (webroot hosts write or remove it), a command changed a certificate's
renewal state (a `revoke` makes it due at once: every daemon's scheduler looks again). A notification is
only a hint to look now: hosts also look on a timer, so one lost while a host was disconnected costs a poll
interval."""

from __future__ import annotations

from typing import Any

import psycopg

from ...core.errors import StorageError
from .db import CONNECT_TIMEOUT, Database

CURRENT_CHANNEL = "zt_current"
TOKENS_CHANNEL = "zt_tokens"
CHANGED_CHANNEL = "zt_changed"
BATCH_SECONDS = 0.05


class _Announce:
    """Whether this process's renewal-state writes wake the fleet's daemons: yes for commands and the
    dashboard, no in a daemon (its writes come from its own renewals and ARI looks, which the other
    daemons need not look at: a wake per renewal would cost every host a look at every certificate)."""

    on = True


def daemon_process() -> None:
    """This process is a fleet daemon: its renewal-state writes send no CHANGED_CHANNEL notification."""
    _Announce.on = False


def announces() -> bool:
    """True when this process's renewal-state writes notify the daemons (see ``daemon_process``)."""
    return _Announce.on


def notify(cur: psycopg.Cursor[Any], channel: str, payload: str) -> None:
    """Send ``payload`` on ``channel`` when the cursor's transaction commits (never before)."""
    cur.execute("SELECT pg_notify(%s, %s)", (channel, payload))


class Listener:
    """One dedicated connection LISTENing on some channels; ``wait`` returns what arrived."""

    def __init__(self, db: Database, channels: tuple[str, ...]) -> None:
        self.db = db
        self.channels = channels
        self._conn: psycopg.Connection[Any] | None = None

    def wait(self, timeout: float) -> list[tuple[str, str]]:
        """(channel, payload) pairs received within ``timeout`` seconds (connecting first when needed);
        StorageError when the server is away (the next call connects again)."""
        try:
            conn = self._connect()
            # The first notification ends the wait at once; those right behind it come along in one batch.
            first = [(n.channel, n.payload) for n in conn.notifies(timeout=timeout, stop_after=1)]
            if not first:
                return []
            return first + [(n.channel, n.payload) for n in conn.notifies(timeout=BATCH_SECONDS, stop_after=63)]
        except psycopg.Error as exc:
            self.close()
            raise self.db.error(exc) from None

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not (self._conn.closed or self._conn.broken):
            return self._conn
        conn = psycopg.connect(self.db.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                               application_name="zerossl-tui listener")
        for channel in self.channels:
            conn.execute(f'LISTEN "{channel}"')
        self._conn = conn
        return conn

    def close(self) -> None:
        """Close the connection (a later ``wait`` connects again)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass  # already broken


__all__ = ["CHANGED_CHANNEL", "CURRENT_CHANNEL", "TOKENS_CHANNEL", "Listener", "StorageError", "announces",
           "daemon_process", "notify"]
