"""The order flow around the engine: lock, journal, store, deploy, hooks, backoff bookkeeping."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from ..core.errors import Cancelled, LockBusy, OperationError, RateLimited, ZtError
from ..core.models import CertificateSpec, CertInfo, EventKind, ProgressEvent, RenewalState
from ..core.policy import is_due, retry_delay
from .accounts import ensure_account, open_session, remember_account
from .hooks import run_hook
from .responders import SharedResponder

if TYPE_CHECKING:
    from ..engine.session import AcmeSession
    from ..engine.solvers import Solver
    from .service import CertificateService, Progress

LOCK_WAIT = 900.0
REVOKE_LOCK_WAIT = 30.0  # someone is waiting at the keyboard


class _Recorder:
    """Writes every step of one order to the journal and forwards it to the caller's progress sink."""

    def __init__(self, service: CertificateService, name: str, progress: Progress, order_id: int = 0) -> None:
        """A new order, or the existing ``order_id`` (to finish what a killed process began)."""
        self.service, self.name, self.progress = service, name, progress
        journal = service.journal
        self.result = journal.order_result(order_id, name) if order_id else None
        self.order_id = order_id if self.result else journal.start_order(name, service.clock.now())

    def __call__(self, kind: EventKind, message: str, retry_after: float | None = None) -> None:
        at = self.service.clock.now()
        self.service.journal.add_event(self.order_id, kind.value, message, at, retry_after)
        self.progress(ProgressEvent(self.name, kind, message, at, retry_after))


def run_order(
    service: CertificateService, name: str, *, force: bool, progress: Progress, cancel: threading.Event
) -> CertInfo | None:
    """Issue ``name`` (when ``force`` or due) under its cross-process lock; None when not due."""
    spec = service.certificate(name)
    lock = service.lock_for(name)
    if not lock.acquire(timeout=LOCK_WAIT, cancel=cancel):
        if cancel.is_set():
            raise Cancelled(f"{name}: cancelled while waiting for another process to finish its order")
        raise LockBusy(f"{name}: another process has been issuing it for {LOCK_WAIT:.0f} s; try later")
    service.mark_running(name, True)
    try:
        heal_deploy(service, name)
        # Look again after taking the lock: another process may have just renewed it.
        if not force and not is_due(service.current_info(name), service.journal.get_state(name),
                                    service.clock.now()):
            return None
        return _issue_locked(service, spec, progress, cancel)
    finally:
        service.mark_running(name, False)
        lock.release()


def _issue_locked(
    service: CertificateService, spec: CertificateSpec, progress: Progress, cancel: threading.Event
) -> CertInfo:
    record = _Recorder(service, spec.name, progress)
    record(EventKind.STARTED, f"order for {', '.join(spec.domains)} at {spec.provider}")
    try:
        info, serial, order_url = _obtain(service, spec, record, cancel)
    except ZtError as exc:
        _record_failure(service, spec, record, exc)
        raise
    service.journal.put_state(spec.name, RenewalState())
    _deploy_hook(service, spec, info, record)
    service.journal.finish_order(record.order_id, "issued", service.clock.now(), serial=serial,
                                 order_url=order_url)
    service.store.end_deploy(spec.name)
    return info


def _obtain(
    service: CertificateService, spec: CertificateSpec, record: _Recorder, cancel: threading.Event
) -> tuple[CertInfo, str, str]:
    from ..engine.keys import generate_key, parse_cert

    session = open_session(service, spec.provider, record, cancel)
    ensure_account(service, spec.provider, session)
    record(EventKind.ACCOUNT, "account ready")
    current = service.store.current(spec.name)
    key_pem = current.key_pem if spec.reuse_key and current else generate_key(spec.key_type)
    profile = _choose_profile(spec, session, record)
    replaces = _replaces(current.cert_pem if current else None, session)
    deadline = service.clock.monotonic() + service.settings.table("renewal")["order_timeout"]
    solver = _solver(spec)
    solver.start()
    try:
        issued = session.issue(spec.domains, key_pem, solver, deadline=deadline, profile=profile,
                               replaces=replaces)
    finally:
        solver.stop()
    if session.account is not None:  # the CA may have forgotten us and we registered again
        remember_account(service, spec.provider, session.account, session.provider.directory)
    info = parse_cert(issued.cert_pem)
    stored = service.store.save_version(
        spec.name, key_pem, issued.cert_pem, issued.chain_pem, issued.fullchain_pem, _meta(spec, info),
        order_id=record.order_id,
    )
    written = service.store.deploy(spec, stored)
    record(EventKind.ISSUED, f"serial {info.serial}, valid until {info.not_after.isoformat()}")
    if written:
        record(EventKind.DEPLOYED, "wrote " + ", ".join(written))
    return info, info.serial, issued.order_url


def heal_deploys(service: CertificateService, names: Iterable[str] | None = None) -> None:
    """``heal_deploy`` every certificate (or those named) that has an unfinished deployment and whose lock
    is free: a certificate being issued right now is left to the process issuing it."""
    for name in names if names is not None else sorted(service.settings.certificates):
        if service.store.pending_deploy(name) is None:
            continue
        lock = service.lock_for(name)
        if lock.try_acquire():
            try:
                heal_deploy(service, name)
            finally:
                lock.release()


def heal_deploy(service: CertificateService, name: str) -> None:
    """Finish the deployment of ``name`` that a killed process began (the caller holds the lock).

    The store's current version is written to the served files (a crash between two renames may have left
    a new key beside the old certificate), temporary files the dead process left there are removed, and,
    when that process had made its certificate current, its deploy hooks run and its order is closed as
    issued. When the files cannot be written the record stays, and the next start tries again; nothing
    here raises.
    """
    pending = service.store.pending_deploy(name)
    if pending is None:
        return
    try:
        _finish_deploy(service, name, pending.version, pending.order_id)
    except ZtError:
        pass  # journaled where possible; the record stays for the next start


def _finish_deploy(service: CertificateService, name: str, version: str, order_id: int) -> None:
    spec, stored = service.settings.certificates.get(name), service.store.current(name)
    if spec is None or stored is None:
        service.store.end_deploy(name)  # no longer managed, or nothing stored: nothing to serve
        return
    record = _Recorder(service, name, _quiet, order_id)
    try:
        service.store.remove_stale_temps(spec, stored)
        written = service.store.deploy(spec, stored)
    except ZtError as exc:
        record(EventKind.FAILED, f"finishing an interrupted deployment failed: {exc.message}")
        if record.result is None:  # the order was made just now: close it
            service.journal.finish_order(record.order_id, "failed", service.clock.now(),
                                         error_type=type(exc).__name__, error_detail=exc.message)
        raise
    note = "wrote " + ", ".join(written) if written else "the served files were already complete"
    record(EventKind.DEPLOYED, f"finished a deployment that an interrupted process began: {note}")
    info = service.current_info(name)
    if record.result == "issued":
        pass  # the process died after closing its order: its hooks have run
    elif stored.version == version and info is not None:
        # The dead process had stored and made current its certificate: do what it had left to do.
        service.journal.put_state(name, RenewalState())
        _deploy_hook(service, spec, info, record)
        service.journal.finish_order(record.order_id, "issued", service.clock.now(), serial=info.serial)
    elif record.result is None:
        service.journal.finish_order(record.order_id, "failed", service.clock.now(), error_type="interrupted",
                                     error_detail="a process was stopped before it could deploy its certificate")
    service.store.end_deploy(name)


def _quiet(_: ProgressEvent) -> None:
    """Progress sink for work done on the side (healing)."""


def _choose_profile(spec: CertificateSpec, session: AcmeSession, record: _Recorder) -> str:
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


def _solver(spec: CertificateSpec) -> Solver | SharedResponder:
    from ..engine.solvers import WebrootSolver

    if spec.webroot:
        return WebrootSolver(spec.webroot)
    return SharedResponder(spec.http_port, spec.http_bind)


def _meta(spec: CertificateSpec, info: CertInfo) -> dict[str, object]:
    return {
        "serial": info.serial,
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "domains": list(info.domains),
        "issuer": info.issuer,
        "provider": spec.provider,
        "key_type": spec.key_type,
    }


def _record_failure(
    service: CertificateService, spec: CertificateSpec, record: _Recorder, exc: ZtError
) -> None:
    now = service.clock.now()
    kind = EventKind.CANCELLED if isinstance(exc, Cancelled) else EventKind.FAILED
    record(kind, exc.message)
    result = "cancelled" if isinstance(exc, Cancelled) else "failed"
    error_type = getattr(exc, "short_type", type(exc).__name__)
    service.journal.finish_order(record.order_id, result, now, error_type=error_type,
                                 error_detail=exc.message)
    if isinstance(exc, Cancelled):
        return
    old = service.journal.get_state(spec.name)
    failures = old.failures + 1
    delay = retry_delay(failures, service.current_info(spec.name), now)
    state = replace(old, failures=failures, next_attempt=now + delay, last_error=exc.message)
    if isinstance(exc, RateLimited) and exc.retry_after:
        state = replace(state, rate_limited_until=now + timedelta(seconds=exc.retry_after))
    service.journal.put_state(spec.name, state)
    _failure_hook(service, spec, exc, failures, record)


def _hook_settings(service: CertificateService) -> tuple[float, bool]:
    renewal = service.settings.table("renewal")
    return float(renewal["hook_timeout"]), bool(renewal["hook_shell"])


def _deploy_hook(
    service: CertificateService, spec: CertificateSpec, info: CertInfo, record: _Recorder
) -> None:
    stored = service.store.current(spec.name)
    env = {
        "ZT_NAME": spec.name,
        "ZT_DOMAINS": " ".join(spec.domains),
        "ZT_SERIAL": info.serial,
        "ZT_NOT_AFTER": info.not_after.isoformat(),
        "ZT_CERTFILE": spec.certfile or (str(stored.dir / "fullchain.pem") if stored and stored.dir else ""),
        "ZT_KEYFILE": spec.keyfile or (str(stored.dir / "privkey.pem") if stored and stored.dir else ""),
    }
    _run_hooks(service, spec, "deploy_hook", env, record)


def _failure_hook(
    service: CertificateService, spec: CertificateSpec, exc: ZtError, failures: int, record: _Recorder
) -> None:
    info = service.current_info(spec.name)
    left = (info.not_after - service.clock.now()).total_seconds() if info else 0
    env = {
        "ZT_NAME": spec.name,
        "ZT_DOMAINS": " ".join(spec.domains),
        "ZT_ERROR_TYPE": getattr(exc, "short_type", type(exc).__name__),
        "ZT_ERROR_DETAIL": exc.message,
        "ZT_ATTEMPTS": str(failures),
        "ZT_SECONDS_LEFT": str(int(left)),
    }
    _run_hooks(service, spec, "failure_hook", env, record)


def _run_hooks(
    service: CertificateService, spec: CertificateSpec, which: str, env: dict[str, str], record: _Recorder
) -> None:
    """The certificate's own hook, then the global one; a failing hook is journaled and blocks nothing."""
    timeout, shell = _hook_settings(service)
    commands = [getattr(spec, which), service.settings.table("renewal")[which]]
    for command in filter(None, commands):
        run_hook(command, env, timeout=timeout, shell=shell,
                 log=lambda line: record(EventKind.HOOK, f"{which}: {line}"))


def renew_many(
    service: CertificateService, names: Iterable[str] | None, *, force: bool, progress: Progress,
    cancel: threading.Event,
) -> list[tuple[str, CertInfo | None, Exception | None]]:
    """Renew several certificates concurrently (up to the configured limit); one result per name."""
    chosen = list(names) if names else sorted(service.settings.certificates)
    for name in chosen:
        service.certificate(name)
    heal_deploys(service, chosen)
    if not force:
        chosen = [v.spec.name for v in service.views(chosen) if v.next_renewal and
                  v.next_renewal <= service.clock.now()]
    workers = max(1, int(service.settings.table("renewal")["concurrency"]))

    def one(name: str) -> tuple[str, CertInfo | None, Exception | None]:
        try:
            return name, run_order(service, name, force=force, progress=progress, cancel=cancel), None
        except ZtError as exc:
            return name, None, exc

    if len(chosen) <= 1 or workers == 1:
        return [one(n) for n in chosen]
    with ThreadPoolExecutor(max_workers=min(workers, len(chosen))) as pool:
        return list(pool.map(one, chosen))


def revoke(service: CertificateService, name: str, reason: int, progress: Progress) -> CertInfo:
    """Revoke the current certificate at its CA and journal it."""
    spec = service.certificate(name)
    stored = service.store.current(name)
    if stored is None:
        raise OperationError(f"{name} has no certificate to revoke: it was never issued")
    from ..engine.keys import parse_cert

    info = parse_cert(stored.cert_pem)
    lock = service.lock_for(name)
    lock.acquire_or_raise(timeout=REVOKE_LOCK_WAIT)
    try:
        record = _Recorder(service, name, progress)
        try:
            session = open_session(service, spec.provider, record)
            ensure_account(service, spec.provider, session)
            session.revoke(stored.cert_pem, reason)
        except ZtError as exc:
            record(EventKind.FAILED, f"revocation failed: {exc.message}")
            service.journal.finish_order(record.order_id, "failed", service.clock.now(),
                                         error_type=getattr(exc, "short_type", type(exc).__name__),
                                         error_detail=exc.message)
            raise
        record(EventKind.REVOKED, f"serial {info.serial} revoked (reason {reason})")
        service.journal.finish_order(record.order_id, "revoked", service.clock.now(), serial=info.serial)
    finally:
        lock.release()
    return info
