"""The settings schema: every key of ``settings.toml``, its type, range, default and the docstring that
``--help`` and the dashboard's settings screen show; and the typed tables ([general], [renewal], [ui]).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

ZEROSSL_API = "https://api.zerossl.com"  # ZeroSSL's REST API, where EAB credentials are fetched

BUILTIN_PROVIDERS: dict[str, str] = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "zerossl": "https://acme.zerossl.com/v2/DV90",
    "google": "https://dv.acme-v02.api.pki.goog/directory",
    "google-staging": "https://dv.acme-v02.test-api.pki.goog/directory",
    "sslcom": "https://acme.ssl.com/sslcom-dv-ecc",
}
DEFAULT_PROVIDER = "letsencrypt"


@dataclass(frozen=True)
class Field:
    """One setting: its TOML key, Python type, default, docstring, and the range of a number."""

    key: str
    type: type
    default: Any
    doc: str
    min: int = 0
    max: int = 10**7
    path: bool = False


PROVIDER_FIELDS = (
    Field("directory", str, "", "ACME directory URL (https only)."),
    Field("email", str, "", "Contact email for the account; ZeroSSL can fetch EAB credentials with it."),
    Field("eab_kid", str, "", "External Account Binding key ID given by the CA."),
    Field("eab_hmac_key", str, "", "EAB HMAC key (base64url) given by the CA. Secret: kept 0600."),
    Field("api_key", str, "", "ZeroSSL API access key, used to fetch EAB credentials. Secret: kept 0600."),
    Field("ca_bundle", str, "", "PEM file of CAs to trust for a private CA's HTTPS (never disables checks).",
          path=True),
    Field("preferred_chain", str, "", "Common name of the root (topmost issuer) of the chain to prefer when "
          "the CA offers alternates; a certificate's own setting wins."),
)

CERTIFICATE_FIELDS = (
    Field("domains", list, [], "Names the certificate covers; the first is the common name."),
    Field("provider", str, "", "Name of the provider (CA) to order from."),
    Field("key_type", str, "ec256", "Key type: ec256 (default), ec384, rsa2048, rsa3072, rsa4096."),
    Field("http_port", int, 80, "Port of the built-in http-01 responder.", 1, 65535),
    Field("http_bind", str, "", "Address the built-in responder listens on (all addresses when empty)."),
    Field("webroot", str, "", "Serve http-01 tokens from this web root instead of the built-in responder.",
          path=True),
    Field("certfile", str, "", "Where the web server reads the certificate (full chain).", path=True),
    Field("keyfile", str, "", "Where the web server reads the private key.", path=True),
    Field("fullchain", str, "", "Where to write the certificate followed by its chain.", path=True),
    Field("chainfile", str, "", "Where to write the intermediate chain alone.", path=True),
    Field("reuse_key", bool, False, "Keep the same private key across renewals."),
    Field("deploy_hook", str, "", "Command run after a successful issuance."),
    Field("failure_hook", str, "", "Command run after a failed attempt."),
    Field("profile", str, "", "ACME profile to ask for when the CA offers it."),
    Field("required_profile", str, "", "ACME profile that must be offered, or the order is refused."),
    Field("verify", list, [], "HOST:PORT endpoints that must serve the current certificate (TLS, SNI = first "
          "domain); checked after each deploy and hourly."),
    Field("owner", str, "", "User (name or uid) owning the served files; the user running us when empty."),
    Field("group", str, "", "Group (name or gid) of the served files; the key is then 0640, not 0600."),
    Field("preferred_chain", str, "", "Common name of the root (topmost issuer) of the chain to prefer when "
          "the CA offers alternates, like \"ISRG Root X1\"; else the provider's, else the CA's default."),
    Field("challenge", str, "http-01", "How the CA checks control of the names: http-01 (default) or dns-01 "
          "(needed for wildcards such as *.example.com)."),
    Field("dns", str, "", "Name of the [dns.NAME] DNS provider that puts up the TXT records of dns-01."),
)

DNS_FIELDS = (
    Field("type", str, "", "How records are added: rfc2136 (dynamic updates with TSIG), lexicon (a dns-lexicon "
          "provider), exec (a program called as PROGRAM present|cleanup FQDN VALUE) or manual (a person)."),
    Field("server", str, "", "rfc2136: the primary DNS server that accepts updates, HOST[:PORT]."),
    Field("tsig_key_name", str, "", "rfc2136: name of the TSIG key the server knows (as in its key statement)."),
    Field("tsig_secret", str, "", "rfc2136: the TSIG key's secret (base64, as in BIND's key file). Secret: kept "
          "0600 in secrets.toml."),
    Field("tsig_algorithm", str, "hmac-sha256", "rfc2136: TSIG algorithm: hmac-sha256 (default), hmac-sha384, "
          "hmac-sha512 or hmac-sha1."),
    Field("lexicon_provider", str, "", "lexicon: the dns-lexicon provider (cloudflare, route53, powerdns, ...)."),
    Field("options", dict, {}, "lexicon: the provider's options (KEY = VALUE); credentials (auth_*, tokens, "
          "secrets, passwords, keys) are kept 0600 in secrets.toml."),
    Field("command", str, "", "exec: the program to run (no shell), as PROGRAM present|cleanup FQDN VALUE."),
    Field("zone", str, "", "The zone that holds the records (found by SOA queries when empty)."),
    Field("resolvers", list, [], "HOST[:PORT] servers that must all see a record before the CA is asked "
          "(default: the zone's authoritative servers)."),
    Field("propagation_timeout", int, 120, "Seconds to wait until every resolver sees the records.", 1, 86400),
    Field("ttl", int, 60, "TTL of the TXT records added.", 1, 86400),
    Field("timeout", int, 60, "exec: seconds the program may run before it is stopped.", 1, 3600),
)

GENERAL_FIELDS = (
    Field("data_dir", str, "", "Folder for accounts, certificates and the journal (platform default).",
          path=True),
    Field("default_provider", str, "", "Provider used by `add` when none is given."),
)

RENEWAL_FIELDS = (
    Field("concurrency", int, 16, "How many orders may run at once.", 1, 256),
    Field("order_timeout", int, 900, "Seconds an order may take before it is abandoned (ZeroSSL can be slow).",
          30, 86400),
    Field("request_timeout", int, 30, "Seconds to wait for each answer from the CA before giving up on it.",
          1, 3600),
    Field("deploy_hook", str, "", "Command run after every successful issuance."),
    Field("failure_hook", str, "", "Command run after every failed attempt."),
    Field("hook_timeout", int, 300, "Seconds a hook may run before it is stopped.", 1, 86400),
    Field("hook_shell", bool, False, "Run hooks through /bin/sh (otherwise split and run directly)."),
)

STORAGE_FIELDS = (
    Field("backend", str, "filesystem", "Where certificates, keys, the journal and locks live: filesystem (this "
          "host alone) or postgresql (a fleet of hosts sharing one database)."),
    Field("dsn", str, "", "libpq connection string of the fleet database, without its password (that goes in "
          "secrets.toml, ~/.pgpass or PGPASSWORD); sslmode and friends pass through."),
    Field("host_id", str, "", "This host's name in the fleet (default: its host name)."),
    Field("key_file", str, "", "The fleet's 32-byte AES key file sealing private keys in the database (0600, the "
          "same file on every host; default: storage.key beside the settings file).", path=True),
    Field("password", str, "", "Password of the dsn's user. Secret: kept 0600 in secrets.toml."),
)
STORAGE_BACKENDS = ("filesystem", "postgresql")

UI_FIELDS = (
    Field("theme", str, "", "Dashboard theme name."),
    Field("autorenew", bool, True, "Renew due certificates while the dashboard is open."),
)


@dataclass(frozen=True)
class GeneralSettings:
    """[general]: where data lives, and the provider `add` uses by default."""

    data_dir: str = ""
    default_provider: str = ""


@dataclass(frozen=True)
class RenewalSettings:
    """[renewal]: how orders run (see RENEWAL_FIELDS for each value's meaning and range)."""

    # 16: an order spends most of its time waiting (the CA, its fsyncs), so 4 left one process idle half the
    # time in a bulk renew (bench/README.md, issue 14). A CA that finds it too many answers rateLimited, and
    # the run then holds its other orders for that CA (service.accounts.SharedSessions).
    concurrency: int = 16
    order_timeout: int = 900
    request_timeout: int = 30
    deploy_hook: str = ""
    failure_hook: str = ""
    hook_timeout: int = 300
    hook_shell: bool = False


@dataclass(frozen=True)
class UiSettings:
    """[ui]: dashboard preferences."""

    theme: str = ""
    autorenew: bool = True


NOTIFY_EVENTS = ("failure", "expiring", "verify-failed", "recovered")
NOTIFY_FIELDS = (
    Field("events", list, list(NOTIFY_EVENTS), "Events that notify: failure, expiring, verify-failed, recovered. "
          "The URLs (apprise) are secrets: `notify add URL` keeps them in secrets.toml."),
    Field("expiring_days", int, 14, "`expiring` is sent when less than this many days are left.", 1, 3650),
)


@dataclass(frozen=True)
class NotifySettings:
    """[notify]: which events notify, and when a certificate counts as expiring (URLs are secrets)."""

    events: tuple[str, ...] = NOTIFY_EVENTS
    expiring_days: int = 14

    def __post_init__(self) -> None:
        object.__setattr__(self, "events", tuple(self.events))  # TOML gives a list


@dataclass(frozen=True)
class StorageSettings:
    """[storage]: the backend and, for a fleet, its database (see STORAGE_FIELDS)."""

    backend: str = "filesystem"
    dsn: str = ""
    host_id: str = ""
    key_file: str = ""
    password: str = ""

    def __repr__(self) -> str:  # the password must never reach a log or a traceback
        return (f"StorageSettings(backend={self.backend!r}, dsn={self.dsn!r}, host_id={self.host_id!r}, "
                f"key_file={self.key_file!r}, password={'<secret>' if self.password else ''!r})")


TABLES: dict[str, tuple[Field, ...]] = {
    "general": GENERAL_FIELDS,
    "renewal": RENEWAL_FIELDS,
    "ui": UI_FIELDS,
    "notify": NOTIFY_FIELDS,
    "storage": STORAGE_FIELDS,
}
TABLE_TYPES: dict[str, type] = {"general": GeneralSettings, "renewal": RenewalSettings, "ui": UiSettings,
                                "notify": NotifySettings, "storage": StorageSettings}


def table_values(table: Any) -> dict[str, Any]:
    """Every value of a typed table, by key."""
    return {f.name: getattr(table, f.name) for f in fields(table)}


def changed_values(table: Any) -> dict[str, Any]:
    """The values of a typed table that differ from their defaults (what a saved file needs to hold)."""
    default = type(table)()
    # a tuple (NotifySettings.events) is saved as the list TOML reads back
    return {k: list(v) if isinstance(v, tuple) else v for k, v in table_values(table).items()
            if v != getattr(default, k)}
