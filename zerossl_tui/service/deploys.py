"""Finishing deployments that a killed process began (the store's ``deploying`` record)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..core.errors import ZtError
from ..core.models import EventKind, RenewalState
from .deps import Deps
from .dns import remove_leftovers
from .order_hooks import deploy_hook
from .recorder import Recorder


def heal_deploys(deps: Deps, names: Iterable[str] | None = None) -> None:
    """``heal_deploy`` every certificate (or those named) that has an unfinished deployment and whose lock
    is free: a certificate being issued right now is left to the process issuing it. One certificate's
    failure never stops the others. Then the dns-01 records that a killed order left in a zone are removed."""
    names = list(names) if names is not None else None
    for name in pending_deploys(deps, names if names is not None else sorted(deps.settings.certificates)):
        lock = deps.locker.certificate(name)
        if lock.try_acquire():
            try:
                heal_deploy(deps, name)
            finally:
                lock.release()
    remove_leftovers(deps, names)


def pending_deploys(deps: Deps, names: list[str]) -> list[str]:
    """Those of ``names`` with an unfinished deployment; a fleet store answers for all in one query (one
    per certificate was hundreds of round trips at every scheduler turn)."""
    mine: Callable[[], set[str]] | None = getattr(deps.store, "pending_deploy_names", None)
    if mine is not None:
        found = mine()
        return [name for name in names if name in found]
    return [name for name in names if deps.store.pending_deploy(name) is not None]


def heal_deploy(deps: Deps, name: str) -> None:
    """Finish the deployment of ``name`` that a killed process began (the caller holds the lock).

    The store's current version is written to the served files (a crash between two renames may have left
    a new key beside the old certificate), temporary files the dead process left there are removed, and,
    when that process had made its certificate current, its deploy hooks run and its order is closed as
    issued. When the files cannot be written the record stays, and the next start tries again; nothing
    here raises.
    """
    pending = deps.store.pending_deploy(name)
    if pending is None:
        return
    try:
        _finish_deploy(deps, name, pending.version, pending.order_id)
    except ZtError:
        pass  # journaled where possible; the record stays for the next start


def _finish_deploy(deps: Deps, name: str, version: str, order_id: int) -> None:
    spec, stored = deps.settings.certificates.get(name), deps.store.current(name)
    if spec is None or stored is None:
        deps.store.end_deploy(name)  # no longer managed, or nothing stored: nothing to serve
        return
    record = Recorder(deps, name, order_id)
    try:
        deps.store.remove_stale_temps(spec, stored)
        written = deps.store.deploy(spec, stored)
    except ZtError as exc:
        record(EventKind.FAILED, f"finishing an interrupted deployment failed: {exc.message}")
        if record.result is None:  # the order was made just now: close it
            record.finish("failed", error_type=type(exc).__name__, error_detail=exc.message)
        raise
    note = "wrote " + ", ".join(written) if written else "the served files were already complete"
    record(EventKind.DEPLOYED, f"finished a deployment that an interrupted process began: {note}")
    _close_interrupted(deps, record, stored.version == version)
    deps.store.end_deploy(name)


def _close_interrupted(deps: Deps, record: Recorder, was_current: bool) -> None:
    """Do what the dead process had left to do for its order."""
    info = deps.current_info(record.name)
    if record.result == "issued":
        return  # the process died after closing its order: its hooks have run
    if was_current and info is not None:
        # The dead process had stored and made current its certificate: its hooks and bookkeeping.
        deps.journal.put_state(record.name, RenewalState())
        deploy_hook(deps, deps.certificate(record.name), info, record)
        record.finish("issued", serial=info.serial)
    elif record.result is None:
        record.finish("failed", error_type="interrupted",
                      error_detail="a process was stopped before it could deploy its certificate")
