"""What the service needs from storage, as Protocols: the certificate store, the journal, the locker and
the challenge store. The filesystem + SQLite backend (``zerossl_tui.storage``) is the first implementation;
``tests/test_conformance.py`` runs the same tests against every implementation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .models import CertificateSpec, OrderRecord, PendingDeploy, RenewalState, StoredCert

Pem = str | bytes


class CertificateStore(Protocol):
    """Every issued version of every certificate, one ``current`` per certificate, deploy records, and
    the ACME account of each provider. Writers hold the certificate's lock."""

    def save_version(
        self, name: str, key_pem: Pem, cert_pem: Pem, chain_pem: Pem, fullchain_pem: Pem,
        meta: dict[str, Any], *, order_id: int = 0,
    ) -> StoredCert:
        """Store a complete new version and make it current (recording a pending deployment first)."""

    def current(self, name: str) -> StoredCert | None:
        """The current version, or None when nothing was ever issued."""

    def current_meta(self, name: str) -> dict[str, Any] | None:
        """The current version's metadata alone (cheap: no PEMs)."""

    def current_metas(self, names: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """``current_meta`` of each of ``names`` at once (a list of thousands: one query or an index)."""

    def load_version(self, name: str, version: str) -> StoredCert | None:
        """One stored version by its name."""

    def versions(self, name: str) -> list[str]:
        """Every stored version of ``name``, oldest first."""

    def names(self) -> list[str]:
        """Every certificate that has stored versions."""

    def deploy(self, spec: CertificateSpec, stored: StoredCert) -> list[str]:
        """Write ``stored`` to the files the web server reads; the paths written."""

    def remove_stale_temps(self, spec: CertificateSpec, stored: StoredCert) -> None:
        """Remove temporary files a killed deployment left beside the served files."""

    def begin_deploy(self, name: str, version: str, order_id: int) -> None:
        """Record that ``version`` is being deployed (healed by the next start if we die)."""

    def pending_deploy(self, name: str) -> PendingDeploy | None:
        """A deployment begun and not finished, if any."""

    def end_deploy(self, name: str) -> None:
        """The deployment finished: forget the record."""

    def save_pending_key(self, name: str, key_pem: Pem) -> None:
        """Keep the key of an order in progress until its certificate is stored (kept secret)."""

    def pending_key(self, name: str) -> bytes | None:
        """The key of the order in progress, if any."""

    def clear_pending_key(self, name: str) -> None:
        """Forget the key of the order in progress."""

    def load_account(self, provider: str, directory: str = "") -> tuple[bytes | None, str]:
        """(account key PEM, account URL) for ``provider`` at ``directory``; (None, "") when none."""

    def save_account(self, provider: str, key_pem: Pem, url: str, directory: str = "") -> None:
        """Keep the account key and URL."""

    def load_eab_cache(self, provider: str) -> tuple[str, str]:
        """EAB credentials fetched earlier from ZeroSSL: (kid, hmac) or ("", "")."""

    def save_eab_cache(self, provider: str, kid: str, hmac_key: str) -> None:
        """Cache EAB credentials fetched from ZeroSSL."""


class OrderJournal(Protocol):
    """Orders with their events, and the renewal state (backoff, rate limits, ARI) of each certificate."""

    def start_order(self, cert: str, at: datetime) -> int:
        """Record a new running order; its id."""

    def add_event(self, order_id: int, kind: str, message: str, at: datetime,
                  retry_after: float | None = None) -> None:
        """Append one event to an order."""

    def finish_order(self, order_id: int, result: str, at: datetime, *, error_type: str = "",
                     error_detail: str = "", serial: str = "", order_url: str = "") -> None:
        """Close an order with its result."""

    def note_order_url(self, order_id: int, url: str) -> None:
        """Keep an order's URL as soon as the CA created it."""

    def resumable_order(self, cert: str, before: int) -> str:
        """The URL of the newest order of ``cert`` older than ``before`` that ended without a certificate
        (the CA may still finish it), or ""."""

    def orders(self, cert: str, limit: int = 50) -> list[OrderRecord]:
        """A certificate's orders, newest first, with their events."""

    def order_result(self, order_id: int, cert: str) -> str | None:
        """The result of one order of ``cert`` (None when there is no such order)."""

    def last_orders(self) -> dict[str, OrderRecord]:
        """The newest order of every certificate (without events)."""

    def last_results(self) -> dict[str, tuple[str, str]]:
        """cert -> (result, error_detail) of its newest order."""

    def heal(self, at: datetime) -> list[int]:
        """Close orders left running by processes that died; the ids closed."""

    def get_state(self, cert: str) -> RenewalState:
        """The renewal state of ``cert`` (a fresh one when none is stored)."""

    def put_state(self, cert: str, state: RenewalState) -> None:
        """Store the renewal state of ``cert``."""

    def put_states(self, states: Mapping[str, RenewalState]) -> None:
        """Store the renewal states of many certificates in one transaction: all of them, or none."""

    def all_states(self) -> dict[str, RenewalState]:
        """Every stored renewal state."""

    def order_counts(self) -> dict[str, int]:
        """How many orders ended with each result (for metrics)."""


class Lock(Protocol):
    """The exclusive right to order one certificate (or register one account), across processes."""

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""

    def try_acquire(self) -> bool:
        """Take it when free, without waiting."""

    def acquire(self, timeout: float | None = None, cancel: threading.Event | None = None) -> bool:
        """Wait up to ``timeout`` seconds, or until ``cancel`` is set; True when held."""

    def acquire_or_raise(self, timeout: float | None = None, cancel: threading.Event | None = None) -> None:
        """``acquire``, raising Cancelled or LockBusy when it could not."""

    def release(self) -> None:
        """Give it back (nothing happens when not held)."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock: an owner (host and pid) and when its lease ends (None: while the process lives)."""

    name: str
    owner: str
    expires: datetime | None = None


class Locker(Protocol):
    """Hands out certificate and account locks, and says who holds them."""

    def certificate(self, name: str) -> Lock:
        """The lock of one certificate."""

    def account(self, provider: str) -> Lock:
        """The lock that serializes account registration at one provider."""

    def holders(self) -> list[LockHolder]:
        """Every lock held right now."""


@dataclass(frozen=True)
class DnsRecord:
    """One TXT record an order added (kept so that a crashed process's records can be removed)."""

    cert: str
    provider: str
    fqdn: str
    value: str
    order_id: int = 0


class ChallengeStore(Protocol):
    """http-01 tokens being presented, and DNS records added for dns-01, shared by every responder and
    kept across crashes."""

    def present_token(self, token: str, key_authorization: str, order_id: int = 0) -> None:
        """Answer ``token`` with ``key_authorization`` from now on (for the journal's order ``order_id``)."""

    def token(self, token: str) -> str | None:
        """The key authorization for ``token``, or None."""

    def remove_token(self, token: str) -> None:
        """Stop answering ``token``."""

    def add_dns_record(self, record: DnsRecord) -> None:
        """Note a TXT record just added to a zone."""

    def remove_dns_record(self, record: DnsRecord) -> None:
        """Forget a TXT record just removed from its zone."""

    def dns_records(self, cert: str | None = None) -> list[DnsRecord]:
        """Records added and not yet removed (of ``cert``, or all)."""


