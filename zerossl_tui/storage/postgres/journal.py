"""The order journal in PostgreSQL: orders with their events, renewal state, dns-01 records.

Each order row names the host and process that runs it, so ``heal`` can tell an order whose process died
from one that runs elsewhere: on this host the pid is checked (with its start time: pids are reused); an
order of another host is healed only once its owner holds no live lock lease and that host has stopped
sending heartbeats.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from ...core.interfaces import DnsRecord
from ...core.models import EventKind, OrderEvent, OrderRecord, RenewalState
from ..journal import INTERRUPTED, MAX_LIMIT, RESULTS
from ..processes import process_alive, process_start
from ..state_json import state_from_doc
from .db import Database
from .notify import CHANGED_CHANNEL, announces

STALE_HOST_SECONDS = 120
STATE_CACHE = 100_000  # parsed renewal states kept per process (cleared when full)
_ORDER_COLUMNS = "id, cert, started, finished, result, error_type, error_detail, serial, order_url"
_DETAIL = "the process running this order stopped before it finished"


class PgJournal:
    """Orders, events, renewal state and dns-01 records of the whole fleet."""

    def __init__(self, db: Database, host_id: str) -> None:
        self.db = db
        self.host_id = host_id
        self._states: dict[str, RenewalState] = {}  # stored document -> parsed state

    def close(self) -> None:
        """Close this process's connections (they are made again if used later)."""
        self.db.close()

    # -- orders -------------------------------------------------------------------------------------

    def start_order(self, cert: str, at: datetime) -> int:
        """Record a new running order of this host and process; its id."""
        pid = os.getpid()
        with self.db.statement() as cur:
            cur.execute("INSERT INTO orders (cert, started, host_id, pid, pid_start) VALUES (%s, %s, %s, %s, %s)"
                        " RETURNING id", (cert, _utc(at), self.host_id, pid, process_start(pid)))
            row = cur.fetchone()
        return int(row[0]) if row else 0

    def add_event(self, order_id: int, kind: str, message: str, at: datetime,
                  retry_after: float | None = None) -> None:
        """Append one event to an order."""
        with self.db.statement() as cur:
            cur.execute("INSERT INTO events (order_id, at, kind, message, retry_after) VALUES (%s, %s, %s, %s, %s)",
                        (order_id, _utc(at), str(getattr(kind, "value", kind)), message, retry_after))

    def finish_order(self, order_id: int, result: str, at: datetime, *, error_type: str = "",
                     error_detail: str = "", serial: str = "", order_url: str = "") -> None:
        """Close an order with its result ('issued', 'failed', 'cancelled' or 'revoked')."""
        if result not in RESULTS or result == "running":
            raise ValueError(f"not a final order result: {result!r}")
        with self.db.statement() as cur:
            cur.execute("UPDATE orders SET finished = %s, result = %s, error_type = %s, error_detail = %s,"
                        " serial = %s, order_url = coalesce(nullif(%s, ''), order_url) WHERE id = %s",
                        (_utc(at), result, error_type, error_detail, serial, order_url, order_id))

    def orders(self, cert: str, limit: int = 50) -> list[OrderRecord]:
        """A certificate's latest ``limit`` orders, newest first, each with its events (oldest first)."""
        with self.db.transaction() as cur:
            cur.execute(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE cert = %s ORDER BY id DESC LIMIT %s",
                        (cert, max(0, min(limit, MAX_LIMIT))))
            rows = cur.fetchall()
            cur.execute("SELECT order_id, kind, message, at, retry_after FROM events WHERE order_id = ANY(%s)"
                        " ORDER BY id", ([row[0] for row in rows],))
            events: dict[int, list[OrderEvent]] = {}
            for order_id, kind, message, at, retry_after in cur.fetchall():
                events.setdefault(order_id, []).append(OrderEvent(kind, message, at, retry_after))
        return [_order(row, tuple(events.get(row[0], ()))) for row in rows]

    def order_result(self, order_id: int, cert: str) -> str | None:
        """The result of one order of ``cert``; None when there is no such order."""
        with self.db.statement() as cur:
            cur.execute("SELECT result FROM orders WHERE id = %s AND cert = %s", (order_id, cert))
            row = cur.fetchone()
        return str(row[0]) if row else None

    def note_order_url(self, order_id: int, url: str) -> None:
        """Keep an order's URL as soon as the CA created it (any host may resume it)."""
        with self.db.statement() as cur:
            cur.execute("UPDATE orders SET order_url = %s WHERE id = %s", (url, order_id))

    def resumable_order(self, cert: str, before: int) -> str:
        """The URL of the newest order of ``cert`` older than ``before`` that ended without a certificate."""
        with self.db.statement() as cur:
            cur.execute("SELECT result, order_url FROM orders WHERE cert = %s AND id < %s AND result != 'revoked'"
                        " ORDER BY id DESC LIMIT 1", (cert, before))
            row = cur.fetchone()
        return str(row[1]) if row and row[0] in ("failed", "cancelled") and row[1] else ""

    def last_orders(self) -> dict[str, OrderRecord]:
        """The newest order of every certificate (without events)."""
        with self.db.statement() as cur:
            cur.execute(f"SELECT DISTINCT ON (cert) {_ORDER_COLUMNS} FROM orders ORDER BY cert, id DESC")
            rows = cur.fetchall()
        return {row[1]: _order(row, ()) for row in rows}

    def last_results(self) -> dict[str, tuple[str, str]]:
        """cert -> (result, error_detail) of its newest order (what a row of ``list`` shows)."""
        with self.db.statement() as cur:
            cur.execute("SELECT DISTINCT ON (cert) cert, result, error_detail FROM orders ORDER BY cert, id DESC")
            rows = cur.fetchall()
        return {cert: (result, detail) for cert, result, detail in rows}

    def heal(self, at: datetime) -> list[int]:
        """Close as failed ('interrupted') the orders whose process died; the ids closed."""
        with self.db.transaction() as cur:
            cur.execute("SELECT id, pid, pid_start FROM orders WHERE result = 'running' AND host_id = %s"
                        " FOR UPDATE", (self.host_id,))
            dead = [order_id for order_id, pid, start in cur.fetchall() if not process_alive(pid, start)]
            cur.execute(
                "SELECT id FROM orders o WHERE result = 'running' AND host_id <> %s AND NOT EXISTS"
                " (SELECT 1 FROM locks l WHERE l.owner = o.host_id || ':' || o.pid AND l.expires > now())"
                " AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.host_id = o.host_id"
                " AND h.last_heartbeat > now() - make_interval(secs => %s)) FOR UPDATE",
                (self.host_id, STALE_HOST_SECONDS))
            dead += [int(row[0]) for row in cur.fetchall()]
            for order_id in sorted(dead):
                self._close_interrupted(cur, order_id, _utc(at))
        return sorted(dead)

    def heal_orphans(self, cert: str, at: datetime) -> list[int]:
        """Close as interrupted the orders of ``cert`` still marked running; call it only while holding the
        certificate's lock: every order runs under that lock, so such an order's holder is gone (its lease
        ended), and the next order may carry its ACME order on by URL at once instead of ordering again."""
        # One statement (one round trip, atomic by itself): every order takes this path once it holds the
        # lock, and hardly ever finds anything to close.
        when = _utc(at)
        with self.db.statement() as cur:
            cur.execute("WITH dead AS (UPDATE orders SET result = 'failed', finished = %(at)s, error_type ="
                        " %(type)s, error_detail = %(detail)s WHERE cert = %(cert)s AND result = 'running'"
                        " RETURNING id), noted AS (INSERT INTO events (order_id, at, kind, message) SELECT id,"
                        " %(at)s, %(kind)s, %(message)s FROM dead) SELECT id FROM dead ORDER BY id",
                        {"at": when, "type": INTERRUPTED, "detail": _DETAIL, "cert": cert,
                         "kind": EventKind.FAILED.value, "message": f"{INTERRUPTED}: {_DETAIL}"})
            return [int(row[0]) for row in cur.fetchall()]

    @staticmethod
    def _close_interrupted(cur: Any, order_id: int, at: datetime) -> None:
        cur.execute("UPDATE orders SET result = 'failed', finished = %s, error_type = %s, error_detail = %s"
                    " WHERE id = %s", (at, INTERRUPTED, _DETAIL, order_id))
        cur.execute("INSERT INTO events (order_id, at, kind, message) VALUES (%s, %s, %s, %s)",
                    (order_id, at, EventKind.FAILED.value, f"{INTERRUPTED}: {_DETAIL}"))

    # -- renewal state ------------------------------------------------------------------------------

    def get_state(self, cert: str) -> RenewalState:
        """The renewal state of ``cert`` (the default state when none is stored)."""
        with self.db.statement() as cur:
            cur.execute("SELECT state::text FROM renewal_state WHERE cert = %s", (cert,))
            row = cur.fetchone()
        return self._state(row[0]) if row else RenewalState()

    def _state(self, text: str) -> RenewalState:
        """The state a stored document says, parsed once per distinct document: a daemon reads every
        certificate's state at each look and before each order, and states change rarely (a parsed state
        is frozen, so one object serves every reader)."""
        state = self._states.get(text)
        if state is None:
            if len(self._states) >= STATE_CACHE:
                self._states.clear()
            state = self._states[text] = state_from_doc(json.loads(text))
        return state

    def put_state(self, cert: str, state: RenewalState) -> None:
        """Store the renewal state of ``cert``; outside a daemon, the fleet's daemons are told (at commit)
        that it changed: a `revoke` on any host makes every daemon look at once."""
        upsert = ("INSERT INTO renewal_state (cert, state) VALUES (%(cert)s, %(state)s) ON CONFLICT (cert)"
                  " DO UPDATE SET state = excluded.state")
        if announces():  # one statement all the same: the notification goes out when it commits
            upsert = f"WITH w AS ({upsert} RETURNING cert) SELECT pg_notify(%(channel)s, cert) FROM w"
        with self.db.statement() as cur:
            cur.execute(upsert, {"cert": cert, "state": Jsonb(state_to_doc(state)), "channel": CHANGED_CHANNEL})

    def put_states(self, states: Mapping[str, RenewalState]) -> None:
        """Store many certificates' renewal states in one transaction (all or none; psycopg sends the rows
        pipelined, not one round trip each)."""
        rows = [(cert, Jsonb(state_to_doc(state))) for cert, state in states.items()]
        if not rows:
            return
        with self.db.transaction() as cur:
            cur.executemany("INSERT INTO renewal_state (cert, state) VALUES (%s, %s) ON CONFLICT (cert)"
                            " DO UPDATE SET state = excluded.state", rows)

    def all_states(self) -> dict[str, RenewalState]:
        """Every stored renewal state."""
        with self.db.statement() as cur:
            cur.execute("SELECT cert, state::text FROM renewal_state")
            rows = cur.fetchall()
        return {cert: self._state(text) for cert, text in rows}

    def order_counts(self) -> dict[str, int]:
        """How many orders ended with each result (for metrics)."""
        with self.db.statement() as cur:
            cur.execute("SELECT result, COUNT(*) FROM orders GROUP BY result")
            rows = cur.fetchall()
        return {str(result): int(count) for result, count in rows}

    # -- dns-01 records ------------------------------------------------------------------------------

    def add_dns_record(self, record: DnsRecord) -> None:
        """Note a TXT record just added to a zone."""
        with self.db.statement() as cur:
            cur.execute("INSERT INTO dns_records (cert, provider, fqdn, value, order_id) VALUES (%s, %s, %s, %s, %s)",
                        (record.cert, record.provider, record.fqdn, record.value, record.order_id))

    def remove_dns_record(self, record: DnsRecord) -> None:
        """Forget a TXT record just removed from its zone."""
        with self.db.statement() as cur:
            cur.execute("DELETE FROM dns_records WHERE cert = %s AND provider = %s AND fqdn = %s AND value = %s",
                        (record.cert, record.provider, record.fqdn, record.value))

    def dns_records(self, cert: str | None = None) -> list[DnsRecord]:
        """Records added and not yet removed, of ``cert`` or of every certificate."""
        with self.db.statement() as cur:
            cur.execute("SELECT cert, provider, fqdn, value, order_id FROM dns_records"
                        " WHERE %(cert)s::text IS NULL OR cert = %(cert)s ORDER BY id", {"cert": cert})
            rows = cur.fetchall()
        return [DnsRecord(c, p, f, v, int(o)) for c, p, f, v, o in rows]


def _utc(at: datetime) -> datetime:
    """``at`` in UTC; a naive datetime is a programming error (as in the SQLite journal)."""
    if at.tzinfo is None:
        raise ValueError("journal times must be timezone-aware")
    return at.astimezone(UTC)


def _order(row: tuple[Any, ...], events: tuple[OrderEvent, ...]) -> OrderRecord:
    order_id, cert, started, finished, result, error_type, error_detail, serial, order_url = row
    return OrderRecord(int(order_id), cert, started, finished, result, error_type, error_detail, serial,
                       order_url, events)




def state_to_doc(state: RenewalState) -> dict[str, Any]:
    """A renewal state as a JSON document (datetimes as ISO 8601 UTC text)."""
    values = {f.name: getattr(state, f.name) for f in fields(state)}  # not asdict: it deep-copies each value
    return {k: (_utc(v).isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
