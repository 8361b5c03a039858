"""Adopting what another ACME client manages: settings, the first stored version, the account.

Nothing is issued: the other client's current certificate and key become the first stored version, its
account key and URL become the provider's account (so ARI ``replaces`` and rate limits carry on), and the
web server keeps reading the files it reads today, which are named as ``certfile``/``keyfile``/``chainfile``.

certbot's ``live/NAME/*.pem`` are symlinks into ``archive/``. The first deployment here replaces each
symlink, atomically, by a regular file holding the new certificate (``os.replace`` on the link itself;
``archive/`` is never written). The web server sees the new files at the same paths, and certbot, which
insists on its symlinks, refuses to renew that lineage from then on: two clients can never fight over it.

Order of writes, so that a crash at any point is repaired by running the import again: the stored version,
then the account, then the settings (a certificate is "imported" once it is in the settings), then one
journal row per certificate, an order that ended "imported", whose event says where it came from (`log`,
the dashboard's order log); it is no issuance, and metrics do not count it as an order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.errors import UsageError
from ..core.imported import DNS_HINT, ForeignAccount, ForeignCert, ForeignStore, ImportItem, ImportReport
from ..core.interfaces import CertificateStore, OrderJournal
from ..core.models import CertificateSpec, EventKind
from ..core.settings import BUILTIN_PROVIDERS, Settings, with_certificate, with_provider
from ..core.validate import build_certificate, build_provider

SaveSettings = Callable[[Settings], None]
ItemDone = Callable[[int, int, ImportItem], None]
_SHELL = re.compile(r"[;&|<>$`(){}*?~]")
_NEW_PROVIDER_NOTE = ("new provider {name} for {directory}: if that CA's HTTPS uses a private certificate, "
                      "add --ca-bundle with `provider add {name}`")


@dataclass
class _Run:
    """What this run has decided so far (a dry run writes nothing, yet must plan consistently)."""

    settings: Settings
    store: CertificateStore
    dry_run: bool
    dns: str = ""  # the DNS provider for certificates that need dns-01 ("" = none given)
    accounts: dict[str, str] = field(default_factory=dict)  # provider -> account URL planned this run
    adopted: list[tuple[ForeignCert, str]] = field(default_factory=list)  # (certificate, its serial) stored


def import_store(found: ForeignStore, settings: Settings, store: CertificateStore, save: SaveSettings, *,
                 journal: OrderJournal, now: datetime, dry_run: bool = False,
                 on_item: ItemDone | None = None, dns: str = "") -> ImportReport:
    """Adopt every certificate of ``found`` that is not managed yet; ``save`` writes the settings, then
    ``journal`` gets a row per adopted certificate; ``on_item(done, total, item)`` hears about each
    certificate as it is decided (for a progress bar). ``dns`` names the DNS provider that wildcards and
    certificates the other client proved over DNS renew through (dns-01)."""
    if dns and dns not in settings.dns:
        known = ", ".join(sorted(settings.dns)) or "none yet"
        raise UsageError(f"no DNS provider named {dns!r}: add it with `dns add` (configured: {known})")
    run = _Run(settings, store, dry_run, dns)
    items = []
    for cert in found.certs:
        items.append(_one(run, cert, found.client))
        if on_item is not None:
            on_item(len(items), len(found.certs), items[-1])
    items += [ImportItem(name, "refuse", notes=(why,)) for name, why in found.refused]
    if not dry_run and run.settings is not settings:
        save(run.settings)
    for cert, serial in run.adopted:
        _journal_import(journal, now, found.client, cert, serial)
    return ImportReport(found.client, found.path, dry_run, tuple(items), found.notes, found.stop_hint)


def _one(run: _Run, cert: ForeignCert, client: str) -> ImportItem:
    existing = run.settings.certificates.get(cert.name)
    if existing is not None:
        why = "already managed" if set(existing.domains) == set(cert.domains) else \
            f"a different certificate is already named {cert.name!r} (rename it, then import again)"
        return ImportItem(cert.name, "skip", existing.provider, notes=(why,))
    before = (run.settings, dict(run.accounts))
    try:
        provider, new, account = _provider_for(run, cert, client)
        spec = build_certificate(cert.name, cert.domains, provider, **_options(cert, run.dns))
    except UsageError as exc:
        run.settings, run.accounts = before  # a provider planned for this certificate alone is not kept
        hint = (f"import again with --dns NAME (a DNS provider from `dns add`) to renew {cert.name} with dns-01",) \
            if _needs_dns(cert) and not run.dns and not any(n.endswith(DNS_HINT) for n in cert.notes) else ()
        return ImportItem(cert.name, "refuse", notes=(*cert.notes, exc.message, *hint))
    notes = [n for n in cert.notes if not (spec.challenge == "dns-01" and n.endswith(DNS_HINT))]
    notes += _warnings(run.settings, spec)
    if new and not run.settings.provider(provider).ca_bundle:
        notes.append(_NEW_PROVIDER_NOTE.format(name=provider, directory=run.settings.provider(provider).directory))
    if not run.dry_run:
        run.adopted.append((cert, _store_version(run.store, cert, provider)))
        _store_account(run, provider, cert.account if account == "imported" else None)
    run.settings = with_certificate(run.settings, spec)
    return ImportItem(cert.name, "import", provider, new, account, tuple(notes))


def _warnings(settings: Settings, spec: CertificateSpec) -> list[str]:
    """What will go wrong at the next renewal unless the user acts: wildcards, shell syntax in a hook."""
    out = []
    if any(d.startswith("*.") for d in spec.domains) and spec.challenge != "dns-01":
        out.append("wildcard names need dns-01: configure it with `edit` before the next renewal")
    if spec.deploy_hook and not settings.table("renewal")["hook_shell"] and _SHELL.search(spec.deploy_hook):
        out.append(f"deploy hook {spec.deploy_hook!r} uses shell syntax, but hooks run without a shell: set "
                   "[renewal] hook_shell = true, or put the commands in a script")
    return out


def _needs_dns(cert: ForeignCert) -> bool:
    """A wildcard, or a certificate the other client proved over DNS: it renews here with dns-01."""
    return cert.dns_challenge or any(d.startswith("*.") for d in cert.domains)


def _options(cert: ForeignCert, dns: str = "") -> dict[str, Any]:
    options: dict[str, Any] = {"key_type": cert.key_type, "certfile": cert.certfile, "keyfile": cert.keyfile,
                               "chainfile": cert.chainfile, "deploy_hook": cert.deploy_hook,
                               "reuse_key": cert.reuse_key or None}
    if dns and _needs_dns(cert):
        options.update(challenge="dns-01", dns=dns)
    elif cert.webroot:
        options["webroot"] = cert.webroot
    elif cert.http_port:
        options["http_port"] = cert.http_port
    return {k: v for k, v in options.items() if v not in ("", None)}


def _provider_for(run: _Run, cert: ForeignCert, client: str) -> tuple[str, bool, str]:
    """(provider name, whether it is new, account action) for ``cert``; UsageError when the CA is unknown."""
    candidates = _same_ca(run.settings, cert)
    for name in candidates:
        action = _account_fit(run, name, cert.account)
        if action is not None:
            return name, False, action
    like = run.settings.provider(candidates[0]) if candidates else None
    directory = cert.directory or (like.directory if like else "")
    if not directory:
        raise UsageError(f"the CA at {cert.server_host or '(unknown host)'} is not configured here and its "
                         "directory URL is not recorded: add it with `provider add NAME --directory URL`, "
                         "then import again")
    name = _new_provider(run, cert, client, directory, like.ca_bundle if like else "")
    return name, True, _account_fit(run, name, cert.account) or ""


def _same_ca(settings: Settings, cert: ForeignCert) -> list[str]:
    """Providers (configured first, then built-in) with the certificate's directory URL, or its host when
    the other client kept no URL (lego)."""
    directories = {name: spec.directory for name, spec in settings.providers.items()}
    directories.update({n: d for n, d in BUILTIN_PROVIDERS.items() if n not in directories})
    if cert.directory:
        return [n for n, d in directories.items() if d.rstrip("/") == cert.directory.rstrip("/")]
    from urllib.parse import urlsplit

    return [n for n, d in directories.items() if cert.server_host and urlsplit(d).netloc == cert.server_host]


def _account_fit(run: _Run, provider: str, account: ForeignAccount | None) -> str | None:
    """"imported" when ``provider`` has no account yet, "kept" when it has this one or none was found,
    None when it holds another account (then another provider must carry the imported one)."""
    directory = run.settings.provider(provider).directory
    _, url = run.store.load_account(provider, directory)
    url = run.accounts.get(provider, url)
    if account is None:
        return "kept" if url else ""
    if not url:
        run.accounts[provider] = account.url
        return "imported"
    return "kept" if url == account.url else None


def _new_provider(run: _Run, cert: ForeignCert, client: str, directory: str, ca_bundle: str) -> str:
    """A provider for the other client's account when the CA's provider here holds another account (it
    keeps that provider's CA bundle), or when the CA is not configured here at all."""
    base = re.sub(r"[^a-z0-9.-]+", "-", f"{client}-{cert.server_host or 'ca'}".lower()).strip("-.")[:56]
    name, n = base, 1
    while name in run.settings.providers or name in BUILTIN_PROVIDERS:
        n += 1
        name = f"{base}-{n}"
    email = cert.account.email if cert.account else ""
    spec = build_provider(name, None, directory=directory, email=email or None, ca_bundle=ca_bundle or None)
    run.settings = with_provider(run.settings, spec)
    return name


def _journal_import(journal: OrderJournal, now: datetime, client: str, cert: ForeignCert, serial: str) -> None:
    """The row that says where an adopted certificate came from: an order that ended "imported"."""
    order_id = journal.start_order(cert.name, now)
    source = f" ({cert.source})" if cert.source else ""
    journal.add_event(order_id, EventKind.IMPORTED.value, f"imported from {client}{source}: serial {serial}, "
                      "nothing issued; renewals continue here", now, None)
    journal.finish_order(order_id, "imported", now, serial=serial)


def _store_version(store: CertificateStore, cert: ForeignCert, provider: str) -> str:
    """The other client's current certificate as our first version (unless a run before stored it); its
    serial."""
    from ..engine.keys import parse_cert

    info = parse_cert(cert.cert_pem)
    meta = store.current_meta(cert.name) or {}
    if meta.get("serial") == info.serial:
        return info.serial
    store.save_version(cert.name, cert.key_pem, cert.cert_pem, cert.chain_pem, cert.fullchain_pem, {
        "serial": info.serial, "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(), "domains": list(info.domains), "issuer": info.issuer,
        "provider": provider, "key_type": cert.key_type, "imported_from": cert.source,
    })
    return info.serial


def _store_account(run: _Run, provider: str, account: ForeignAccount | None) -> None:
    if account is None:
        return
    directory = run.settings.provider(provider).directory
    key, url = run.store.load_account(provider, directory)
    if not (key and url):
        run.store.save_account(provider, account.key_pem, account.url, directory)

