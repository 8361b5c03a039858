"""The order journal: every order, its events, and each certificate's renewal state, in SQLite (stdlib).

One ``Journal`` is shared by the threads of a process (one connection, guarded by a lock); processes (dashboard,
daemon) share the file through WAL mode and a busy timeout. Times are ISO 8601 UTC text, timezone-aware
when read. Rows hold what the caller gives: messages must never contain secrets, and nothing else is stored.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.errors import StorageError
from ..core.interfaces import DnsRecord
from ..core.models import EventKind, OrderEvent, OrderRecord, RenewalState
from .fsutil import ensure_dir
from .journal_schema import MIGRATIONS, RESULTS, SCHEMA_VERSION
from .own_writes import OwnWrites
from .processes import process_alive, process_start
from .state_json import state_from_text, state_to_json

BUSY_TIMEOUT_MS = 10_000
# WAL + synchronous NORMAL: commits skip the fsync (a power cut may lose the last, never corrupt): bench/README
PRAGMAS = (f"busy_timeout = {BUSY_TIMEOUT_MS}", "journal_mode = WAL", "synchronous = NORMAL")
# Set after migrating: a migration that rebuilds a table must not cascade into the rows that refer to it.
AFTER_MIGRATION = ("foreign_keys = ON",)
INTERRUPTED = "interrupted"
MAX_LIMIT = 2**31 - 1  # SQLite integers are 64-bit; `log --limit 99999999999999999999` must not overflow

_ORDER_COLUMNS = "id, cert, started, finished, result, error_type, error_detail, serial, order_url"


class Journal:
    """Orders, events and renewal state of every certificate; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._own = OwnWrites()  # what this connection committed: ``own_changes``
        ensure_dir(self.path.parent)
        try:
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            self._setup()
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the database; the Journal cannot be used afterwards."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- orders -------------------------------------------------------------------------------------

    def start_order(self, cert: str, at: datetime) -> int:
        """Record a new running order and return its id."""
        return self._write(
            "INSERT INTO orders (cert, started, pid, pid_start) VALUES (?, ?, ?, ?)",
            (cert, _iso(at), os.getpid(), process_start(os.getpid())),
        )

    def add_event(
        self, order_id: int, kind: str, message: str, at: datetime, retry_after: float | None = None
    ) -> None:
        """Append one step to an order's timeline (``kind`` is an EventKind value)."""
        self._write(
            "INSERT INTO events (order_id, at, kind, message, retry_after) VALUES (?, ?, ?, ?, ?)",
            (order_id, _iso(at), str(getattr(kind, "value", kind)), message, retry_after),
        )

    def add_events(self, events: Iterable[tuple[int, str, str, datetime, float | None]]) -> None:
        """Append several events, each (order id, kind, message, at, retry_after), in one transaction: a bulk
        run's events cost a twelfth of writing each on its own (bench/README.md, issue 14)."""
        rows = [(order_id, _iso(at), str(getattr(kind, "value", kind)), message, retry_after)
                for order_id, kind, message, at, retry_after in events]
        if rows:
            with self._transaction() as db:
                db.executemany("INSERT INTO events (order_id, at, kind, message, retry_after) VALUES (?, ?, ?, ?, ?)",
                               rows)

    def finish_order(
        self,
        order_id: int,
        result: str,
        at: datetime,
        *,
        error_type: str = "",
        error_detail: str = "",
        serial: str = "",
        order_url: str = "",
    ) -> None:
        """Close an order with its result ('issued', 'failed', 'cancelled' or 'revoked') and details."""
        if result not in RESULTS or result == "running":
            raise ValueError(f"not a final order result: {result!r}")
        self._write(
            "UPDATE orders SET finished = ?, result = ?, error_type = ?, error_detail = ?,"
            " serial = ?, order_url = coalesce(nullif(?, ''), order_url) WHERE id = ?",
            (_iso(at), result, error_type, error_detail, serial, order_url, order_id),
        )

    def note_order_url(self, order_id: int, url: str) -> None:
        """Keep the URL of an order as soon as the CA created it (a later attempt may resume it)."""
        self._write("UPDATE orders SET order_url = ? WHERE id = ?", (url, order_id))

    def resumable_order(self, cert: str, before: int) -> str:
        """The URL of the newest order of ``cert`` older than order ``before`` when it ended without a
        certificate (failed, cancelled, interrupted): the CA may still finish it. "" when there is none."""
        with self._transaction(write=False) as db:
            row = db.execute("SELECT result, order_url FROM orders WHERE cert = ? AND id < ? AND result != 'revoked'"
                             " ORDER BY id DESC LIMIT 1", (cert, before)).fetchone()
        return str(row[1]) if row and row[0] in ("failed", "cancelled") and row[1] else ""

    def orders(self, cert: str, limit: int = 50) -> list[OrderRecord]:
        """A certificate's latest ``limit`` orders, newest first, each with its events (oldest first)."""
        with self._transaction(write=False) as db:
            rows = db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE cert = ? ORDER BY id DESC LIMIT ?",
                (cert, max(0, min(limit, MAX_LIMIT))),
            ).fetchall()
            events = _events_of(db, [row[0] for row in rows])
        return [_order(row, tuple(events.get(row[0], ()))) for row in rows]

    def order_result(self, order_id: int, cert: str) -> str | None:
        """The result of order ``order_id`` of ``cert`` ('running', 'issued', ...); None when there is none."""
        with self._transaction(write=False) as db:
            row = db.execute("SELECT result FROM orders WHERE id = ? AND cert = ?", (order_id, cert)).fetchone()
        return str(row[0]) if row else None

    def last_orders(self) -> dict[str, OrderRecord]:
        """The latest order of every certificate (without events), in one query."""
        with self._transaction(write=False) as db:
            rows = db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id IN (SELECT MAX(id) FROM orders GROUP BY cert)"
            ).fetchall()
        return {row[1]: _order(row, ()) for row in rows}

    def last_results(self) -> dict[str, tuple[str, str]]:
        """cert -> (result, error_detail) of its newest order: what a row of ``list`` shows, without
        building 10,000 OrderRecords (half the cost of ``last_orders`` at that scale)."""
        with self._transaction(write=False) as db:
            rows = db.execute(
                "SELECT cert, result, error_detail FROM orders WHERE id IN (SELECT MAX(id) FROM orders GROUP BY cert)"
            ).fetchall()
        return {cert: (result, detail) for cert, result, detail in rows}

    def heal(self, at: datetime) -> list[int]:
        """Mark orders left 'running' by a process that no longer exists as failed ('interrupted').

        Orders of live processes (this one, or a dashboard and a daemon running side by side) are left
        alone; a pid that now belongs to another process (started later: the pid was reused) is not alive.
        Returns the ids that were healed.
        """
        detail = "the process running this order stopped before it finished"
        with self._transaction() as db:
            running = db.execute("SELECT id, pid, pid_start FROM orders WHERE result = 'running'").fetchall()
            dead = [order_id for order_id, pid, start in running if not process_alive(pid, start)]
            for order_id in dead:
                db.execute(
                    "UPDATE orders SET result = 'failed', finished = ?, error_type = ?, error_detail = ?"
                    " WHERE id = ?",
                    (_iso(at), INTERRUPTED, detail, order_id),
                )
                db.execute(
                    "INSERT INTO events (order_id, at, kind, message) VALUES (?, ?, ?, ?)",
                    (order_id, _iso(at), EventKind.FAILED.value, f"{INTERRUPTED}: {detail}"),
                )
        return dead

    # -- renewal state ------------------------------------------------------------------------------

    def get_state(self, cert: str) -> RenewalState:
        """A certificate's renewal state (the default state when none was stored)."""
        with self._transaction(write=False) as db:
            row = db.execute("SELECT state FROM renewal_state WHERE cert = ?", (cert,)).fetchone()
        return state_from_text(row[0]) if row else RenewalState()

    def put_state(self, cert: str, state: RenewalState) -> None:
        """Store a certificate's renewal state, replacing the previous one."""
        self._write(
            "INSERT INTO renewal_state (cert, state) VALUES (?, ?)"
            " ON CONFLICT (cert) DO UPDATE SET state = excluded.state",
            (cert, state_to_json(state)), states=(cert,),
        )

    def put_states(self, states: Mapping[str, RenewalState]) -> None:
        """Store many certificates' renewal states in one transaction (all or none): the ARI pass commits
        its answers in batches, one commit each instead of one per certificate."""
        rows = [(cert, state_to_json(state)) for cert, state in states.items()]
        if not rows:
            return
        with self._transaction(states=list(states)) as db:
            db.executemany("INSERT INTO renewal_state (cert, state) VALUES (?, ?)"
                           " ON CONFLICT (cert) DO UPDATE SET state = excluded.state", rows)

    def all_states(self) -> dict[str, RenewalState]:
        """Every stored renewal state by certificate name."""
        with self._transaction(write=False) as db:
            rows = db.execute("SELECT cert, state FROM renewal_state").fetchall()
        return {cert: state_from_text(text) for cert, text in rows}

    def state_texts(self) -> dict[str, str]:
        """Every stored renewal state by certificate name, as its JSON text (``state_from_text`` reads one):
        ``list`` parses only those of rows it has to compute again."""
        with self._transaction(write=False) as db:
            rows = db.execute("SELECT cert, state FROM renewal_state").fetchall()
        return dict(rows)

    def own_changes(self, since: int) -> tuple[int, frozenset[str] | None]:
        """What this connection (this process) committed after mark ``since``: (the mark now, the
        certificates whose renewal state it wrote), or (the mark now, None) when it also wrote something
        else (an order, an event). Other processes' commits show in ``data_version``."""
        with self._lock:
            return self._own.since(since)

    def order_counts(self) -> dict[str, int]:
        """How many orders ended with each result ('issued', 'failed', ...), for metrics."""
        with self._transaction(write=False) as db:
            rows = db.execute("SELECT result, COUNT(*) FROM orders GROUP BY result").fetchall()
        return {str(result): int(count) for result, count in rows}

    def data_version(self) -> int:
        """A number that changes whenever another connection (another process: a `revoke`, the dashboard)
        commits to the journal, and not for this one's own writes: SQLite's ``PRAGMA data_version``."""
        with self._lock:
            try:
                return int(self._db.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    # -- dns-01 records ------------------------------------------------------------------------------

    def add_dns_record(self, record: DnsRecord) -> None:
        """Note a TXT record just added to a zone."""
        with self._transaction() as db:
            db.execute("INSERT INTO dns_records (cert, provider, fqdn, value, order_id) VALUES (?, ?, ?, ?, ?)",
                       (record.cert, record.provider, record.fqdn, record.value, record.order_id))

    def remove_dns_record(self, record: DnsRecord) -> None:
        """Forget a TXT record just removed from its zone."""
        with self._transaction() as db:
            db.execute("DELETE FROM dns_records WHERE cert = ? AND provider = ? AND fqdn = ? AND value = ?",
                       (record.cert, record.provider, record.fqdn, record.value))

    def dns_records(self, cert: str | None = None) -> list[DnsRecord]:
        """Records added and not yet removed, of ``cert`` or of every certificate."""
        query = "SELECT cert, provider, fqdn, value, order_id FROM dns_records"
        with self._transaction(write=False) as db:
            rows = (db.execute(query + " WHERE cert = ? ORDER BY id", (cert,)) if cert is not None
                    else db.execute(query + " ORDER BY id")).fetchall()
        return [DnsRecord(*row) for row in rows]

    # -- plumbing -----------------------------------------------------------------------------------

    def _write(self, sql: str, params: tuple[Any, ...], states: Iterable[str] | None = None) -> int:
        """One statement on its own, the new row's id: SQLite runs a lone statement as its own transaction
        (all or nothing, its write lock taken at its start), so it needs no BEGIN and COMMIT around it: a
        third of the round trips for the ~10 writes of every order (bench/README.md, issue 14)."""
        with self._lock:
            try:
                row = int(self._db.execute(sql, params).lastrowid or 0)
            except sqlite3.Error as exc:
                raise self._error(exc) from None
            self._own.committed(states)
            return row

    @contextmanager
    def _transaction(self, write: bool = True, states: Iterable[str] | None = None
                     ) -> Iterator[sqlite3.Connection]:
        """One transaction under the thread lock; writers take the write lock up front (no upgrade
        deadlock between processes), and SQLite errors become StorageError naming the journal. A write
        is counted for ``own_changes``: of ``states``' renewal states only, or (None) of anything."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._error(exc) from None
            if write:
                self._own.committed(states)

    def _setup(self) -> None:
        try:
            for pragma in PRAGMAS:
                self._db.execute(f"PRAGMA {pragma}")
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        self._migrate()
        try:
            for pragma in AFTER_MIGRATION:
                self._db.execute(f"PRAGMA {pragma}")
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION; two processes starting at once migrate only once."""
        with self._transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"journal {self.path} was written by a newer zerossl-tui (schema {version}): upgrade it"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {step + 1}")

    def _error(self, exc: sqlite3.Error) -> StorageError:
        hint = ""
        if "not a database" in str(exc) or "malformed" in str(exc):
            hint = " (the file is damaged: move it aside to start a fresh journal)"
        elif "readonly" in str(exc) or "unable to open" in str(exc):
            hint = f" (cannot write in {self.path.parent}: run as the user that owns it, or make it writable)"
        return StorageError(f"journal {self.path}: {exc}{hint}")


def _iso(at: datetime) -> str:
    """ISO 8601 text in UTC; a naive datetime is a programming error."""
    if at.tzinfo is None:
        raise ValueError("journal times must be timezone-aware")
    return at.astimezone(UTC).isoformat()


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _events_of(db: sqlite3.Connection, order_ids: list[int]) -> dict[int, list[OrderEvent]]:
    if not order_ids:
        return {}
    marks = ", ".join("?" * len(order_ids))
    rows = db.execute(
        "SELECT order_id, kind, message, at, retry_after FROM events"
        f" WHERE order_id IN ({marks}) ORDER BY id",
        order_ids,
    ).fetchall()
    out: dict[int, list[OrderEvent]] = {}
    for order_id, kind, message, at, retry_after in rows:
        event = OrderEvent(kind, message, datetime.fromisoformat(at), retry_after)
        out.setdefault(order_id, []).append(event)
    return out


def _order(row: tuple[Any, ...], events: tuple[OrderEvent, ...]) -> OrderRecord:
    order_id, cert, started, finished, result, error_type, error_detail, serial, order_url = row
    return OrderRecord(
        id=order_id,
        cert=cert,
        started=datetime.fromisoformat(started),
        finished=_when(finished),
        result=result,
        error_type=error_type,
        error_detail=error_detail,
        serial=serial,
        order_url=order_url,
        events=events,
    )
