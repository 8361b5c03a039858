"""Wait until every resolver answers every TXT value the order put up, before the CA is asked to look.

Each round asks every resolver that does not see its values yet (one UDP query each, TCP when truncated);
between rounds it waits on the cancel event, from 50 ms growing to 2 s, so a fast primary is seen at once
and a slow secondary is not hammered. Progress: ``dns-visible`` once per resolver and name, ``dns-timeout``
when the time is up (then DnsError naming what is still missing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dns.message
import dns.rdatatype

from ...core.clock import SYSTEM_CLOCK, Clock
from ...core.errors import Cancelled, DnsError
from ...core.models import EventKind
from .lookup import QUERY_TIMEOUT, Server, absolute, ask, show

DEFAULT_TIMEOUT = 120.0
FIRST_WAIT = 0.05
MAX_WAIT = 2.0
GROWTH = 1.5

ProgressFn = Callable[[EventKind, str, float | None], None]


@dataclass(frozen=True)
class VisibilityCheck:
    """``server`` must answer every one of ``values`` at ``fqdn``."""

    server: Server
    fqdn: str
    values: frozenset[str]


def seen_values(server: Server, fqdn: str, timeout: float = QUERY_TIMEOUT) -> set[str] | None:
    """The TXT values ``server`` answers at ``fqdn`` now; None when it does not answer."""
    response = ask(dns.message.make_query(absolute(fqdn), dns.rdatatype.TXT), server, timeout)
    if response is None:
        return None
    return {b"".join(rd.strings).decode(errors="replace") for rrset in response.answer
            if rrset.rdtype == dns.rdatatype.TXT and rrset.name == absolute(fqdn) for rd in rrset}


@dataclass
class _State:
    check: VisibilityCheck
    seen: set[str] | None = None

    def describe(self) -> str:
        if self.seen is None:
            return "it does not answer"
        found = len(self.check.values & self.seen)
        return f"it answers {found} of {len(self.check.values)} values"


def wait_visible(checks: Sequence[VisibilityCheck], *, who: str, cancel: threading.Event,
                 progress: ProgressFn, timeout: float = DEFAULT_TIMEOUT, stop_early: threading.Event | None = None,
                 clock: Clock = SYSTEM_CLOCK, query_timeout: float = QUERY_TIMEOUT,
                 on_visible: Callable[[VisibilityCheck], None] | None = None) -> None:
    """Return once every check passes, or once ``stop_early`` is set (a person said so); Cancelled on
    cancel; DnsError (after a ``dns-timeout`` event) when ``timeout`` seconds pass first. ``on_visible``
    hears of each check as it passes (the manual dialog's live column)."""
    pending = [_State(c) for c in checks]
    deadline, wait = clock.monotonic() + timeout, FIRST_WAIT
    while True:
        pending = [s for s in pending if not _passes(s, progress, cancel, query_timeout, on_visible)]
        if not pending or (stop_early is not None and stop_early.is_set()):
            return
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            raise _timed_out(pending, who, timeout, progress)
        if cancel.wait(min(wait, remaining)):
            raise Cancelled(f"cancelled while waiting for {pending[0].check.fqdn} TXT to be visible")
        wait = min(wait * GROWTH, MAX_WAIT)


def _passes(state: _State, progress: ProgressFn, cancel: threading.Event, query_timeout: float,
            on_visible: Callable[[VisibilityCheck], None] | None) -> bool:
    if cancel.is_set():
        raise Cancelled(f"cancelled while waiting for {state.check.fqdn} TXT to be visible")
    check = state.check
    state.seen = seen_values(check.server, check.fqdn, query_timeout)
    if state.seen is None or not check.values <= state.seen:
        return False
    count = len(check.values)
    progress(EventKind.DNS_VISIBLE, f"{show(check.server)} answers {check.fqdn} TXT "
             f"({count} value{'s' if count > 1 else ''})", None)
    if on_visible is not None:
        on_visible(check)
    return True


def _timed_out(pending: list[_State], who: str, timeout: float, progress: ProgressFn) -> DnsError:
    first = pending[0]
    more = f" (and {len(pending) - 1} more)" if len(pending) > 1 else ""
    message = (f"{who}: {first.check.fqdn} TXT not visible at {show(first.check.server)} after {timeout:g} s: "
               f"{first.describe()}{more}; check the provider, or raise propagation_timeout")
    progress(EventKind.DNS_TIMEOUT, message, None)
    return DnsError(message)
