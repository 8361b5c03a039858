"""Fleet-wide locks: one row per lock in ``locks`` with an owner (host id + pid) and a lease.

Taking a lock is one statement: insert the row, or take over a row whose lease has ended
(``INSERT ... ON CONFLICT DO UPDATE ... WHERE expires < now()``), so two hosts can never both win. A
background thread renews the lease while the lock is held; a holder that dies (or whose host or network
dies) stops renewing, and its lock is free once the lease ends. Session advisory locks are not used: the
session of a dead host may linger on the server for a long time and would keep its locks. Lease times
come from the database server's clock, so hosts need not agree on the time. Each ``PgLock`` object has
its own token: two objects (threads) of one process exclude each other like two hosts do.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
import weakref
from typing import TypeVar

from ...core.errors import StorageError
from ...core.interfaces import Lock, LockHolder
from ..lockwait import raise_unless_held, wait_for_lock
from ..paths import safe_name
from .db import Database

MAX_LEASE_SECONDS = 30.0
POLL_SECONDS = 0.2
CERT_PREFIX = "cert:"
_L = TypeVar("_L", bound="PgLock")
ACCOUNT_PREFIX = "account:"


class PgLock:
    """The exclusive right to one lock name across the fleet, with a lease renewed while held."""

    def __init__(self, db: Database, key: str, label: str, owner: str, lease: float) -> None:
        self.db = db
        self.key = key
        self.name = label
        self.owner = owner
        self.lease = lease
        self._token = uuid.uuid4().hex
        self._valid_until = 0.0  # monotonic: past it, the lease may have ended unnoticed
        self._stop: threading.Event | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        """True while this object holds the lock and its lease was renewed in time."""
        return self._stop is not None and time.monotonic() < self._valid_until

    def try_acquire(self) -> bool:
        """Take the lock when it is free or its holder's lease has ended; True when held."""
        with self._guard:
            if self._stop is not None:
                if self.held:
                    return True
                self._stop.set()  # the lease ran out unrenewed: this object must win the row again
                self._stop = None
            sent = time.monotonic()
            won = self._take()
            if won:
                self._valid_until = sent + self.lease
                self._start_renewing()
            return won

    def _take(self) -> bool:
        with self.db.statement() as cur:
            cur.execute(
                "INSERT INTO locks (name, owner, token, expires) VALUES (%s, %s, %s, now() + make_interval("
                "secs => %s)) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, token = excluded.token,"
                " expires = excluded.expires WHERE locks.expires < now() RETURNING token",
                (self.key, self.owner, self._token, self.lease))
            return cur.fetchone() is not None

    def acquire(self, timeout: float | None = None, cancel: threading.Event | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: no limit) or until ``cancel`` is set; True when held."""
        return wait_for_lock(self.try_acquire, timeout, cancel, POLL_SECONDS)

    def acquire_or_raise(self, timeout: float | None = None, cancel: threading.Event | None = None) -> None:
        """``acquire``, raising Cancelled or LockBusy (naming the holder) when it could not."""
        raise_unless_held(self.acquire(timeout, cancel), self.name, cancel, self._busy)

    def release(self) -> None:
        """Give the lock back (nothing happens when not held); a database that is down lets the lease run
        out instead."""
        with self._guard:
            stop, self._stop = self._stop, None
            if stop is None:
                return
            stop.set()
            self._valid_until = 0.0
            try:
                with self.db.statement() as cur:  # by token alone: a group's rows go in one statement
                    cur.execute("DELETE FROM locks WHERE token = %s", (self._token,))
            except StorageError:
                pass  # nobody else can take it before the lease ends, and then anyone may

    def __enter__(self) -> PgLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _busy(self) -> str:
        holder = self._holder()
        by = f" on {holder}" if holder else " on another host"
        return f"{self.name}: another order for it is running{by}; try again when it has finished"

    def _holder(self) -> str:
        with self.db.statement() as cur:
            cur.execute("SELECT owner FROM locks WHERE name = %s AND expires > now()", (self.key,))
            row = cur.fetchone()
        return str(row[0]) if row else ""

    def _start_renewing(self) -> None:
        stop = self._stop = threading.Event()
        thread = threading.Thread(target=self._renew_loop, args=(stop,), daemon=True,
                                  name=f"lease {self.key}")
        thread.start()

    def _renew_loop(self, stop: threading.Event) -> None:
        """Extend the lease every third of it until released; a lost lock stops the loop."""
        while not stop.wait(self.lease / 3):
            sent = time.monotonic()
            try:
                kept = self._renew()
            except StorageError:
                continue  # PostgreSQL away: try again; ``held`` turns False if the lease runs out meanwhile
            if not kept:
                self._valid_until = 0.0
                return
            self._valid_until = sent + self.lease

    def _renew(self) -> bool:
        with self.db.statement() as cur:
            cur.execute("UPDATE locks SET expires = now() + make_interval(secs => %s) WHERE name = %s"
                        " AND token = %s", (self.lease, self.key, self._token))
            return cur.rowcount == 1


class PgLockGroup(PgLock):
    """The locks of many certificates as one: all taken in one statement or none, one lease renewal thread
    for all (one token on every row). What `storage use` holds while it copies a fleet's store: a lock
    object (and a renewal thread) per certificate was thousands of threads for a large store."""

    def __init__(self, db: Database, keys: list[str], owner: str, lease: float) -> None:
        super().__init__(db, keys[0] if keys else "", f"{len(keys)} certificates", owner, lease)
        self.keys = keys
        self.busy = ""  # after a failed try_acquire: a name whose lock someone else holds

    def _take(self) -> bool:
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO locks (name, owner, token, expires) SELECT unnest(%s::text[]), %s, %s, now() +"
                " make_interval(secs => %s) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, token ="
                " excluded.token, expires = excluded.expires WHERE locks.expires < now() RETURNING name",
                (self.keys, self.owner, self._token, self.lease))
            taken = {str(row[0]) for row in cur.fetchall()}
            if len(taken) == len(set(self.keys)):
                return True
            cur.execute("DELETE FROM locks WHERE token = %s", (self._token,))  # all or none
        self.busy = next((key.removeprefix(CERT_PREFIX) for key in self.keys if key not in taken), "")
        return False

    def _renew(self) -> bool:
        with self.db.statement() as cur:
            cur.execute("UPDATE locks SET expires = now() + make_interval(secs => %s) WHERE token = %s",
                        (self.lease, self._token))
            return cur.rowcount == len(set(self.keys))


class PgLocker:
    """Hands out fleet-wide certificate and account locks owned by ``host_id:pid``."""

    def __init__(self, db: Database, host_id: str, lease: float = MAX_LEASE_SECONDS) -> None:
        if not 0 < lease <= MAX_LEASE_SECONDS:
            raise ValueError(f"a lock lease must be between 0 and {MAX_LEASE_SECONDS:g} seconds")
        self.db = db
        self.host_id = host_id
        self.lease = lease
        self._issued: weakref.WeakSet[PgLock] = weakref.WeakSet()
        db.on_close(self.release_all)

    @property
    def owner(self) -> str:
        """``host_id:pid`` of this process (computed each time: a forked child is another owner)."""
        return f"{self.host_id}:{os.getpid()}"

    def certificate(self, name: str) -> Lock:
        """The lock of one certificate."""
        safe_name(name, "certificate")
        return self._issue(PgLock(self.db, CERT_PREFIX + name, name, self.owner, self.lease))

    def account(self, provider: str) -> Lock:
        """The lock that serializes account registration at ``provider``."""
        safe_name(provider, "provider")
        return self._issue(PgLock(self.db, ACCOUNT_PREFIX + provider, f"account {provider}", self.owner, self.lease))

    def certificates(self, names: list[str]) -> PgLockGroup:
        """One lock over the certificates ``names``: taken all at once or not at all."""
        for name in names:
            safe_name(name, "certificate")
        return self._issue(PgLockGroup(self.db, [CERT_PREFIX + n for n in names], self.owner, self.lease))

    def release_all(self) -> None:
        """Give back every lock this locker handed out that is still held (the backend is closing)."""
        for lock in list(self._issued):
            lock.release()

    def _issue(self, lock: _L) -> _L:
        self._issued.add(lock)
        return lock

    def holders(self) -> list[LockHolder]:
        """Every certificate lock whose lease has not ended, with its owner and lease end."""
        with self.db.statement() as cur:
            cur.execute("SELECT name, owner, expires FROM locks WHERE expires > now() AND name LIKE %s"
                        " ORDER BY name", (CERT_PREFIX + "%",))
            rows = cur.fetchall()
        return [LockHolder(name[len(CERT_PREFIX):], owner, expires) for name, owner, expires in rows]
