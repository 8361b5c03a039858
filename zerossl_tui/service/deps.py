"""The one dependency object that the service hands to orders, accounts and ARI: a settings snapshot (so
one operation never sees the settings change under it), the four storage interfaces, the clock and the
progress sink. Helpers take it instead of the whole service, so they can be tested without one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..core.clock import Clock
from ..core.errors import NotFound, StorageError, ZtError
from ..core.interfaces import CertificateStore, ChallengeStore, Locker, OrderJournal
from ..core.models import CERT_FILE_META, DAMAGED_META, CertificateSpec, CertInfo, ProgressEvent
from ..core.schema import ZEROSSL_API
from ..core.settings import Settings

Progress = Callable[[ProgressEvent], None]
ManualDns = Callable[[str], Any]  # certificate name -> the person's view of a `manual` DNS provider (a ManualHook)


def quiet(_: ProgressEvent) -> None:
    """The progress sink of work nobody watches (healing, account-only operations)."""


def unlogged(_: str) -> None:
    """The log of a library call whose caller gave none: a service API never prints by itself."""


class Running:
    """Names of the certificates that this process is ordering right now (views show them as issuing)."""

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._guard = threading.Lock()

    def mark(self, name: str, running: bool) -> None:
        """Note that an order for ``name`` starts (True) or ends (False) here."""
        with self._guard:
            (self._names.add if running else self._names.discard)(name)

    def __contains__(self, name: object) -> bool:
        with self._guard:
            return name in self._names

    def snapshot(self) -> frozenset[str]:
        """The names as they are now (one lock for a view of 10,000 rows, not one per row)."""
        with self._guard:
            return frozenset(self._names)


@dataclass(frozen=True)
class Deps:
    """Everything an operation needs, fixed for its duration."""

    settings: Settings
    store: CertificateStore
    journal: OrderJournal
    locker: Locker
    challenges: ChallengeStore
    clock: Clock
    progress: Progress = quiet
    zerossl_api: str = ZEROSSL_API
    running: Running = field(default_factory=Running)
    manual_dns: ManualDns | None = None  # who creates records for a `manual` DNS provider (None: nobody)

    def certificate(self, name: str) -> CertificateSpec:
        """A configured certificate, or NotFound naming it."""
        return find_certificate(self.settings, name)

    def current_info(self, name: str) -> CertInfo | None:
        """What the current stored certificate says, from its metadata (no PEM parsing)."""
        return info_from_meta(self.store.current_meta(name))

    def with_progress(self, progress: Progress) -> Deps:
        """The same dependencies reporting to ``progress``."""
        return replace(self, progress=progress)


def find_certificate(settings: Settings, name: str) -> CertificateSpec:
    """A configured certificate, or NotFound naming it and what is configured."""
    spec = settings.certificates.get(name)
    if spec is None:
        known = ", ".join(sorted(settings.certificates)) or "none yet"
        raise NotFound(f"no certificate named {name!r} (configured: {known}); add it with `add`")
    return spec


def info_from_meta(meta: dict[str, Any] | None) -> CertInfo | None:
    """Rebuild CertInfo from a stored version's metadata; for a damaged meta.json, from the version's
    cert.pem itself (None when that does not parse either: never another version's facts)."""
    if meta and CERT_FILE_META in meta:
        return _info_from_cert(str(meta[CERT_FILE_META]))
    if not meta or "serial" not in meta:
        return None
    try:
        return CertInfo(
            serial=str(meta["serial"]),
            not_before=datetime.fromisoformat(meta["not_before"]),
            not_after=datetime.fromisoformat(meta["not_after"]),
            domains=tuple(meta.get("domains", ())),
            issuer=str(meta.get("issuer", "")),
            chain=str(meta.get("chain", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _info_from_cert(path: str) -> CertInfo | None:
    from ..engine.keys import parse_cert  # only for a damaged meta.json: list never imports cryptography

    try:
        with open(path, "rb") as handle:
            return parse_cert(handle.read())
    except (OSError, ZtError):
        return None


def damage_of(meta: dict[str, Any] | None) -> str:
    """The line naming a damaged file of the current version (see ``CertificateStore.current_meta``)."""
    return str(meta.get(DAMAGED_META, "")) if meta else ""


def refuse_damaged(store: CertificateStore, name: str) -> None:
    """Raise StorageError naming the damaged file when the current version of ``name`` is damaged, before
    anything about it is sent to a CA (a guess at the current version could revoke another one)."""
    check = getattr(store, "damage", None)  # the file store's; a database has no files to damage
    if check is not None and (problem := check(name)):
        raise StorageError(problem)
