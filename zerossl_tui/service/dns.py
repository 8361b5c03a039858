"""DNS providers for dns-01: the solver an order uses (its records journaled through the challenge store),
``dns test``, and the removal of records that a crashed process left in a zone.

Every record is written to the challenge store *before* it is added to the zone and forgotten only once
it is gone, so whatever moment a process dies at, the next start knows what to remove.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..core.domains import validate_name
from ..core.errors import LockBusy, NotFound, UsageError, ZtError
from ..core.interfaces import DnsRecord, Lock
from ..core.models import CertificateSpec, DnsSpec, EventKind, ProgressEvent
from ..core.settings import Settings
from ..core.validate import shown
from .deps import Deps

if TYPE_CHECKING:
    from ..engine.dns import Dns01Solver

RecordHook = Callable[[str, str, str], None]
PROBE_CERT = ""  # the certificate of a `dns test` record: none (`renew NAME` never heals it, a plain one does)
PROBE_LOCK_PREFIX = "dns-test."
PROBE_LOCK_WAIT = 30.0


def find_dns(settings: Settings, name: str) -> DnsSpec:
    """A configured DNS provider, or NotFound naming what is configured."""
    spec = settings.dns.get(name)
    if spec is None:
        known = ", ".join(sorted(settings.dns)) or "none yet"
        raise NotFound(f"no DNS provider named {name!r} (configured: {known}); add it with `dns add`")
    return spec


def users_of(settings: Settings, name: str) -> list[str]:
    """The certificates whose dns-01 goes through the DNS provider ``name``."""
    return sorted(c.name for c in settings.certificates.values() if c.challenge == "dns-01" and c.dns == name)


def check_removable(settings: Settings, name: str) -> None:
    """UsageError when a certificate still uses ``name`` (removing it would break their renewals)."""
    find_dns(settings, name)
    users = users_of(settings, name)
    if users:
        raise UsageError(f"DNS provider {name!r} is used by {', '.join(users)}: change their --dns "
                         "(or --challenge) first")


def check_type_options(spec: DnsSpec) -> None:
    """Checks that need the engine but no network: the lexicon provider exists (with close names when
    not), the TSIG algorithm is known; and that the zone and option values are plain text."""
    from ..engine.dns import check_lexicon_provider

    check_plain_values(spec)
    if spec.type == "lexicon":
        try:
            check_lexicon_provider(spec.lexicon_provider)
        except UsageError as exc:
            raise UsageError(f"DNS provider {spec.name!r}: {exc.message}") from None


# A zone is held in ASCII (punycode) by then; punctuation such as '[' or ']' and control characters pass the
# IDNA check, yet no name looked up could ever be in such a zone.
_PLAIN_ZONE = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")
# Control characters but tab and newline (a credential may span lines): an escape sequence saved in a
# setting is replayed on the terminal of whoever reads the file or `dns list` later.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def check_plain_values(spec: DnsSpec) -> None:
    """UsageError when the zone is not a DNS name or an option value holds a control character (never
    echoing the value: an option may be a credential)."""
    if spec.zone and not _PLAIN_ZONE.fullmatch(spec.zone):
        raise UsageError(f"DNS provider {spec.name!r}: zone {shown(spec.zone)} is not a DNS name: give the zone"
                         " as the DNS holds it, such as example.com")
    for key, value in spec.options:
        if _CONTROL.search(value):
            raise UsageError(f"DNS provider {spec.name!r}: option {key} contains a control character (such as"
                             " an escape sequence): type plain text")


def _manual_hook(deps: Deps, cert: str) -> object | None:
    return deps.manual_dns(cert) if deps.manual_dns is not None else None


def order_solver(deps: Deps, spec: CertificateSpec, order_id: int) -> Dns01Solver:
    """The dns-01 solver of one order of ``spec``: each record goes into the challenge store (with the order
    id) before it is added to the zone, and leaves it once removed."""
    from ..engine.dns import make_solver

    dns = find_dns(deps.settings, spec.dns)
    added, removed = _journaled(deps, spec.name, order_id)
    return make_solver(dns, manual_hook=_manual_hook(deps, spec.name),  # type: ignore[arg-type]
                       on_record_added=added, on_record_removed=removed)


def _journaled(deps: Deps, cert: str, order_id: int) -> tuple[RecordHook, RecordHook]:
    """The solver's hooks that keep its records in the challenge store, under ``cert`` and ``order_id``."""

    def added(fqdn: str, value: str, provider: str) -> None:
        deps.challenges.add_dns_record(DnsRecord(cert, provider, fqdn, value, order_id))

    def removed(fqdn: str, value: str, provider: str) -> None:
        deps.challenges.remove_dns_record(DnsRecord(cert, provider, fqdn, value, order_id))

    return added, removed


def probe_lock(deps: Deps, provider: str) -> Lock:
    """The lock a `dns test` of ``provider`` holds while its record may be in the zone, so that a heal in
    another process leaves the record alone. In the account locks' namespace: certificate names are free
    to be anything, and no CA provider is named ``dns-test.*`` (a long name is cut: two such tests of
    providers alike in their first 55 characters merely wait for each other)."""
    return deps.locker.account(f"{PROBE_LOCK_PREFIX}{provider}"[:64])


def test_dns(deps: Deps, name: str, domain: str, cancel: threading.Event) -> str:
    """``dns test``: put a random TXT at ``_acme-challenge.DOMAIN`` through ``name``, wait until every
    resolver sees it, remove it. Each step is a progress event; returns the name the record was at. The
    record is journaled like an order's (under no certificate), so that the heal of a later start removes
    it when this process is killed."""
    from ..engine.dns import make_solver

    spec = find_dns(deps.settings, name)
    bare = validate_name(domain, allow_wildcard=True).removeprefix("*.")
    added, removed = _journaled(deps, PROBE_CERT, 0)
    solver = make_solver(spec, manual_hook=_manual_hook(deps, name),  # type: ignore[arg-type]
                         on_record_added=added, on_record_removed=removed)

    def step(kind: EventKind, message: str, retry_after: float | None) -> None:
        deps.progress(ProgressEvent(name, kind, message, deps.clock.now(), retry_after))

    lock = probe_lock(deps, name)
    if not lock.acquire(timeout=PROBE_LOCK_WAIT, cancel=cancel):
        raise LockBusy(f"another `dns test {name}` is running; try again when it has finished")
    try:
        return solver.probe(bare, step, cancel).fqdn
    finally:
        lock.release()


def remove_leftovers(deps: Deps, names: Iterable[str] | None = None) -> list[str]:
    """Remove the records that a killed process left in their zones (those of certificates whose lock is
    free: a running order keeps its own). One failure never stops the others: it is journaled, the record
    is kept, and the next start tries again. Returns one line per record that could not be removed."""
    wanted = None if names is None else set(names)
    failures: list[str] = []
    for record in deps.challenges.dns_records():
        if wanted is not None and record.cert not in wanted:
            continue
        lock = probe_lock(deps, record.provider) if record.cert == PROBE_CERT else deps.locker.certificate(record.cert)
        if not lock.try_acquire():
            continue
        try:
            problem = _remove_one(deps, record)
        finally:
            lock.release()
        if problem:
            failures.append(problem)
    return failures


def _remove_one(deps: Deps, record: DnsRecord) -> str:
    """Remove one leftover record through its provider; the problem as a line, or "" when removed."""
    from ..engine.dns import make_provider

    what = f"TXT {record.fqdn} = {record.value}"
    try:
        make_provider(find_dns(deps.settings, record.provider)).cleanup(record.fqdn, record.value)
    except ZtError as exc:
        message = f"could not remove {what} left by an interrupted order: {exc.message}"
        _note(deps, record, EventKind.DNS_CLEANUP_FAILED, message)
        return f"{record.cert}: {message}"
    deps.challenges.remove_dns_record(record)
    _note(deps, record, EventKind.DNS_REMOVED, f"{what} removed: an interrupted order had left it")
    return ""


def _note(deps: Deps, record: DnsRecord, kind: EventKind, message: str) -> None:
    """Journal ``message`` in the order that added the record (when it is still there) and report it."""
    at = deps.clock.now()
    if record.order_id and deps.journal.order_result(record.order_id, record.cert) is not None:
        deps.journal.add_event(record.order_id, kind.value, message, at, None)
    deps.progress(ProgressEvent(record.cert or f"dns test {record.provider}", kind, message, at))
