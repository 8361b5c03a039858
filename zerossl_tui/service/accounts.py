"""Accounts per provider: open an ACME session with the stored key, keep what the CA tells us."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from ..core.errors import Cancelled, LockBusy, UsageError
from ..core.models import EventKind, ProviderSpec
from .deps import Deps

if TYPE_CHECKING:
    from ..engine.pool import SharedCA
    from ..engine.session import AccountState, AcmeSession

EngineProgress = Callable[[EventKind, str, float | None], None]
ACCOUNT_LOCK_WAIT = 120.0


def _ignore(kind: EventKind, message: str, retry_after: float | None = None) -> None:
    """Progress sink for account-only operations."""


def provider_with_cache(deps: Deps, name: str) -> ProviderSpec:
    """The provider's settings, with ZeroSSL EAB credentials fetched earlier when none are configured."""
    spec = deps.settings.provider(name)
    if spec.has_eab:
        return spec
    kid, hmac_key = deps.store.load_eab_cache(name)
    if kid and hmac_key:
        return replace(spec, eab_kid=kid, eab_hmac_key=hmac_key)
    return spec


def open_session(
    deps: Deps,
    provider: str,
    progress: EngineProgress = _ignore,
    cancel: threading.Event | None = None,
    spec: ProviderSpec | None = None,
    shared: SharedCA | None = None,
) -> AcmeSession:
    """An ACME session for ``provider`` (or ``spec``, not yet saved) with its stored account (if any);
    with ``shared``, over the connections, directory and nonces of the other orders of the same run."""
    from ..engine.session import AccountState, AcmeSession

    spec = spec or provider_with_cache(deps, provider)
    key_pem, url = deps.store.load_account(provider, spec.directory)
    account = AccountState(key_pem=key_pem, url=url) if key_pem else None
    return AcmeSession(
        spec, account, progress=progress, cancel=cancel or threading.Event(), clock=deps.clock,
        zerossl_api=deps.zerossl_api, request_timeout=deps.settings.renewal.request_timeout, shared=shared,
    )


class SharedSessions:
    """One ``SharedCA`` per provider for the orders of one run (a `renew` over many certificates): one
    connection pool, one directory fetch and one nonce pool per CA instead of one per order.

    Also the CA's account-wide rate limit: once it answered rateLimited with a Retry-After, the orders of
    the run still queued for that provider are not sent until then (Let's Encrypt's 300 new orders per 3
    hours is per account: the 301st order of a 10,000-certificate run, and every one after it, would only
    be refused and count against us)."""

    def __init__(self, connections: int, monotonic: Callable[[], float]) -> None:
        self.connections = connections
        self.monotonic = monotonic
        self._cas: dict[str, SharedCA] = {}
        self._holds: dict[str, float] = {}
        self._steps: dict[str, float] = {}  # the CA's last Retry-After: its pace
        self._slots: dict[str, float] = {}
        self._guard = threading.Lock()

    def hold(self, provider: str, seconds: float) -> None:
        """Send nothing more to ``provider`` for ``seconds`` (its CA rate-limited the account)."""
        with self._guard:
            self._holds[provider] = max(self._holds.get(provider, 0.0), self.monotonic() + seconds)
            self._steps[provider] = seconds

    def held(self, provider: str) -> float:
        """Seconds left of the hold on ``provider`` (0 when none)."""
        with self._guard:
            return max(0.0, self._holds.get(provider, 0.0) - self.monotonic())

    def slot(self, provider: str) -> float:
        """Seconds from now until a held order may be tried: each one a Retry-After later than the one before,
        so that the orders held back do not all come back at once (one refused retry each, a herd)."""
        with self._guard:
            now = self.monotonic()
            at = max(self._holds.get(provider, now), self._slots.get(provider, now)) + self._steps.get(provider, 0)
            self._slots[provider] = at
            return at - now

    def get(self, provider: str, directory: str) -> SharedCA:
        """The shared state of ``provider``'s CA at ``directory`` (made on first use)."""
        from ..engine.pool import SharedCA

        with self._guard:
            if provider not in self._cas:
                self._cas[provider] = SharedCA(self.connections, directory)
            return self._cas[provider]

    def close(self) -> None:
        """Close every kept-alive connection."""
        with self._guard:
            for shared in self._cas.values():
                shared.close()
            self._cas.clear()


def ensure_account(deps: Deps, provider: str, session: AcmeSession) -> AccountState:
    """Register or reuse the account, and store whatever changed (key, URL, fetched EAB).

    Under a per-provider lock across threads and processes: orders started together must not each
    register an account of their own (a renewal's ``replaces`` is only accepted from the account that
    ordered the certificate being replaced).
    """
    from ..engine.session import AccountState

    if session.account is not None and session.account.url:
        return session.ensure_account()
    lock = deps.locker.account(provider)
    if not lock.acquire(timeout=ACCOUNT_LOCK_WAIT, cancel=session.cancel):
        if session.cancel.is_set():
            raise Cancelled(f"{provider}: cancelled while waiting for the account to be registered")
        raise LockBusy(f"{provider}: another process is registering the account; try again shortly")
    try:
        directory = session.provider.directory
        key_pem, url = deps.store.load_account(provider, directory)  # it may have just been registered
        if key_pem and url:
            session.account = AccountState(key_pem=key_pem, url=url)
        account = session.ensure_account()
        remember_account(deps, provider, account, directory)
        return account
    finally:
        lock.release()


def remember_account(deps: Deps, provider: str, account: AccountState, directory: str) -> None:
    """Keep the account key and URL (for the directory it belongs to), and cache EAB credentials that
    were fetched from ZeroSSL."""
    old_key, old_url = deps.store.load_account(provider, directory)
    if account.key_pem != old_key or account.url != old_url:
        deps.store.save_account(provider, account.key_pem, account.url, directory)
    if account.eab_kid and account.eab_hmac_key and not has_configured_eab(deps, provider):
        deps.store.save_eab_cache(provider, account.eab_kid, account.eab_hmac_key)


def has_configured_eab(deps: Deps, provider: str) -> bool:
    """True when the settings hold EAB values for ``provider`` (then nothing fetched needs caching)."""
    spec = deps.settings.providers.get(provider)
    return spec is not None and spec.has_eab


def test_provider(deps: Deps, provider: str, spec: ProviderSpec | None = None) -> str:
    """Register (or find) the account; return its URL. ``spec`` tests values before they are saved."""
    session = open_session(deps, provider, spec=spec)
    return ensure_account(deps, provider, session).url


def rollover(deps: Deps, provider: str) -> str:
    """New account key at the CA (RFC 8555 7.3.5), stored only once the CA accepted it."""
    _require_account(deps, provider, "roll over")
    session = open_session(deps, provider)
    ensure_account(deps, provider, session)
    account = session.rollover()
    remember_account(deps, provider, account, session.provider.directory)
    return account.url


def deactivate(deps: Deps, provider: str) -> str:
    """Deactivate the account; forget its URL so that the next order registers afresh."""
    _require_account(deps, provider, "deactivate")
    session = open_session(deps, provider)
    account = ensure_account(deps, provider, session)
    session.deactivate()
    deps.store.save_account(provider, b"", "")  # a deactivated key can never register again
    return account.url


def _require_account(deps: Deps, provider: str, what: str) -> None:
    """UsageError when ``provider`` has no account key stored: registering one only to roll it over or
    deactivate it would leave an account at the CA that nobody asked for."""
    key_pem, _ = deps.store.load_account(provider, provider_with_cache(deps, provider).directory)
    if not key_pem:
        raise UsageError(f"{provider} has no registered account, so there is nothing to {what} "
                         "(the next order registers one)")
