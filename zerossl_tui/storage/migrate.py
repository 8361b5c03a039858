"""Copy everything one storage backend holds into another (filesystem <-> PostgreSQL), then verify it.

Only the storage interfaces are used, so any pair of backends works. Things are matched by content, not by
id (version names and order ids are given out by the destination), which makes the copy idempotent: what
the destination already holds is left alone, so a second run copies nothing. After copying, every
version's SHA-256, every current version, order, event count, renewal state, account and dns-01 record of
the source is checked in the destination; a difference is one StorageError line and the caller must not
switch backends.

Not copied: http-01 tokens (they live only while an order runs) and locks. Running orders are copied as
running orders of this process, so the destination's next ``heal`` closes them as interrupted: the
process that ran them works on the source, not on the destination.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..core.errors import StorageError
from ..core.models import OrderRecord, StoredCert
from .backend import Backend
from .journal import MAX_LIMIT


@dataclass
class CopyReport:
    """What ``copy_backend`` copied (``copied``) and verified (``checked``), and the hash of every version."""

    copied: Counter[str] = field(default_factory=Counter)
    checked: Counter[str] = field(default_factory=Counter)
    hashes: dict[str, list[str]] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)  # the destination's newer current version was kept

    @property
    def changed(self) -> bool:
        """True when anything was written to the destination."""
        return any(self.copied.values())


def version_hash(stored: StoredCert) -> str:
    """SHA-256 of a version's key, certificate, chain, full chain and metadata (canonical JSON)."""
    digest = hashlib.sha256()
    meta = json.dumps(stored.meta, sort_keys=True, separators=(",", ":")).encode()
    for part in (stored.key_pem, stored.cert_pem, stored.chain_pem, stored.fullchain_pem, meta):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def copy_backend(src: Backend, dst: Backend, names: Iterable[str], providers: Iterable[str] = ()) -> CopyReport:
    """Copy certificates ``names`` (with their versions, orders and state), every renewal state and
    dns-01 record, and the accounts and EAB caches of ``providers``, from ``src`` to ``dst``; then verify.

    Hold no order while this runs (``storage use`` runs it with the daemon stopped). Raises StorageError
    when the destination does not hold what the source holds afterwards.
    """
    report = CopyReport()
    wanted = sorted(set(names) | set(src.store.names()))
    report.kept = newer_in_destination(src, dst, wanted)
    for name in wanted:
        _copy_versions(src, dst, name, report)
        _copy_orders(src, dst, name, report)
    _copy_states(src, dst, report)
    _copy_dns_records(src, dst, report)
    for provider in sorted(set(providers)):
        _copy_account(src, dst, provider, report)
    verify_copy(src, dst, wanted, providers, report)
    return report


def newer_in_destination(src: Backend, dst: Backend, names: list[str]) -> set[str]:
    """The certificates whose current version in ``dst`` was issued after the one in ``src`` (a host joining
    a fleet with older copies of the fleet's certificates): the destination keeps its current version and
    renewal state for those, and the source's versions are added as history only."""
    ours, theirs = src.store.current_metas(names), dst.store.current_metas(names)
    return {n for n in names if _issued(theirs.get(n)) > _issued(ours.get(n)) > _NEVER}


_NEVER = datetime.min.replace(tzinfo=UTC)


def _issued(meta: dict[str, Any] | None) -> datetime:
    """When a version's certificate was issued (its not_before); the earliest time when unknown."""
    try:
        issued = datetime.fromisoformat(str((meta or {})["not_before"]))
    except (KeyError, ValueError):
        return _NEVER
    return issued if issued.tzinfo else issued.replace(tzinfo=UTC)


# -- certificates -----------------------------------------------------------------------------------


def _versions(backend: Backend, name: str) -> list[StoredCert]:
    loaded = (backend.store.load_version(name, v) for v in backend.store.versions(name))
    return [stored for stored in loaded if stored is not None]


def _copy_versions(src: Backend, dst: Backend, name: str, report: CopyReport) -> None:
    """Save each source version the destination lacks, oldest first, the source's current one last."""
    have = {version_hash(s) for s in _versions(dst, name)}
    current = src.store.current(name)
    current_hash = version_hash(current) if current else ""
    todo = [s for s in _versions(src, name) if version_hash(s) not in have]
    if name in report.kept:
        _add_history(dst, todo, report)
        return
    todo.sort(key=lambda s: version_hash(s) == current_hash)  # stable: keeps the age order otherwise
    for stored in todo:
        _save(dst, stored, report)
    now_current = dst.store.current(name)
    if current is not None and (now_current is None or version_hash(now_current) != current_hash):
        # An older version copied after the current one became current: the interfaces have no way to
        # point ``current`` back, so the current version is saved once more (same content, newer name).
        _save(dst, current, report)
    _copy_pending_deploy(src, dst, name, report)


def _save(dst: Backend, stored: StoredCert, report: CopyReport) -> None:
    dst.store.save_version(stored.name, stored.key_pem, stored.cert_pem, stored.chain_pem, stored.fullchain_pem,
                           stored.meta)
    report.copied["versions"] += 1


def _add_history(dst: Backend, todo: list[StoredCert], report: CopyReport) -> None:
    """Older versions into a destination whose current version is newer: it stays current (a destination
    that cannot store history alone gets its current version saved once more, on top)."""
    add: Any = getattr(dst.store, "add_older_version", None)
    if add is not None:
        for stored in todo:
            add(stored.name, stored.key_pem, stored.cert_pem, stored.chain_pem, stored.fullchain_pem, stored.meta)
            report.copied["versions"] += 1
        return
    newest = dst.store.current(todo[0].name) if todo else None
    for stored in todo:
        _save(dst, stored, report)
    if newest is not None:
        _save(dst, newest, report)


def _copy_pending_deploy(src: Backend, dst: Backend, name: str, report: CopyReport) -> None:
    """A deployment the source left unfinished stays pending in the destination (for its current version)."""
    pending = src.store.pending_deploy(name)
    current = dst.store.current(name)
    if pending is None or current is None or dst.store.pending_deploy(name) is not None:
        return
    dst.store.begin_deploy(name, current.version, 0)
    report.copied["pending deploys"] += 1


# -- journal ----------------------------------------------------------------------------------------


def _order_key(order: OrderRecord) -> tuple[Any, ...]:
    """Everything of an order that a copy must keep (ids differ between backends)."""
    finished = _utc(order.finished) if order.finished else ""
    return (order.cert, _utc(order.started), finished, order.result, order.error_type, order.error_detail,
            order.serial, order.order_url, len(order.events))


def _order_identity(order: OrderRecord) -> tuple[str, str]:
    """Which order this is: a copied running order is later closed by the destination's ``heal``, and must
    still count as copied."""
    return order.cert, _utc(order.started)


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _copy_orders(src: Backend, dst: Backend, name: str, report: CopyReport) -> None:
    """Copy the orders of ``name`` the destination lacks, oldest first, each with its events."""
    present = Counter(_order_identity(o) for o in dst.journal.orders(name, MAX_LIMIT))
    for order in reversed(src.journal.orders(name, MAX_LIMIT)):
        if present[_order_identity(order)] > 0:
            present[_order_identity(order)] -= 1
            continue
        _copy_order(dst, order)
        report.copied["orders"] += 1
        report.copied["events"] += len(order.events)


def _copy_order(dst: Backend, order: OrderRecord) -> None:
    order_id = dst.journal.start_order(order.cert, order.started)
    for event in order.events:
        dst.journal.add_event(order_id, event.kind, event.message, event.at, event.retry_after)
    if order.result != "running" and order.finished is not None:
        dst.journal.finish_order(order_id, order.result, order.finished, error_type=order.error_type,
                                 error_detail=order.error_detail, serial=order.serial, order_url=order.order_url)


def _copy_states(src: Backend, dst: Backend, report: CopyReport) -> None:
    theirs = dst.journal.all_states()
    for cert, state in sorted(src.journal.all_states().items()):
        if theirs.get(cert) != state and cert not in report.kept:
            dst.journal.put_state(cert, state)
            report.copied["states"] += 1


def _copy_dns_records(src: Backend, dst: Backend, report: CopyReport) -> None:
    missing = Counter(src.challenges.dns_records())
    missing.subtract(Counter(dst.challenges.dns_records()))
    for record, count in missing.items():
        for _ in range(count):
            dst.challenges.add_dns_record(record)
            report.copied["dns records"] += 1


def _copy_account(src: Backend, dst: Backend, provider: str, report: CopyReport) -> None:
    key, url = src.store.load_account(provider)
    if key is not None and dst.store.load_account(provider) != (key, url):
        dst.store.save_account(provider, key, url)
        report.copied["accounts"] += 1
    eab = src.store.load_eab_cache(provider)
    if eab != ("", "") and dst.store.load_eab_cache(provider) != eab:
        dst.store.save_eab_cache(provider, *eab)
        report.copied["eab caches"] += 1


# -- verification -----------------------------------------------------------------------------------


def verify_copy(src: Backend, dst: Backend, names: Iterable[str], providers: Iterable[str],
                report: CopyReport) -> None:
    """StorageError (one line) naming the first thing of ``src`` that ``dst`` does not hold."""
    for name in names:
        _verify_versions(src, dst, name, report)
        _verify_orders(src, dst, name, report)
    states = {c: s for c, s in src.journal.all_states().items() if c not in report.kept}
    _require(all(dst.journal.get_state(c) == s for c, s in states.items()), "a renewal state differs")
    report.checked["states"] += len(states)
    records = Counter(src.challenges.dns_records())
    _require(not records - Counter(dst.challenges.dns_records()), "dns-01 records are missing")
    for provider in providers:
        same = src.store.load_account(provider) == dst.store.load_account(provider)
        _require(same and src.store.load_eab_cache(provider) == dst.store.load_eab_cache(provider),
                 f"the account of {provider} differs")
        report.checked["accounts"] += 1


def _verify_versions(src: Backend, dst: Backend, name: str, report: CopyReport) -> None:
    ours = [version_hash(s) for s in _versions(src, name)]
    theirs = {version_hash(s) for s in _versions(dst, name)}
    _require(set(ours) <= theirs, f"{name}: {len(set(ours) - theirs)} versions are missing or differ")
    current, copied = src.store.current(name), dst.store.current(name)
    same = (current is None) or (copied is not None and version_hash(copied) == version_hash(current))
    _require(same or name in report.kept, f"{name}: the current version differs")
    report.hashes[name] = ours
    report.checked["versions"] += len(ours)


def _verify_orders(src: Backend, dst: Backend, name: str, report: CopyReport) -> None:
    """Every finished order of the source is in the destination as it is; every running one at least exists."""
    theirs = dst.journal.orders(name, MAX_LIMIT)
    full, present = Counter(map(_order_key, theirs)), Counter(map(_order_identity, theirs))
    ours = src.journal.orders(name, MAX_LIMIT)
    finished = Counter(_order_key(o) for o in ours if o.result != "running")
    running = Counter(_order_identity(o) for o in ours if o.result == "running")
    missing = sum((finished - full).values()) + sum((running - present).values())
    _require(missing == 0, f"{name}: {missing} orders are missing or differ")
    report.checked["orders"] += len(ours)


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise StorageError(f"the copy is incomplete: {what}; the previous backend stays in use")
