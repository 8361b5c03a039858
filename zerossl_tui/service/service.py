"""CertificateService: the one API that the dashboard and the command line call."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from ..core.clock import SYSTEM_CLOCK, Clock
from ..core.errors import NotFound, UsageError
from ..core.models import (
    CertificateSpec,
    CertificateView,
    CertInfo,
    OrderRecord,
    ProgressEvent,
    ProviderSpec,
    RenewalState,
)
from ..core.policy import next_renewal, status_of
from ..core.settings import Settings, validate_table, with_certificate, with_provider
from ..core.validate import build_certificate, build_provider
from ..storage.journal import Journal
from ..storage.locks import CertLock
from ..storage.paths import Paths, resolve_paths
from ..storage.settings_file import load_settings, save_settings
from ..storage.store import CertStore

Progress = Callable[[ProgressEvent], None]
ZEROSSL_API = "https://api.zerossl.com"


def _quiet(_: ProgressEvent) -> None:
    """The default progress sink."""


class CertificateService:
    """Settings, views and operations over every managed certificate. Thread-safe."""

    def __init__(
        self, config: str | None = None, *, clock: Clock = SYSTEM_CLOCK, zerossl_api: str | None = None
    ) -> None:
        self.clock = clock
        # ZEROSSL_TUI_ZEROSSL_API points the EAB fetch at a stand-in of ZeroSSL's REST API (for tests).
        self.zerossl_api = zerossl_api or os.environ.get("ZEROSSL_TUI_ZEROSSL_API") or ZEROSSL_API
        self._config = config
        self._lock = threading.RLock()
        self._running: set[str] = set()
        self.paths: Paths = resolve_paths(config)
        self._settings = load_settings(self.paths)
        self.paths = resolve_paths(config, self._settings.general.get("data_dir", ""))

    # -- settings -------------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The current settings (immutable snapshot)."""
        return self._settings

    def reload(self) -> Settings:
        """Read the settings file again (another process may have changed it)."""
        with self._lock:
            self._settings = load_settings(self.paths)
            return self._settings

    def _save(self, settings: Settings) -> None:
        save_settings(self.paths, settings)
        self._settings = settings

    def certificate(self, name: str) -> CertificateSpec:
        """A configured certificate, or NotFound naming it."""
        spec = self._settings.certificates.get(name)
        if spec is None:
            known = ", ".join(sorted(self._settings.certificates)) or "none yet"
            raise NotFound(f"no certificate named {name!r} (configured: {known}); add it with `add`")
        return spec

    def add_certificate(
        self, name: str, domains: Iterable[str], provider: str | None = None, *, replace_existing: bool = False,
        **options: Any,
    ) -> CertificateSpec:
        """Validate and save a certificate. Adding a name that exists is an error unless replacing."""
        with self._lock:
            settings = self.reload()
            base = settings.certificates.get(name)
            if base is not None and not replace_existing:
                raise UsageError(f"certificate {name!r} already exists: use `edit` or choose another name")
            chosen = provider or (base.provider if base else settings.default_provider())
            settings.provider(chosen)
            spec = build_certificate(name, list(domains), chosen, base, **options)
            self._save(with_certificate(settings, spec))
            return spec

    def edit_certificate(self, name: str, domains: Iterable[str] | None = None, **options: Any) -> CertificateSpec:
        """Change some settings of an existing certificate."""
        base = self.certificate(name)
        return self.add_certificate(
            name, domains if domains is not None else base.domains, options.pop("provider", None),
            replace_existing=True, **options,
        )

    def remove_certificate(self, name: str) -> None:
        """Stop managing a certificate; its files stay where they are."""
        with self._lock:
            settings = self.reload()
            self.certificate(name)
            rest = {k: v for k, v in settings.certificates.items() if k != name}
            self._save(replace(settings, certificates=rest))

    def set_provider(self, name: str, *, test: bool = False, **values: str | None) -> ProviderSpec:
        """Add or update a provider (CA); secrets go to the 0600 secrets file. With ``test``, the account
        is registered first and nothing is saved unless the CA accepted it."""
        with self._lock:
            settings = self.reload()
            base = settings.providers.get(name)
            spec = build_provider(name, base, **values)
            if spec.ca_bundle and not Path(spec.ca_bundle).is_file():
                raise UsageError(f"ca_bundle {spec.ca_bundle!r} is not a readable file: give a PEM file")
            if test:
                self.test_provider(name, spec)
            self._save(with_provider(settings, spec))
            return spec

    def update_table(self, table: str, values: dict[str, Any]) -> Settings:
        """Change [general], [renewal] or [ui] values (validated against the schema)."""
        with self._lock:
            settings = self.reload()
            checked = validate_table(table, {**getattr(settings, table), **values})
            new = replace(settings, **{table: checked})
            self._save(new)
            return new

    # -- views ----------------------------------------------------------------------------------

    @cached_property
    def store(self) -> CertStore:
        """Certificates and accounts on disk."""
        return CertStore(self.paths.data_dir)

    @cached_property
    def journal(self) -> Journal:
        """Orders, events and renewal state; orders left running by a dead process are closed on open."""
        journal = Journal(self.paths.journal_path)
        journal.heal(self.clock.now())
        return journal

    def lock_for(self, name: str) -> CertLock:
        """The cross-process lock of one certificate."""
        return CertLock(self.paths.locks_dir, name)

    def current_info(self, name: str) -> CertInfo | None:
        """What the current stored certificate says, from its metadata (no PEM parsing)."""
        return info_from_meta(self.store.current_meta(name))

    def views(self, names: Iterable[str] | None = None) -> list[CertificateView]:
        """One row per certificate: status, expiry, next renewal and why, last result."""
        now = self.clock.now()
        states = self.journal.all_states()
        last = self.journal.last_orders()
        chosen = list(names) if names is not None else sorted(self._settings.certificates)
        return [self._view(self.certificate(n), now, states.get(n), last.get(n)) for n in chosen]

    def _view(
        self, spec: CertificateSpec, now: datetime, state: RenewalState | None, last: OrderRecord | None
    ) -> CertificateView:
        state = state or RenewalState()
        info = self.current_info(spec.name)
        running = spec.name in self._running or (last is not None and last.result == "running")
        decision = next_renewal(info, state, now)
        return CertificateView(
            spec=spec,
            status=status_of(info, state, now, running),
            info=info,
            next_renewal=decision.at,
            renewal_source=decision.source,
            last_result=last.result if last else "",
            last_error=state.last_error or (last.error_detail if last else ""),
            explanation=state.ari_explanation,
        )

    def orders(self, name: str, limit: int = 50) -> list[OrderRecord]:
        """A certificate's orders, newest first, with their events."""
        self.certificate(name)
        return self.journal.orders(name, limit)

    # -- operations (see orders.py) ------------------------------------------------------------

    def issue(self, name: str, *, progress: Progress = _quiet, cancel: threading.Event | None = None) -> CertInfo:
        """Obtain a certificate now, whatever its state."""
        from .orders import run_order

        info = run_order(self, name, force=True, progress=progress, cancel=cancel or threading.Event())
        assert info is not None, "a forced order either issues or raises"
        return info

    def renew(
        self, names: Iterable[str] | None = None, *, force: bool = False, progress: Progress = _quiet,
        cancel: threading.Event | None = None,
    ) -> list[tuple[str, CertInfo | None, Exception | None]]:
        """Renew the named (default: all) certificates that are due, or all of them with ``force``."""
        from .orders import renew_many

        return renew_many(self, names, force=force, progress=progress, cancel=cancel or threading.Event())

    def revoke(self, name: str, reason: int = 0, *, progress: Progress = _quiet) -> CertInfo:
        """Revoke the current certificate of ``name``."""
        from .orders import revoke

        return revoke(self, name, reason, progress)

    def rollover(self, provider: str) -> str:
        """Replace the account key of ``provider`` (RFC 8555 7.3.5); returns the account URL."""
        from .accounts import rollover

        return rollover(self, provider)

    def deactivate(self, provider: str) -> str:
        """Deactivate the account at ``provider``; a later order registers a new one."""
        from .accounts import deactivate

        return deactivate(self, provider)

    def test_provider(self, provider: str, spec: ProviderSpec | None = None) -> str:
        """Register (or find) the account at ``provider``; returns its URL or raises the CA's error."""
        from .accounts import test_provider

        return test_provider(self, provider, spec)

    def mark_running(self, name: str, running: bool) -> None:
        """Note that an order for ``name`` runs in this process (views show it as issuing)."""
        with self._lock:
            (self._running.add if running else self._running.discard)(name)


def info_from_meta(meta: dict[str, Any] | None) -> CertInfo | None:
    """Rebuild CertInfo from a stored version's meta.json."""
    if not meta or "serial" not in meta:
        return None
    try:
        return CertInfo(
            serial=str(meta["serial"]),
            not_before=datetime.fromisoformat(meta["not_before"]),
            not_after=datetime.fromisoformat(meta["not_after"]),
            domains=tuple(meta.get("domains", ())),
            issuer=str(meta.get("issuer", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None
