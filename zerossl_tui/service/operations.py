"""The operations of ``CertificateService`` beyond ordering: import from other clients, verification of
what is served, notifications, metrics and DNS providers. A mixin: ``CertificateService`` provides the
settings, the storage and ``deps()``; this module never imports ``service.service``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..core.models import CertificateSpec, CertificateView, DnsSpec, RenewalState
from ..core.settings import Settings, with_dns
from ..core.validate import build_dns
from . import dns
from .deps import Deps, Progress, quiet, unlogged

if TYPE_CHECKING:  # types only: `list` imports this module and needs neither import nor verify
    from ..core.clock import Clock
    from ..core.imported import ImportItem, ImportReport
    from ..core.served import EndpointCheck
    from ..storage.paths import Paths
    from .metrics import Snapshot


class OperationsApi:
    """Import, verify, notify, metrics and DNS providers (mixed into ``CertificateService``)."""

    paths: Paths
    clock: Clock
    _lock: threading.RLock
    _settings: Settings

    @property
    def store(self) -> Any:
        raise NotImplementedError

    @property
    def journal(self) -> Any:
        raise NotImplementedError

    def deps(self, progress: Progress = quiet) -> Deps:
        raise NotImplementedError

    def reload(self) -> Settings:
        raise NotImplementedError

    def _save(self, settings: Settings) -> None:
        raise NotImplementedError

    def certificate(self, name: str) -> CertificateSpec:
        raise NotImplementedError

    def views(self, names: Iterable[str] | None = None) -> list[CertificateView]:
        raise NotImplementedError

    def import_from(self, client: str, path: str = "", *, dry_run: bool = False,
                    on_item: Callable[[int, int, ImportItem], None] | None = None, dns: str = "") -> ImportReport:
        """Adopt the certificates, keys and accounts of certbot, lego or acme.sh (see ``imports.py``);
        ``on_item(done, total, item)`` is told about each certificate as it is decided; ``dns`` is the DNS
        provider for wildcards and certificates the other client proved over DNS."""
        from ..engine.importers import read_store
        from .imports import import_store

        found = read_store(client, path)
        with self._lock:
            return import_store(found, self.reload(), self.store, self._save, journal=self.journal,
                                now=self.clock.now(), dry_run=dry_run, on_item=on_item, dns=dns)

    def verify(self, names: Iterable[str] | None = None) -> list[EndpointCheck]:
        """Compare what each ``verify`` endpoint serves with the current certificate (see ``verify.py``);
        the results are recorded for metrics, notifications and the dashboard."""
        from .verify import record_checks, verify_certificates

        chosen = [self.certificate(n) for n in (names or sorted(self._settings.certificates))]
        checks = verify_certificates(chosen, self.store)
        if checks:
            record_checks(self.paths.data_dir, checks, self.clock.now().isoformat())
        return checks

    def notify_urls(self) -> list[str]:
        """The notification URLs (secrets: show them through ``engine.notify.mask`` only)."""
        from ..storage.settings_file import load_notify_urls

        return load_notify_urls(self.paths.secrets_file)

    def add_notify_url(self, url: str) -> int:
        """Keep an apprise URL in secrets.toml; returns its number."""
        from .notify import add_url

        with self._lock:
            return add_url(self.paths, url)

    def remove_notify_url(self, number: int) -> str:
        """Forget URL ``number`` (1-based); returns it masked."""
        from .notify import remove_url

        with self._lock:
            return remove_url(self.paths, number)

    def notify_test(self) -> list[str]:
        """Send a test message to every URL; returns a line per target that failed."""
        from ..engine.notify import send

        return send(self.notify_urls(), "zerossl-tui test", "Notifications from zerossl-tui reach you.")

    def notify_check(self, log: Callable[[str], None] = unlogged) -> list[str]:
        """Send the notifications that are due for every certificate (see ``notify.py``); returns their
        titles. Call it after orders, after ``verify``, and periodically; it never raises for a target: a
        target that failed is one line to ``log`` (nothing by default: pass the CLI's or daemon's log)."""
        from .notify import config_for, facts_from, notify_all
        from .verify import load_checks

        states, served = self.journal.all_states(), load_checks(self.paths.data_dir)
        facts = []
        for name, spec in sorted(self._settings.certificates.items()):
            state = states.get(name) or RenewalState()
            mine = {e: c for e, c in served.get(name, {}).items() if e in spec.verify}
            facts.append(facts_from(name, self.store.current_meta(name), state.failures, state.last_error, mine))
        return notify_all(facts, config_for(self._settings, self.paths, log), self.clock.now())

    def metrics_snapshot(self) -> Snapshot:
        """What ``/metrics`` shows right now (see ``metrics.py``)."""
        from .metrics import snapshot_of
        from .verify import load_checks

        failures = {name: state.failures for name, state in self.journal.all_states().items()}
        verify = {name: spec.verify for name, spec in self._settings.certificates.items()}
        return snapshot_of(self.views(), failures, self.journal.order_counts(), load_checks(self.paths.data_dir),
                           verify)

    # -- DNS providers for dns-01 (see dns.py) ---------------------------------------------------

    def set_dns(self, name: str, **values: Any) -> DnsSpec:
        """Add or update the DNS provider ``name`` (``[dns.NAME]``); secrets go to secrets.toml. Nothing is
        contacted: `dns test` does that."""
        with self._lock:
            settings = self.reload()
            spec = build_dns(name, settings.dns.get(name), **values)
            dns.check_type_options(spec)
            self._save(with_dns(settings, spec))
            return spec

    def remove_dns(self, name: str) -> None:
        """Forget the DNS provider ``name``; refused while a certificate uses it."""
        with self._lock:
            settings = self.reload()
            dns.check_removable(settings, name)
            self._save(replace(settings, dns={k: v for k, v in settings.dns.items() if k != name}))

    def test_dns(self, name: str, domain: str, *, progress: Progress = quiet,
                 cancel: threading.Event | None = None) -> str:
        """Put a random TXT at ``_acme-challenge.DOMAIN`` through ``name``, wait until visible, remove it;
        returns the record's name. Each step is a progress event."""
        return dns.test_dns(self.deps(progress), name, domain, cancel or threading.Event())

    def remove_dns_leftovers(self, names: Iterable[str] | None = None) -> list[str]:
        """Remove the dns-01 records that killed orders left in their zones (also done by ``heal``)."""
        return dns.remove_leftovers(self.deps(), names)
