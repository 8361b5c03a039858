"""The dns-01 solver for the order flow: queue every TXT value of an order, put them all up at once,
wait until the resolvers see them, and remove exactly those afterwards.

``AcmeSession`` calls ``present(domain, token, value)`` per authorization (queueing only), then
``publish_pending`` once (this is where records are added and the propagation check runs), and
``cleanup(domain, token)`` per authorization in its ``finally``: after success, failure, timeout and cancel.
Every record is reported to ``on_record_added(fqdn, value, provider)`` *before* it is added, so that a crash
at any moment leaves it in the caller's journal, and to ``on_record_removed`` once it is gone.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from ...core.clock import SYSTEM_CLOCK, Clock
from ...core.errors import Cancelled, ZtError
from ...core.models import EventKind
from .lookup import Lookup, Server, follow_cname, resolve_server, show
from .lookup import authoritative_servers as find_authoritative
from .propagation import DEFAULT_TIMEOUT, ProgressFn, VisibilityCheck, wait_visible
from .providers import DnsProvider, DnsRefused, TxtRecord

RecordHook = Callable[[str, str, str], None]  # (fqdn, value, DNS provider name)


def _no_progress(kind: EventKind, message: str, retry_after: float | None) -> None:
    """Progress sink used until the order hands one over."""


@dataclass
class _Entry:
    domain: str
    token: str
    value: str
    record: TxtRecord | None = None  # set once the record may exist (journaled, present tried)


class Dns01Solver:
    """Solves dns-01 through one DNS provider. ``resolvers`` (``HOST[:PORT]``) are where visibility is
    checked; empty means each zone's authoritative servers (NS addresses, on ``authoritative_port``)."""

    challenge_type = "dns-01"

    def __init__(self, provider: DnsProvider, *, resolvers: tuple[str, ...] = (),
                 propagation_timeout: float = DEFAULT_TIMEOUT, authoritative_port: int = 53,
                 on_record_added: RecordHook | None = None, on_record_removed: RecordHook | None = None,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.provider = provider
        self.lookup: Lookup = provider.zones.lookup
        self.resolvers = tuple(resolvers)
        self.propagation_timeout = propagation_timeout
        self.authoritative_port = authoritative_port
        self.on_record_added = on_record_added
        self.on_record_removed = on_record_removed
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._progress: ProgressFn = _no_progress

    # --- the http-01 Solver shape, so the service can use either with ``with solver:`` --------------

    def start(self) -> None:
        """Nothing to start: records go up in ``publish_pending``."""

    def stop(self) -> None:
        """Remove whatever is still up (the order flow normally has removed everything already)."""
        self.cleanup_all()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def present(self, domain: str, token: str, value: str) -> None:
        """Queue the TXT ``value`` (the challenge's validation) for ``_acme-challenge.<domain>``."""
        with self._lock:  # a wildcard's authorization names the bare domain; strip "*." if a CA did not
            self._entries[token] = _Entry(domain.removeprefix("*."), token, value)

    # --- the dns-01 steps -------------------------------------------------------------------------

    def publish(self, progress: ProgressFn, cancel: threading.Event, max_wait: float | None = None
                ) -> list[TxtRecord]:
        """Add every queued record, then wait until every resolver answers all of them (at most the
        propagation timeout, and ``max_wait`` seconds when given). Returns the records added."""
        self._progress = progress
        self.provider.cancel = cancel
        with self._lock:
            todo = [e for e in self._entries.values() if e.record is None]
        records = [self._put(entry, cancel) for entry in todo]
        if not records:
            return []
        self.provider.presented(records)
        timeout = self.propagation_timeout if max_wait is None else max(0.0, min(self.propagation_timeout,
                                                                                 max_wait))
        wait_visible(self._checks(records), who=self.provider.who, cancel=cancel, progress=progress,
                     timeout=timeout, stop_early=self.provider.continue_event, clock=self.clock,
                     on_visible=lambda check: self.provider.visible(check.fqdn, show(check.server)))
        return records

    def _put(self, entry: _Entry, cancel: threading.Event) -> TxtRecord:
        if cancel.is_set():
            raise Cancelled(f"cancelled before adding the TXT record for {entry.domain}")
        default = f"_acme-challenge.{entry.domain}"
        fqdn = follow_cname(default, self.lookup)
        record = TxtRecord(entry.domain, fqdn, entry.value, self.provider.zones.zone_for(fqdn))
        self._announce(self.on_record_added, record)
        entry.record = record
        try:
            self.provider.present(fqdn, entry.value)
        except DnsRefused:  # the provider said no: nothing was added, nothing to clean up
            entry.record = None
            self._announce(self.on_record_removed, record)
            raise
        note = f" (delegated from {default})" if fqdn != default.lower() else ""
        self._progress(EventKind.DNS_PRESENTED, f"TXT {fqdn} = {entry.value} added through "
                       f"{self.provider.who}{note}", None)
        return record

    def _checks(self, records: list[TxtRecord]) -> list[VisibilityCheck]:
        """One check per (resolver, name), each expecting every value this order put at that name."""
        values: dict[str, set[str]] = {}
        zones: dict[str, str] = {}
        for record in records:
            values.setdefault(record.fqdn, set()).add(record.value)
            zones[record.fqdn] = record.zone
        servers_of: dict[str, list[Server]] = {}
        checks = []
        for fqdn, wanted in values.items():
            zone = zones[fqdn]
            if zone not in servers_of:
                servers_of[zone] = self._resolvers_for(zone)
            checks += [VisibilityCheck(server, fqdn, frozenset(wanted)) for server in servers_of[zone]]
        return checks

    def _resolvers_for(self, zone: str) -> list[Server]:
        if self.resolvers:
            return [resolve_server(r) for r in self.resolvers]
        return find_authoritative(zone, self.lookup, self.authoritative_port)

    def cleanup(self, domain: str, token: str) -> None:
        """Remove the record of ``token`` if it may have been added; DnsError (after a
        ``dns-cleanup-failed`` event) when the provider could not, and then it stays journaled."""
        with self._lock:
            entry = self._entries.pop(token, None)
        if entry is not None and entry.record is not None:
            self._remove(entry.record)

    def cleanup_all(self) -> None:
        """Remove every record still up; failures are reported as events, not raised."""
        with self._lock:
            tokens = list(self._entries)
        for token in tokens:
            try:
                self.cleanup("", token)
            except ZtError:
                pass

    def _remove(self, record: TxtRecord) -> None:
        self.provider.cancel = threading.Event()  # a cancelled order must still clean up
        try:
            self.provider.cleanup(record.fqdn, record.value)
        except ZtError as exc:
            self._progress(EventKind.DNS_CLEANUP_FAILED, f"could not remove TXT {record.fqdn} = {record.value}: "
                           f"{exc.message}", None)
            raise
        self._announce(self.on_record_removed, record)
        self._progress(EventKind.DNS_REMOVED, f"TXT {record.fqdn} = {record.value} removed", None)

    def _announce(self, hook: RecordHook | None, record: TxtRecord) -> None:
        if hook is not None and self.provider.journaled:
            hook(record.fqdn, record.value, self.provider.name)

    # --- `dns test` ---------------------------------------------------------------------------------

    def probe(self, domain: str, progress: ProgressFn, cancel: threading.Event) -> TxtRecord:
        """Put a random TXT at ``_acme-challenge.<domain>``, wait until visible, remove it: the way to
        check a provider's settings before the first order. Each step is a progress event."""
        token = "probe-" + secrets.token_urlsafe(8)
        self.present(domain, token, secrets.token_urlsafe(32))
        try:
            record = self.publish(progress, cancel)[0]
        except BaseException:
            self.cleanup_all()  # the error on its way out says more than a failed removal would
            raise
        self.cleanup(domain, token)
        return record


def publish_pending(solver: object, progress: ProgressFn, cancel: threading.Event, seconds_left: float) -> None:
    """For the order flow: when ``solver`` solves dns-01, add its queued records and wait until they are
    visible (within ``seconds_left`` of the order's deadline); nothing for other solvers."""
    if isinstance(solver, Dns01Solver):
        solver.publish(progress, cancel, seconds_left)
