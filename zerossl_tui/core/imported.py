"""What an importer found in another ACME client's store: plain data, nothing adopted yet.

The engine's importers (``engine/importers``) read certbot, lego and acme.sh stores into these; the service
(``service/imports.py``) decides what to adopt. Anything an importer cannot map goes into ``notes``, in
words a person can act on, rather than being guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A certificate proved over DNS (and any wildcard) renews here with dns-01 through a DNS provider of ours.
DNS_HINT = ("import again with --dns NAME (a DNS provider from `dns add`) to renew it with dns-01, or set "
            "--webroot, --http-port or dns-01 with `edit` before the next renewal")


@dataclass(frozen=True)
class ForeignAccount:
    """An ACME account of the other client: its key (PEM), URL and the CA it belongs to."""

    key_pem: bytes = field(repr=False)
    url: str
    directory: str = ""
    server_host: str = ""
    email: str = ""


@dataclass(frozen=True)
class ForeignCert:
    """One certificate of the other client, with what we need to keep renewing and serving it."""

    name: str
    domains: tuple[str, ...]
    key_type: str
    key_pem: bytes = field(repr=False)
    cert_pem: bytes = b""
    chain_pem: bytes = b""
    fullchain_pem: bytes = b""
    directory: str = ""
    server_host: str = ""
    account: ForeignAccount | None = None
    webroot: str = ""
    http_port: int = 0
    certfile: str = ""
    keyfile: str = ""
    chainfile: str = ""
    deploy_hook: str = ""
    reuse_key: bool = False
    dns_challenge: bool = False  # the other client proved its names over DNS (a dns plugin or mode)
    source: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignStore:
    """Everything read from one store: certificates, store-wide notes, how to stop the old client."""

    client: str
    path: str
    certs: tuple[ForeignCert, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()  # (name, why) of certificates that cannot be read
    notes: tuple[str, ...] = ()
    stop_hint: str = ""


@dataclass(frozen=True)
class ImportItem:
    """What the import did (or would do) with one certificate."""

    name: str
    action: str  # "import", "skip" (already there) or "refuse" (cannot be mapped)
    provider: str = ""
    new_provider: bool = False
    account: str = ""  # "imported", "kept", "" (none found)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    """The outcome of ``import``: one item per certificate, plus notes and the stop hint."""

    client: str
    path: str
    dry_run: bool
    items: tuple[ImportItem, ...] = ()
    notes: tuple[str, ...] = ()
    stop_hint: str = ""
