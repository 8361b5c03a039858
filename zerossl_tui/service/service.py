"""CertificateService: the one API that the dashboard and the command line call.

It owns the settings file and the storage backend, and builds one ``Deps`` per operation (a settings
snapshot, the storage interfaces, the clock, the progress sink) for the modules that do the work; none of
them imports this module.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.clock import SYSTEM_CLOCK, Clock
from ..core.dnsconf import certificate_dns_problem
from ..core.errors import ConfigError, UsageError
from ..core.interfaces import Lock
from ..core.models import (
    CertificateSpec,
    CertificateView,
    CertInfo,
    CertStatus,
    OrderRecord,
    ProviderSpec,
    RenewalState,
)
from ..core.policy import next_renewal, status_of
from ..core.settings import Settings, validate_table, with_certificate, with_provider
from ..core.validate import build_certificate, build_provider
from ..storage.backend import Backend
from ..storage.paths import Paths, resolve_paths
from ..storage.settings_digest import settings_fingerprint
from ..storage.settings_file import load_settings, save_settings
from . import accounts
from .deps import (
    ZEROSSL_API,
    Deps,
    ManualDns,
    Progress,
    Running,
    damage_of,
    find_certificate,
    info_from_meta,
    quiet,
)
from .operations import OperationsApi
from .storage_admin import UseResult, open_backend, store_held, switch, target_settings
from .storage_admin import host_id as storage_host_id

if TYPE_CHECKING:
    from ..storage.postgres.status import StorageStatus

__all__ = ["CertificateService", "Progress", "info_from_meta"]

if TYPE_CHECKING:
    from .orders import RenewResult
    from .stamp import Stamp


class CertificateService(OperationsApi):
    """Settings, views and operations over every managed certificate. Thread-safe."""

    def __init__(
        self, config: str | None = None, *, clock: Clock = SYSTEM_CLOCK, zerossl_api: str | None = None
    ) -> None:
        self.clock = clock
        # ZEROSSL_TUI_ZEROSSL_API points the EAB fetch at another ZeroSSL REST API (a stand-in in tests).
        self.zerossl_api = zerossl_api or os.environ.get("ZEROSSL_TUI_ZEROSSL_API") or ZEROSSL_API
        self._config = config
        self._lock = threading.RLock()
        self._backend: Backend | None = None
        self._backend_lock = threading.Lock()  # apart from _lock: settings writes must not wait for a database
        self.running = Running()
        self.manual_dns: ManualDns | None = None  # set by the UI or CLI: who creates `manual` DNS records
        self.paths: Paths = resolve_paths(config)
        self._fingerprint = settings_fingerprint(self.paths)  # before reading: a write meanwhile differs
        self._settings = load_settings(self.paths)
        self.paths = resolve_paths(config, self._settings.general.data_dir)
        if self.paths.data_dir.exists() and not self.paths.data_dir.is_dir():
            raise ConfigError(f"data_dir {self.paths.data_dir} is not a folder: point [general] data_dir "
                              "(or ZEROSSL_TUI_DATA_DIR) at a folder")

    # -- settings -------------------------------------------------------------------------------

    @property
    def config_file(self) -> Path:
        """The settings file this service reads and writes."""
        return self.paths.config_file

    @property
    def settings(self) -> Settings:
        """The current settings (immutable snapshot)."""
        return self._settings

    def reload(self) -> Settings:
        """Read the settings file again (another process may have changed it); when neither file changed
        (same bytes), the settings already parsed are kept."""
        with self._lock:
            fingerprint = settings_fingerprint(self.paths)
            if fingerprint != self._fingerprint:
                self._settings = load_settings(self.paths)
                self._fingerprint = fingerprint
            return self._settings

    def _save(self, settings: Settings) -> None:
        save_settings(self.paths, settings)
        self._settings = settings
        self._fingerprint = b""  # the next reload reads what was written (and anything written since)

    def certificate(self, name: str) -> CertificateSpec:
        """A configured certificate, or NotFound naming it."""
        return find_certificate(self._settings, name)

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
            problem = certificate_dns_problem(spec, settings.dns)
            if problem:
                raise UsageError(f"certificate {name!r}: {problem[0]} {problem[1]}")
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
            if spec.ca_bundle:
                _check_ca_bundle(spec.ca_bundle)
            if test:
                accounts.test_provider(self.deps(), name, spec)
            self._save(with_provider(settings, spec))
            return spec

    def update_table(self, table: str, values: dict[str, Any]) -> Settings:
        """Change [general], [renewal] or [ui] values (validated against the schema)."""
        with self._lock:
            settings = self.reload()
            checked = validate_table(table, {**settings.table(table), **values})
            new = replace(settings, **{table: checked})
            self._save(new)
            return new

    # -- storage and dependencies ---------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """The backend [storage] names (opened on first use, once even when threads race to it; orders
        left running by a dead process are closed). A fleet database that is away raises StorageError and
        the next use tries again."""
        with self._backend_lock:
            if self._backend is None:
                self._backend = open_backend(self._settings.storage, self.paths, self.clock.now())
            return self._backend

    @property
    def host_id(self) -> str:
        """This host's id in a fleet ([storage] host_id, else the host name)."""
        return storage_host_id(self._settings.storage)

    def close(self) -> None:
        """Close the backend if it was opened (a fleet backend gives back its locks and connections)."""
        with self._backend_lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def use_storage(self, backend: str, *, dsn: str | None = None, host_id: str | None = None,
                    key_file: str | None = None) -> UseResult:
        """`storage use`: switch to ``backend``, copying and verifying what the current one holds first;
        [storage] is written only once the copy checked out. Running it twice changes nothing."""
        with self._lock:
            settings = self.reload()
            target = target_settings(settings.storage, backend, dsn, host_id, key_file)
            with store_held(self.paths, settings.certificates, lambda: self.backend):
                result = switch(settings, target, self.paths, self.clock.now(), lambda: self.backend)
                if result.settings_changed:
                    self._save(replace(settings, storage=target))
            if result.settings_changed:
                self.close()
            return result

    def storage_status(self) -> StorageStatus:
        """`storage status`: backend, schema version, hosts with what they serve, locks held."""
        from ..storage.postgres.status import storage_status

        return storage_status(self.backend)

    def served_by(self) -> dict[str, dict[str, str]] | None:
        """certificate -> {host -> serial it serves}; None outside a fleet."""
        if self._settings.storage.backend != "postgresql":
            return None  # before importing psycopg: `list --json` on the filesystem never needs it (0.2 s)
        from ..storage.postgres import fleet_hosts

        hosts = fleet_hosts(self.backend)
        if hosts is None:
            return None
        out: dict[str, dict[str, str]] = {name: {} for name in self._settings.certificates}
        for host in hosts.hosts():
            for cert, serial in host.served.items():
                out.setdefault(cert, {})[host.host_id] = serial
        return out

    @property
    def store(self) -> Any:
        """The certificate store of the backend."""
        return self.backend.store

    @property
    def journal(self) -> Any:
        """The order journal of the backend."""
        return self.backend.journal

    def lock_for(self, name: str) -> Lock:
        """The cross-process lock of one certificate."""
        return self.backend.locker.certificate(name)

    def deps(self, progress: Progress = quiet) -> Deps:
        """What one operation needs, with the settings as they are now."""
        backend = self.backend
        return Deps(self._settings, backend.store, backend.journal, backend.locker, backend.challenges,
                    self.clock, progress, self.zerossl_api, self.running, self.manual_dns)

    # -- views ----------------------------------------------------------------------------------

    def current_info(self, name: str) -> CertInfo | None:
        """What the current stored certificate says, from its metadata (no PEM parsing)."""
        return info_from_meta(self.store.current_meta(name))

    def data_stamp(self) -> Stamp | None:
        """A cheap stamp of what other processes change under the rows (``stamp.py``); None on PostgreSQL."""
        from .stamp import data_stamp

        return data_stamp(self.paths, self.settings.storage.backend, self.journal)

    def views(self, names: Iterable[str] | None = None) -> list[CertificateView]:
        """One row per certificate: status, expiry, next renewal and why, last result."""
        now = self.clock.now()
        states = self.journal.all_states()
        last = self.journal.last_results()  # (result, error) only: no OrderRecord per certificate
        chosen = list(names) if names is not None else sorted(self._settings.certificates)
        specs = [self.certificate(n) for n in chosen]
        metas = self.store.current_metas(chosen)  # one index read, not two files per certificate
        running, view = self.running.snapshot(), self.view_of
        return [view(s, now, states.get(s.name), last.get(s.name), metas.get(s.name), running) for s in specs]

    @staticmethod
    def view_of(
        spec: CertificateSpec, now: datetime, state: RenewalState | None, last: tuple[str, str] | None,
        meta: dict[str, Any] | None, running: frozenset[str],
    ) -> CertificateView:
        """One row from its inputs; ``last``: (result, error detail) of the newest order."""
        info = info_from_meta(meta)
        state = state or _NO_STATE
        result, detail = last or ("", "")
        decision = next_renewal(info, state, now)
        view = CertificateView(
            spec=spec,
            status=status_of(info, state, now, spec.name in running or result == "running", decision),
            info=info,
            next_renewal=decision.at,
            renewal_source=decision.source,
            last_result=result,
            last_error=state.last_error or detail,
            explanation=state.ari_explanation,
            ari_window=_window(state),
        )
        damage = damage_of(meta)
        return _damaged(view, damage) if damage else view

    def orders(self, name: str, limit: int = 50) -> list[OrderRecord]:
        """A certificate's orders, newest first, with their events."""
        self.certificate(name)
        return self.journal.orders(name, limit)

    # -- operations (see orders.py and accounts.py) ----------------------------------------------

    def issue(self, name: str, *, progress: Progress = quiet, cancel: threading.Event | None = None) -> CertInfo:
        """Obtain a certificate now, whatever its state."""
        from . import orders  # lazily: `list` and the dashboard's first paint need none of the order flow

        self.certificate(name)
        info = orders.run_order(self.deps(progress), name, force=True, cancel=cancel or threading.Event())
        assert info is not None, "a forced order either issues or raises"
        return info

    def renew(
        self, names: Iterable[str] | None = None, *, force: bool = False, progress: Progress = quiet,
        cancel: threading.Event | None = None, wait_for_held: bool = True,
    ) -> list[RenewResult]:
        """Renew the named (default: all) due certificates, all with ``force``; see ``orders.renew_many``."""
        from . import orders

        return orders.renew_many(self.deps(progress), names, force=force, cancel=cancel or threading.Event(),
                                 wait_for_held=wait_for_held)

    def due(self, names: Iterable[str] | None = None) -> list[str]:
        """The certificates (of ``names``, default all) whose renewal moment has come."""
        from . import orders

        return orders.due_names(self.deps(), sorted(self._settings.certificates) if names is None else names)

    def heal(self, names: Iterable[str] | None = None, *, progress: Progress = quiet) -> None:
        """Finish deployments that a killed process began, and remove the dns-01 records it left (those of
        certificates whose lock is free); what is done is reported to ``progress``."""
        from .deploys import heal_deploys

        heal_deploys(self.deps(progress), names)

    def refresh_ari(self, cancel: threading.Event, log: Callable[[str], None],
                    pause: Callable[[float], bool] | None = None) -> bool:
        """Ask the CA's renewal information for every certificate whose time to ask has come, paced (see
        ``service.ari``); False when ``pause`` or ``cancel`` stopped the pass early."""
        from .ari import refresh_due

        return refresh_due(self.deps(), cancel, log, pause)

    def revoke(self, name: str, reason: int = 0, *, progress: Progress = quiet) -> CertInfo:
        """Revoke the current certificate of ``name``."""
        from . import orders

        return orders.revoke(self.deps(progress), name, reason)

    def rollover(self, provider: str) -> str:
        """Replace the account key of ``provider`` (RFC 8555 7.3.5); returns the account URL."""
        return accounts.rollover(self.deps(), provider)

    def deactivate(self, provider: str) -> str:
        """Deactivate the account at ``provider``; a later order registers a new one."""
        return accounts.deactivate(self.deps(), provider)

    def test_provider(self, provider: str, spec: ProviderSpec | None = None) -> str:
        """Register (or find) the account at ``provider``; returns its URL or raises the CA's error."""
        return accounts.test_provider(self.deps(), provider, spec)

    def mark_running(self, name: str, running: bool) -> None:
        """Note that an order for ``name`` runs in this process (views show it as issuing)."""
        self.running.mark(name, running)


_NO_STATE = RenewalState()  # shared by every row without a stored state (frozen: 10,000 fewer objects)


def _damaged(view: CertificateView, damage: str) -> CertificateView:
    """A row whose current version is damaged: the damage named as its error; without facts from the
    certificate itself, failed (not never-issued: something is there and needs the fix)."""
    keep = view.info is not None or view.status == CertStatus.ISSUING
    status = view.status if keep else CertStatus.FAILED
    return replace(view, status=status, last_error=damage, damage=damage)


def _window(state: RenewalState) -> tuple[datetime, datetime] | None:
    """The CA's ARI window as the views show it, when there is one."""
    if state.ari_window_start is None or state.ari_window_end is None:
        return None
    return state.ari_window_start, state.ari_window_end


def _check_ca_bundle(path: str) -> None:
    """UsageError unless ``path`` is a readable file holding a PEM certificate: a wrong file would only show
    later, as a CA whose TLS certificate is 'not trusted' although ca_bundle is set."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise UsageError(f"ca_bundle {path!r} is not a readable file: give a PEM file") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise UsageError(f"ca_bundle {path!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----): "
                         "give the CA's certificate file")
