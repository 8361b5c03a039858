"""Renewal policy: pure functions of (certificate, renewal state, now). No I/O, no clock reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .models import CertInfo, CertStatus, RenewalState

SHORT_LIFETIME = timedelta(days=10)
EXPIRING_FRACTION = 1 / 20
JITTER_FRACTION = 1 / 50
ARI_RETRY_MIN = timedelta(minutes=1)
ARI_RETRY_MAX = timedelta(days=1)
ARI_FAILURE_RETRY = timedelta(hours=6)


@dataclass(frozen=True)
class Decision:
    """When a certificate should next be renewed, and why (``lifetime``, ``emergency``, ``backoff``, ...)."""

    at: datetime
    source: str


def lifetime_renewal_at(info: CertInfo) -> datetime:
    """Renew when 1/3 of the lifetime remains (1/2 for lifetimes of 10 days or less), minus a jitter.

    The jitter (up to 1/50 of the lifetime, never later) comes from the serial, so it is stable across
    restarts and processes, and spreads certificates issued together over time.
    """
    lifetime = info.not_after - info.not_before
    fraction = 1 / 2 if lifetime <= SHORT_LIFETIME else 1 / 3
    return info.not_after - lifetime * fraction - lifetime * (JITTER_FRACTION * jitter_unit(info.serial))


def jitter_unit(serial: str) -> float:
    """A number in [0, 1) derived from the serial (random bits chosen by the CA)."""
    try:
        return (int(serial, 16) % 1009) / 1009
    except ValueError:
        return 0.0


def ari_moment(start: datetime, end: datetime, unit: float) -> datetime:
    """A moment inside the ARI window; ``unit`` is a uniform random number in [0, 1)."""
    if end <= start:
        return start
    return start + (end - start) * unit


def clamp_ari_retry(seconds: float | None) -> timedelta:
    """The CA's Retry-After for ARI, clamped to 1 minute .. 1 day (6 hours when it gave none)."""
    if seconds is None:
        return ARI_FAILURE_RETRY
    return min(ARI_RETRY_MAX, max(ARI_RETRY_MIN, timedelta(seconds=seconds)))


def emergency_at(info: CertInfo) -> datetime:
    """The moment after which we renew whatever ARI says: 1/20 of the lifetime left."""
    return info.not_after - (info.not_after - info.not_before) * EXPIRING_FRACTION


def next_renewal(info: CertInfo | None, state: RenewalState, now: datetime) -> Decision:
    """The next moment to attempt renewal and the rule that chose it."""
    if info is None:
        base = Decision(now, "lifetime")  # no certificate yet: its whole lifetime is used up
    else:
        base = _base_decision(info, state, now)
    return _apply_holds(base, state, info, now)


def is_revoked(info: CertInfo | None, state: RenewalState) -> bool:
    """True when the current certificate is the one that was revoked (a new one clears this)."""
    return info is not None and bool(state.revoked_serial) and state.revoked_serial == info.serial


def _base_decision(info: CertInfo, state: RenewalState, now: datetime) -> Decision:
    if is_revoked(info, state):
        return Decision(state.revoked_at or info.not_before, "revoked")  # browsers may refuse it: replace it
    emergency = emergency_at(info)
    if state.ari_chosen is not None:
        # ARI leads, but never later than the point where 1/20 of the lifetime is left.
        return Decision(state.ari_chosen, "ari") if state.ari_chosen < emergency else Decision(
            emergency, "emergency")
    lifetime = lifetime_renewal_at(info)
    if lifetime >= emergency:
        return Decision(emergency, "emergency")
    return Decision(lifetime, "lifetime")


def _apply_holds(
    base: Decision, state: RenewalState, info: CertInfo | None, now: datetime
) -> Decision:
    """A backoff after failures or a CA's rate limit postpones an attempt (see ``retry_delay``)."""
    hold, source = _hold(state)
    if hold is None or hold <= base.at:
        return base
    return Decision(hold, source)


def _hold(state: RenewalState) -> tuple[datetime | None, str]:
    candidates = [
        (state.rate_limited_until, "rate-limit"),
        (state.next_attempt, "backoff"),
    ]
    present = [(at, src) for at, src in candidates if at is not None]
    if not present:
        return None, ""
    return max(present, key=lambda pair: pair[0])


def is_due(info: CertInfo | None, state: RenewalState, now: datetime) -> bool:
    """True when an attempt should be made now."""
    return next_renewal(info, state, now).at <= now


def backoff_delay(failures: int) -> timedelta:
    """1 minute after the first failure, doubling, capped at 6 hours."""
    return timedelta(minutes=min(2 ** max(failures - 1, 0), 360))


MIN_RETRY = timedelta(seconds=5)


def retry_delay(failures: int, info: CertInfo | None, now: datetime) -> timedelta:
    """How long to wait after a failed attempt: the backoff, but never more than a quarter of the time
    the served certificate has left, so that attempts grow more frequent as expiry nears."""
    delay = backoff_delay(failures)
    if info is None or now >= info.not_after:
        return delay
    return min(delay, max(MIN_RETRY, (info.not_after - now) / 4))


def usable_ari_window(info: CertInfo, start: datetime, end: datetime) -> bool:
    """An ARI window is used only when it lies within the certificate's lifetime; a CA that answers
    otherwise (Pebble does for very short lifetimes) gets the lifetime rule instead."""
    return info.not_before <= start <= end <= info.not_after


def status_of(info: CertInfo | None, state: RenewalState, now: datetime, issuing: bool,
              decision: Decision | None = None) -> CertStatus:
    """The status word shown in ``list`` and on the dashboard; ``decision``: ``next_renewal`` of the same
    arguments when the caller has it already (a view computes it once per row, not twice)."""
    if issuing:
        return CertStatus.ISSUING
    if info is None:
        return CertStatus.FAILED if state.failures else CertStatus.NEVER_ISSUED
    if now >= info.not_after:
        return CertStatus.EXPIRED
    if is_revoked(info, state):
        return CertStatus.REVOKED
    if now >= emergency_at(info):
        return CertStatus.EXPIRING
    if state.failures:
        return CertStatus.FAILED
    if now >= (decision or next_renewal(info, state, now)).at:
        return CertStatus.DUE
    return CertStatus.VALID
