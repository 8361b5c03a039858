"""Plain, frozen data that every layer passes around."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

KEY_TYPES = ("ec256", "ec384", "rsa2048", "rsa3072", "rsa4096")
DEFAULT_KEY_TYPE = "ec256"
REVOCATION_REASONS = {
    "unspecified": 0,
    "keycompromise": 1,
    "affiliationchanged": 3,
    "superseded": 4,
    "cessationofoperation": 5,
}


@dataclass(frozen=True)
class ProviderSpec:
    """A CA: its ACME directory and how we authenticate to it. Secrets are left out of ``repr``."""

    name: str
    directory: str
    email: str = ""
    eab_kid: str = ""
    eab_hmac_key: str = field(default="", repr=False)
    api_key: str = field(default="", repr=False)
    ca_bundle: str = ""
    preferred_chain: str = ""

    @property
    def has_eab(self) -> bool:
        """True when both EAB values are configured."""
        return bool(self.eab_kid and self.eab_hmac_key)

    @property
    def is_zerossl(self) -> bool:
        """ZeroSSL (by name or directory), whose EAB credentials can be fetched from its REST API."""
        return self.name == "zerossl" or "zerossl.com" in self.directory


@dataclass(frozen=True)
class CertificateSpec:
    """One managed certificate as configured."""

    name: str
    domains: tuple[str, ...]
    provider: str
    key_type: str = DEFAULT_KEY_TYPE
    http_port: int = 80
    http_bind: str = ""
    webroot: str = ""
    certfile: str = ""
    keyfile: str = ""
    fullchain: str = ""
    chainfile: str = ""
    reuse_key: bool = False
    deploy_hook: str = ""
    failure_hook: str = ""
    profile: str = ""
    required_profile: str = ""
    verify: tuple[str, ...] = ()
    owner: str = ""
    group: str = ""
    preferred_chain: str = ""
    challenge: str = "http-01"
    dns: str = ""


CHALLENGES = ("http-01", "dns-01")
DNS_TYPES = ("rfc2136", "lexicon", "exec", "manual")
TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha1")
DNS_PROPAGATION_TIMEOUT = 120.0
DNS_TTL = 60
DNS_EXEC_TIMEOUT = 60.0


@dataclass(frozen=True)
class DnsSpec:
    """One ``[dns.NAME]`` DNS provider for dns-01 (plus its secrets from secrets.toml). Secrets
    (``tsig_secret``, credential ``options``) stay out of ``repr``."""

    name: str
    type: str
    server: str = ""
    tsig_key_name: str = ""
    tsig_secret: str = field(default="", repr=False)
    tsig_algorithm: str = "hmac-sha256"
    lexicon_provider: str = ""
    options: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    command: str = ""
    zone: str = ""
    resolvers: tuple[str, ...] = ()
    propagation_timeout: float = DNS_PROPAGATION_TIMEOUT
    ttl: int = DNS_TTL
    timeout: float = DNS_EXEC_TIMEOUT


@dataclass(frozen=True)
class CertInfo:
    """What we read back from an issued certificate."""

    serial: str
    not_before: datetime
    not_after: datetime
    domains: tuple[str, ...]
    issuer: str = ""
    chain: str = ""  # common name of the topmost issuer of the stored chain ("" when not recorded)

    @property
    def lifetime_seconds(self) -> float:
        """Length of the validity period."""
        return (self.not_after - self.not_before).total_seconds()


# The key of the stand-in a store's ``current_meta`` returns when the current version's files are damaged:
# {DAMAGED_META: "one line naming the file and the fix", CERT_FILE_META: "cert.pem to read the truth from"}.
DAMAGED_META = "damaged"
CERT_FILE_META = "cert_file"


class CertStatus(enum.StrEnum):
    """What the dashboard and ``list`` show for a certificate."""

    VALID = "valid"
    DUE = "due"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    FAILED = "failed"
    ISSUING = "issuing"
    NEVER_ISSUED = "never-issued"
    REVOKED = "revoked"


class EventKind(enum.StrEnum):
    """The steps of an order, as written to the journal and shown in the timeline."""

    STARTED = "started"
    ACCOUNT = "account"
    ORDER_CREATED = "order-created"
    CHALLENGE_PRESENTED = "challenge-presented"
    AUTHORIZATION_VALID = "authorization-valid"
    FINALIZING = "finalizing"
    PROCESSING = "processing"
    ISSUED = "issued"
    DEPLOYED = "deployed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REVOKED = "revoked"
    RETRY = "retry"
    HOOK = "hook"
    ARI = "ari"
    DNS_PRESENTED = "dns-presented"
    DNS_VISIBLE = "dns-visible"
    DNS_TIMEOUT = "dns-timeout"
    DNS_REMOVED = "dns-removed"
    DNS_CLEANUP_FAILED = "dns-cleanup-failed"
    CHAIN = "chain"
    IMPORTED = "imported"


@dataclass(frozen=True)
class ProgressEvent:
    """One step of one certificate's order, sent up from the engine and service while it runs."""

    cert: str
    kind: EventKind
    message: str
    at: datetime
    retry_after: float | None = None


@dataclass(frozen=True)
class OrderEvent:
    """An event as stored in the journal."""

    kind: str
    message: str
    at: datetime
    retry_after: float | None = None


@dataclass(frozen=True)
class OrderRecord:
    """One order of one certificate, from the journal."""

    id: int
    cert: str
    started: datetime
    finished: datetime | None
    result: str
    error_type: str = ""
    error_detail: str = ""
    serial: str = ""
    order_url: str = ""
    events: tuple[OrderEvent, ...] = ()


@dataclass(frozen=True)
class RenewalState:
    """Per-certificate scheduling facts that survive restarts (kept in the state database)."""

    failures: int = 0
    next_attempt: datetime | None = None
    rate_limited_until: datetime | None = None
    ari_window_start: datetime | None = None
    ari_window_end: datetime | None = None
    ari_chosen: datetime | None = None
    ari_retry_at: datetime | None = None
    ari_explanation: str = ""
    last_error: str = ""
    revoked_serial: str = ""  # the current certificate was revoked: it is replaced at once
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class CertificateView:
    """A row of ``list`` and of the dashboard table."""

    spec: CertificateSpec
    status: CertStatus
    info: CertInfo | None
    next_renewal: datetime | None
    renewal_source: str
    last_result: str = ""
    last_error: str = ""
    explanation: str = ""
    ari_window: tuple[datetime, datetime] | None = None
    damage: str = ""  # one line naming a damaged file of the current version and the fix ("" when sound)

    @property
    def chain(self) -> str:
        """The common name of the topmost issuer of the current certificate's chain ("" if unknown)."""
        return self.info.chain if self.info else ""


@dataclass(frozen=True)
class StoredCert:
    """One stored version of a certificate. PEMs are bytes (as the engine uses them); the key is left out
    of ``repr``. ``dir`` is the version's folder for backends that keep one (else None)."""

    name: str
    version: str
    key_pem: bytes = field(repr=False)
    cert_pem: bytes
    chain_pem: bytes
    fullchain_pem: bytes
    meta: dict[str, Any]
    dir: Path | None = None


@dataclass(frozen=True)
class PendingDeploy:
    """A deployment that a process began and did not finish (it may have been killed)."""

    version: str
    order_id: int
