"""Pure text helpers for the dashboard: countdowns, summaries, status words. No Textual, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from ..core.models import CertificateView, CertInfo, CertStatus
from ..core.policy import emergency_at, lifetime_renewal_at

COUNTDOWN_WIDTH = 16
STATUS_WORDS = {
    CertStatus.VALID: "valid",
    CertStatus.DUE: "due",
    CertStatus.EXPIRING: "expiring soon",
    CertStatus.EXPIRED: "expired",
    CertStatus.FAILED: "failed",
    CertStatus.ISSUING: "issuing",
    CertStatus.NEVER_ISSUED: "never issued",
    CertStatus.REVOKED: "revoked",
}

STEP_WORDS = {
    "started": "starting", "account": "account", "order-created": "ordering", "challenge-presented": "challenge",
    "authorization-valid": "authorized", "finalizing": "finalizing", "processing": "CA processing",
    "issued": "issued", "deployed": "deploying", "hook": "running hook", "retry": "retrying",
    "failed": "failing", "cancelled": "cancelling",
}
STATUS_WIDTH = 22
RENEWAL_WIDTH = 24


def countdown(seconds: float) -> str:
    """``12d 04h`` until a moment a day or more away, ``4h 03m 09s`` within a day (it ticks each second
    only then); ``expired 3d ago`` once it has passed. Always 16 columns."""
    if seconds < 0:
        return _since(-seconds).rjust(COUNTDOWN_WIDTH)
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h".rjust(COUNTDOWN_WIDTH)
    text = f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"
    return text.rjust(COUNTDOWN_WIDTH)


def countdown_changes_in(seconds: float) -> float:
    """Seconds until ``countdown(seconds)`` shows other text, as ``seconds`` falls with time: an hour at
    most a day or more away, a second within a day, a minute, an hour or a day once expired."""
    if seconds >= 0:
        return _next_step(seconds, 3600 if seconds >= 86400 else 1)
    since = -seconds
    unit = 86400 if since >= 86400 else 3600 if since >= 3600 else 60
    return unit - since % unit + STEP_MARGIN


def span_changes_in(seconds: float) -> float | None:
    """Seconds until ``span(seconds)`` shows other text, as ``seconds`` falls; None once it is 0."""
    if seconds <= 0:
        return None
    return _next_step(seconds, 3600 if seconds >= 86400 else 60 if seconds >= 3600 else 1)


STEP_MARGIN = 0.001  # just past the step, so that the whole-second arithmetic has moved on


def _next_step(seconds: float, unit: int) -> float:
    """Seconds until a falling ``seconds`` goes below its current multiple of ``unit``."""
    return seconds % unit + STEP_MARGIN


def _since(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    if days:
        return f"expired {days}d ago"
    hours, rest = divmod(rest, 3600)
    if hours:
        return f"expired {hours}h ago"
    return f"expired {rest // 60}m ago"


def expiry_text(info: CertInfo | None, now: datetime) -> str:
    """The live expiry countdown cell, or a dash when there is no certificate yet."""
    if info is None:
        return "-".rjust(COUNTDOWN_WIDTH)
    return countdown((info.not_after - now).total_seconds())


def urgency(info: CertInfo | None, now: datetime) -> str:
    """How worrying the expiry is: ``none``, ``ok``, ``soon`` (renewal window), ``urgent`` or ``expired``."""
    if info is None:
        return "none"
    if now >= info.not_after:
        return "expired"
    if now >= emergency_at(info):
        return "urgent"
    if now >= lifetime_renewal_at(info):
        return "soon"
    return "ok"


def span(seconds: float) -> str:
    """A coarse duration: ``3d 04h``, ``5h 12m``, ``4m 09s``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def next_renewal_text(view: CertificateView, now: datetime) -> str:
    """When the next renewal happens and which rule chose it: ``in 20d 03h (ari)``, ``now (backoff)``."""
    if view.next_renewal is None:
        return "-"
    seconds = (view.next_renewal - now).total_seconds()
    when = "now" if seconds <= 0 else f"in {span(seconds)}"
    return f"{when} ({view.renewal_source})" if view.renewal_source else when


def domains_text(domains: tuple[str, ...]) -> str:
    """The first domain, and ``+N`` for the others."""
    if not domains:
        return "-"
    extra = f" +{len(domains) - 1}" if len(domains) > 1 else ""
    return clip(domains[0], 30 - len(extra)) + extra


def step_text(step: str) -> str:
    """A running order's status cell: ``queued`` or ``issuing: challenge``."""
    if step == "queued":
        return "queued"
    return f"issuing: {STEP_WORDS.get(step, step)}"


def status_text(view: CertificateView) -> str:
    """The status word for a row that has no order running in this dashboard."""
    return STATUS_WORDS.get(view.status, view.status.value)


def last_result_text(view: CertificateView, limit: int = 26) -> str:
    """The last order's result, with the start of its error when it failed."""
    if not view.last_result:
        return "-"
    if view.last_result in ("failed", "cancelled") and view.last_error:
        return clip(f"{view.last_result}: {view.last_error}", limit)
    return view.last_result


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clock_text(at: datetime | None) -> str:
    """A moment as ``2025-01-31 14:03:09 UTC``, or a dash."""
    if at is None:
        return "-"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def matches(view: CertificateView, needle: str) -> bool:
    """True when the filter text occurs in the certificate's name or one of its domains."""
    needle = needle.strip().lower()
    if not needle:
        return True
    return needle in view.spec.name.lower() or any(needle in d for d in view.spec.domains)
