"""The order flow around the engine: lock, journal, store, deploy, hooks, backoff bookkeeping."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from ..core.errors import Cancelled, LockBusy, OperationError, RateLimited, StorageError, ZtError
from ..core.models import CertificateSpec, CertInfo, EventKind, RenewalState, StoredCert
from ..core.policy import is_due, retry_delay
from .accounts import SharedSessions, ensure_account, open_session, remember_account
from .ari import ari_meta, refresh_ari
from .deploys import heal_deploy, heal_deploys
from .deps import Deps, info_from_meta, refuse_damaged
from .dns import order_solver
from .hints import with_hint
from .order_hooks import deploy_hook, failure_hook
from .recorder import EventBatch, Recorder
from .responders import PublishedTokens, SharedResponder

if TYPE_CHECKING:
    from ..engine.dns import Dns01Solver
    from ..engine.session import AcmeSession
    from ..engine.solvers import Solver

LOCK_WAIT = 900.0
REVOKE_LOCK_WAIT = 30.0  # someone is waiting at the keyboard
RenewResult = tuple[str, CertInfo | None, Exception | None]


class Deferred(Exception):
    """``run_order(wait=False)``: another process (in a fleet, maybe another host) holds the lock."""


def run_order(deps: Deps, name: str, *, force: bool, cancel: threading.Event,
              sessions: SharedSessions | None = None, wait: bool = True, events: EventBatch | None = None
              ) -> CertInfo | None:
    """Issue ``name`` (when ``force`` or due) under its cross-process lock; None when not due. ``sessions``:
    the CA connections shared with the other orders of the same run; ``events``: the run's journal events
    batch. Without ``wait``, a lock held elsewhere raises Deferred at once."""
    spec = deps.certificate(name)
    lock = deps.locker.certificate(name)
    if not wait and not force and _renewed_elsewhere(deps, name):
        return None
    if not wait and not lock.try_acquire():
        raise Deferred(name)
    if not lock.acquire(timeout=LOCK_WAIT, cancel=cancel):
        if cancel.is_set():
            raise Cancelled(f"{name}: cancelled while waiting for another process to finish its order")
        raise LockBusy(f"{name}: another process has been issuing it for {LOCK_WAIT:.0f} s; try later")
    deps.running.mark(name, True)
    try:
        _heal_orphans(deps, name)
        heal_deploy(deps, name)
        # Look again after taking the lock: another process may have just renewed it.
        if not force and not is_due(deps.current_info(name), deps.journal.get_state(name), deps.clock.now()):
            return None
        return _issue_locked(deps, spec, cancel, sessions, events)
    finally:
        deps.running.mark(name, False)
        lock.release()


def _renewed_elsewhere(deps: Deps, name: str) -> bool:
    """In a fleet, True when ``name`` is no longer due: another host renewed it since this run began. Two
    reads instead of taking the lock, healing and reading under it (every host sees every name due)."""
    if getattr(deps.journal, "heal_orphans", None) is None:
        return False  # one host: nobody else renews it
    return not is_due(deps.current_info(name), deps.journal.get_state(name), deps.clock.now())


def _heal_orphans(deps: Deps, name: str) -> None:
    """In a fleet, an order of ``name`` still marked running while we hold its lock belongs to a holder
    that died (its lease ended): close it now, so that ours resumes its ACME order by URL. (On the
    filesystem, a dead process's orders are closed when the journal opens.)"""
    heal = getattr(deps.journal, "heal_orphans", None)
    if heal is not None:
        heal(name, deps.clock.now())


def _issue_locked(deps: Deps, spec: CertificateSpec, cancel: threading.Event,
                  sessions: SharedSessions | None = None, events: EventBatch | None = None) -> CertInfo:
    record = Recorder(deps, spec.name, events=events)
    record(EventKind.STARTED, f"order for {', '.join(spec.domains)} at {spec.provider}")
    try:
        info, order_url, session, stored = _obtain(deps, spec, record, cancel, sessions)
    except ZtError as exc:
        hinted = with_hint(spec, exc)  # a refused validation says where the CA looked
        _record_failure(deps, spec, record, hinted)
        if hinted is exc:
            raise
        raise hinted from exc
    deps.journal.put_state(spec.name, RenewalState())
    deploy_hook(deps, spec, info, record, stored)
    record.finish("issued", serial=info.serial, order_url=order_url)
    deps.store.end_deploy(spec.name)
    _ask_renewal_info(deps, spec.name, session, record)
    return info


def _ask_renewal_info(deps: Deps, name: str, session: AcmeSession, record: Recorder) -> None:
    """Fetch the new certificate's ARI window right away, so that `list`, the dashboard and the daemon
    show the moment that will really be used from the first second. Never fails the issuance: a failure
    is kept in the renewal state (and retried later) like any ARI failure."""
    if not session.has_ari():
        return
    state = refresh_ari(deps, name, session=session)
    if state.ari_chosen is not None:
        record(EventKind.ARI, f"the CA suggests renewing between {state.ari_window_start:%Y-%m-%d %H:%M} and "
                              f"{state.ari_window_end:%Y-%m-%d %H:%M} UTC")


def _obtain(
    deps: Deps, spec: CertificateSpec, record: Recorder, cancel: threading.Event,
    sessions: SharedSessions | None = None,
) -> tuple[CertInfo, str, AcmeSession, StoredCert]:
    from ..engine.keys import generate_key, parse_cert

    shared = sessions.get(spec.provider, deps.settings.provider(spec.provider).directory) if sessions else None
    session = open_session(deps, spec.provider, record, cancel, shared=shared)
    account = ensure_account(deps, spec.provider, session)
    record(EventKind.ACCOUNT, "account ready")
    current = deps.store.current(spec.name)
    resume_url, key_pem = _resumable(deps, spec.name, record.order_id)
    if not key_pem:
        key_pem = current.key_pem if spec.reuse_key and current else generate_key(spec.key_type)
        deps.store.save_pending_key(spec.name, key_pem)  # before its CSR reaches the CA
    profile = _choose_profile(spec, session, record)
    replaces = _replaces(current.cert_pem if current else None, session)
    deadline = deps.clock.monotonic() + deps.settings.renewal.order_timeout
    solver = _published(_solver(deps, spec, record.order_id), deps, record.order_id)
    solver.start()
    try:
        issued = session.issue(spec.domains, key_pem, solver, deadline=deadline, profile=profile,
                               replaces=replaces, resume_url=resume_url,
                               on_order=lambda url: deps.journal.note_order_url(record.order_id, url),
                               preferred_chain=spec.preferred_chain or session.provider.preferred_chain)
    finally:
        solver.stop()
    if session.account is not None and session.account != account:  # the CA forgot us: registered again
        remember_account(deps, spec.provider, session.account, session.provider.directory)
    info = replace(issued.info or parse_cert(issued.cert_pem), chain=issued.chain_issuer)
    stored = deps.store.save_version(
        spec.name, key_pem, issued.cert_pem, issued.chain_pem, issued.fullchain_pem,
        _meta(spec, info) | ari_meta(issued.cert_pem), order_id=record.order_id,
    )
    deps.store.clear_pending_key(spec.name)
    written = deps.store.deploy(spec, stored)
    record(EventKind.ISSUED, f"serial {info.serial}, valid until {info.not_after.isoformat()}")
    if written:
        record(EventKind.DEPLOYED, "wrote " + ", ".join(written))
    return info, issued.order_url, session, stored


def _resumable(deps: Deps, name: str, order_id: int) -> tuple[str, bytes | None]:
    """(URL, key) of an earlier order of ``name`` that ended without a certificate and whose key is kept:
    the CA may still be processing or have finished it (a slow CA, a killed process), so it is carried on
    instead of ordering, and maybe issuing, twice. ("", None) when there is none."""
    key_pem = deps.store.pending_key(name)
    url = deps.journal.resumable_order(name, order_id) if key_pem else ""
    return (url, key_pem) if url else ("", None)


def _choose_profile(spec: CertificateSpec, session: AcmeSession, record: Recorder) -> str:
    """``required_profile`` must be offered; ``profile`` is asked for only when it is."""
    if not (spec.required_profile or spec.profile):
        return ""
    offered = session.profiles()
    if spec.required_profile:
        if spec.required_profile not in offered:
            names = ", ".join(offered) or "none"
            raise OperationError(f"{spec.name}: the CA does not offer the required profile "
                                 f"{spec.required_profile!r} (offered: {names})")
        return spec.required_profile
    if spec.profile not in offered:
        record(EventKind.RETRY, f"the CA does not offer profile {spec.profile!r}: ordering its default")
        return ""
    return spec.profile


def _replaces(cert_pem: bytes | None, session: AcmeSession) -> str:
    """The ARI CertID of the certificate being replaced, when the CA speaks ARI."""
    from ..engine.keys import ari_cert_id

    if cert_pem is None or not session.has_ari():
        return ""
    try:
        return ari_cert_id(cert_pem)
    except ZtError:
        return ""


def _solver(deps: Deps, spec: CertificateSpec, order_id: int) -> Solver | SharedResponder | Dns01Solver:
    from ..engine.solvers import WebrootSolver

    if spec.challenge == "dns-01":
        return order_solver(deps, spec, order_id)
    if spec.webroot:
        return WebrootSolver(spec.webroot)
    return SharedResponder(spec.http_port, spec.http_bind)


def _published(solver: Solver | SharedResponder, deps: Deps, order_id: int
               ) -> Solver | SharedResponder | PublishedTokens:
    """http-01 tokens also go to the challenge store, so that every host of a fleet answers them."""
    from ..engine.solvers import WebrootSolver

    if isinstance(solver, SharedResponder | WebrootSolver):
        return PublishedTokens(solver, deps.challenges, order_id)
    return solver


def _meta(spec: CertificateSpec, info: CertInfo) -> dict[str, object]:
    """A version's facts; ``chain`` names the topmost issuer of the chain that was chosen."""
    return {
        "serial": info.serial,
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "domains": list(info.domains),
        "issuer": info.issuer,
        "provider": spec.provider,
        "key_type": spec.key_type,
        "chain": info.chain,
    }


def _record_failure(deps: Deps, spec: CertificateSpec, record: Recorder, exc: ZtError) -> None:
    if record.fail(exc) == "cancelled":
        return
    now = deps.clock.now()
    old = deps.journal.get_state(spec.name)
    failures = old.failures + 1
    delay = retry_delay(failures, deps.current_info(spec.name), now)
    state = replace(old, failures=failures, next_attempt=now + delay, last_error=exc.message)
    if isinstance(exc, RateLimited) and exc.retry_after:
        state = replace(state, rate_limited_until=now + timedelta(seconds=exc.retry_after))
    deps.journal.put_state(spec.name, state)
    failure_hook(deps, spec, exc, failures, record)


def due_names(deps: Deps, names: Iterable[str]) -> list[str]:
    """Those of ``names`` whose renewal moment has come (the one rule for "is it due")."""
    now = deps.clock.now()
    states = deps.journal.all_states()
    chosen = list(names)
    metas = deps.store.current_metas(chosen)  # the index: renew over 10,000 reads no meta.json file
    return [n for n in chosen if is_due(info_from_meta(metas.get(n)), states.get(n, RenewalState()), now)]


def renew_many(deps: Deps, names: Iterable[str] | None, *, force: bool, cancel: threading.Event,
               wait_for_held: bool = True) -> list[RenewResult]:
    """Renew several certificates concurrently (up to the configured limit); one result per name, except,
    without ``wait_for_held``, for those whose lock another process or host holds (they are left to it)."""
    chosen = list(names) if names else sorted(deps.settings.certificates)
    for name in chosen:
        deps.certificate(name)
    heal_deploys(deps, chosen)
    if not force:
        chosen = due_names(deps, chosen)

    workers = deps.settings.renewal.concurrency
    sessions = SharedSessions(workers, deps.clock.monotonic)  # one pool, directory, nonce pool per CA
    events = EventBatch(deps) if len(chosen) > 1 and workers > 1 else None

    def one(name: str, wait: bool = True) -> RenewResult | None:
        provider = deps.certificate(name).provider
        if sessions.held(provider):
            return name, None, _postpone(deps, name, provider, sessions.slot(provider))
        try:
            info = run_order(deps, name, force=force, cancel=cancel, sessions=sessions, wait=wait, events=events)
            return name, info, None
        except Deferred:
            return None
        except ZtError as exc:
            if isinstance(exc, RateLimited) and exc.retry_after:
                sessions.hold(provider, exc.retry_after)
            return name, None, exc

    try:
        if len(chosen) <= 1 or workers == 1:
            return _locked_last(chosen, one, map, wait_for_held)
        from concurrent.futures import ThreadPoolExecutor  # only when several orders run

        with ThreadPoolExecutor(max_workers=min(workers, len(chosen))) as pool:
            return _locked_last(chosen, one, pool.map, wait_for_held)
    finally:
        sessions.close()
        if events is not None:
            events.close()


def _locked_last(names: list[str], one: Callable[..., RenewResult | None], each: Callable[..., Iterable[Any]],
                 wait_for_held: bool = True) -> list[RenewResult]:
    """``one`` over ``names`` (through ``each``, a map), those whose lock is held elsewhere after all the
    others: a worker does not sit waiting for an order that another process, or in a fleet another host,
    is running (it will most likely find the certificate renewed once its turn comes). Without
    ``wait_for_held`` those are not waited for at all (a daemon looks again at its next turn)."""
    results: dict[str, RenewResult | None] = dict(zip(names, each(partial(one, wait=False), names), strict=True))
    later = [name for name, result in results.items() if result is None] if wait_for_held else []
    results.update(zip(later, each(one, later), strict=True))
    return [result for name in names if (result := results[name]) is not None]


def _postpone(deps: Deps, name: str, provider: str, seconds: float) -> RateLimited:
    """Keep ``name`` from being ordered for ``seconds`` (its place in the queue behind the CA's rate limit);
    the error that says so."""
    later = deps.clock.now() + timedelta(seconds=seconds)
    deps.journal.put_state(name, replace(deps.journal.get_state(name), rate_limited_until=later))
    return RateLimited(f"{name}: not ordered: {provider} rate-limited this account; queued to try at "
                       f"{later:%Y-%m-%d %H:%M:%S} UTC", seconds)


def revoke(deps: Deps, name: str, reason: int) -> CertInfo:
    """Revoke the current certificate at its CA and journal it."""
    from ..engine.keys import parse_cert

    spec = deps.certificate(name)
    refuse_damaged(deps.store, name)
    stored = deps.store.current(name)
    if stored is None:
        raise OperationError(f"{name} has no certificate to revoke: it was never issued")
    try:
        info = parse_cert(stored.cert_pem)
    except OperationError as exc:
        where = stored.dir / "cert.pem" if stored.dir else f"the stored certificate of {name}"
        raise StorageError(f"{where} is damaged ({exc.message}): `zerossl-tui renew {name} --force` "
                           "re-issues the certificate") from None
    lock = deps.locker.certificate(name)
    lock.acquire_or_raise(timeout=REVOKE_LOCK_WAIT)
    try:
        record = Recorder(deps, name)
        try:
            session = open_session(deps, spec.provider, record)
            ensure_account(deps, spec.provider, session)
            session.revoke(stored.cert_pem, reason)
        except ZtError as exc:
            record.fail(exc, "revocation failed: ")
            raise
        record(EventKind.REVOKED, f"serial {info.serial} revoked (reason {reason})")
        record.finish("revoked", serial=info.serial)
        revoked = replace(deps.journal.get_state(name), revoked_serial=info.serial, revoked_at=deps.clock.now())
        deps.journal.put_state(name, revoked)
    finally:
        lock.release()
    return info
