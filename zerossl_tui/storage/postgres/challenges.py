"""Challenges in the fleet database: http-01 tokens that any host's responder answers (the CA's request may
reach any host behind a load balancer), and the dns-01 records kept in the journal."""

from __future__ import annotations

from ...core.interfaces import DnsRecord
from .db import Database
from .journal import PgJournal
from .notify import TOKENS_CHANNEL, notify

# The longest order_timeout there is: no running order ever loses a token to the age bound. A token of a
# host that died goes sooner, once the order it belonged to is closed (as interrupted, by ``heal``).
TOKEN_MAX_AGE = 86400.0


class PgChallengeStore:
    """http-01 tokens in the ``tokens`` table; dns-01 records in the journal's ``dns_records``."""

    def __init__(self, db: Database, journal: PgJournal) -> None:
        self.db = db
        self.journal = journal

    def present_token(self, token: str, key_authorization: str, order_id: int = 0) -> None:
        """Answer ``token`` with ``key_authorization`` on every host from now on (for order ``order_id``)."""
        with self.db.statement() as cur:  # one statement; webroot hosts are told when it commits
            cur.execute("WITH saved AS (INSERT INTO tokens (token, key_authorization, order_id) VALUES (%s, %s, %s)"
                        " ON CONFLICT (token) DO UPDATE SET key_authorization = excluded.key_authorization,"
                        " order_id = excluded.order_id, created = now() RETURNING token)"
                        " SELECT pg_notify(%s, token) FROM saved", (token, key_authorization, order_id, TOKENS_CHANNEL))

    def token(self, token: str) -> str | None:
        """The key authorization for ``token``, or None."""
        with self.db.statement() as cur:
            cur.execute("SELECT key_authorization FROM tokens WHERE token = %s", (token,))
            row = cur.fetchone()
        return str(row[0]) if row else None

    def tokens(self) -> dict[str, str]:
        """Every token presented right now, with its key authorization."""
        with self.db.statement() as cur:
            cur.execute("SELECT token, key_authorization FROM tokens")
            return {str(token): str(value) for token, value in cur.fetchall()}

    def remove_token(self, token: str) -> None:
        """Stop answering ``token``."""
        with self.db.statement() as cur:
            cur.execute("WITH gone AS (DELETE FROM tokens WHERE token = %s RETURNING token)"
                        " SELECT pg_notify(%s, token) FROM gone", (token, TOKENS_CHANNEL))

    def prune_tokens(self, max_age: float = TOKEN_MAX_AGE) -> int:
        """Forget the tokens a host left behind (killed before it withdrew them): those of orders that have
        finished, and any older than ``max_age`` seconds; how many went."""
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM tokens t WHERE t.created < now() - make_interval(secs => %s) OR EXISTS"
                        " (SELECT 1 FROM orders o WHERE o.id = t.order_id AND o.result <> 'running')"
                        " RETURNING token", (max_age,))
            gone = [str(row[0]) for row in cur.fetchall()]
            if gone:
                notify(cur, TOKENS_CHANNEL, gone[0])  # webroot hosts remove their copies
        return len(gone)

    def add_dns_record(self, record: DnsRecord) -> None:
        """Note a TXT record just added to a zone."""
        self.journal.add_dns_record(record)

    def remove_dns_record(self, record: DnsRecord) -> None:
        """Forget a TXT record just removed from its zone."""
        self.journal.remove_dns_record(record)

    def dns_records(self, cert: str | None = None) -> list[DnsRecord]:
        """Records added and not yet removed."""
        return self.journal.dns_records(cert)
