"""The next 90 days in buckets (a day or a week each): what expires, what renews, what is in trouble.

Pure computation over the views, one pass, no Textual: the timeline widget only draws what ``build``
returns. Moments already past (a renewal that is due, a certificate that expired) land in the first bucket,
today's, because that is when they need attention.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..core.models import CertificateView, CertStatus

HORIZON_DAYS = 90
WEEK = 7
TROUBLE_SOURCES = frozenset({"backoff", "rate-limit"})
TROUBLE_STATUSES = frozenset({CertStatus.FAILED, CertStatus.EXPIRED})


@dataclass
class Bucket:
    """One column of the strip: the certificates that expire, renew, or are in trouble in it."""

    start: datetime
    end: datetime
    expiring: list[str] = field(default_factory=list)
    renewing: list[str] = field(default_factory=list)
    troubled: list[str] = field(default_factory=list)

    @property
    def names(self) -> frozenset[str]:
        """Every certificate that has something happening in this bucket."""
        return frozenset(self.expiring) | frozenset(self.renewing) | frozenset(self.troubled)

    def label(self) -> str:
        """``2025-06-04`` for a day, ``2025-06-02 – 2025-06-08`` for a week."""
        last = self.end - timedelta(days=1)
        first = f"{self.start:%Y-%m-%d}"
        return first if last.date() == self.start.date() else f"{first} – {last:%Y-%m-%d}"


@dataclass(frozen=True)
class Timeline:
    """The buckets from today's midnight (UTC) over ``HORIZON_DAYS``, and where ``now`` falls."""

    start: datetime
    now: datetime
    days: int
    buckets: tuple[Bucket, ...]

    @property
    def peak(self) -> int:
        """The largest count in any bucket (scales the bars; at least 1)."""
        return max([1, *(max(len(b.expiring), len(b.renewing)) for b in self.buckets)])


def day_start(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s day."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def bucket_days(columns: int) -> int:
    """A day per column when 90 columns fit, else a week per column."""
    return 1 if columns >= HORIZON_DAYS else WEEK


def is_troubled(view: CertificateView) -> bool:
    """A failed or backing-off renewal, a rate limit, or a certificate already expired."""
    return view.renewal_source in TROUBLE_SOURCES or view.status in TROUBLE_STATUSES


def build(views: Iterable[CertificateView], now: datetime, days: int = 1) -> Timeline:
    """One pass over ``views``: each certificate counted in the bucket of its expiry and of its renewal."""
    start = day_start(now)
    size = timedelta(days=days)
    count = -(-HORIZON_DAYS // days)
    buckets = tuple(Bucket(start + size * i, start + size * (i + 1)) for i in range(count))
    span = size.total_seconds()
    for view in views:
        _place(view, buckets, start, span)
    return Timeline(start, now, days, buckets)


def _index(at: datetime, start: datetime, span: float, count: int) -> int | None:
    """The bucket of ``at`` (past moments: the first one), None beyond the horizon."""
    index = max(0, int((at - start).total_seconds() // span))
    return index if index < count else None


def shift(timeline: Timeline, moved: Iterable[tuple[CertificateView, CertificateView]]) -> None:
    """Move each certificate of ``moved`` (its old view, its new view) from the buckets of its old view to
    those of its new one, as ``build`` would place it: a few rows changed, not a pass over 10,000."""
    span = timedelta(days=timeline.days).total_seconds()
    for old, new in moved:
        _place(old, timeline.buckets, timeline.start, span, list.remove)
        _place(new, timeline.buckets, timeline.start, span)


def _place(view: CertificateView, buckets: tuple[Bucket, ...], start: datetime, span: float,
           put: Callable[[list[str], str], None] = list.append) -> None:
    name = view.spec.name
    if view.info is not None:
        at = _index(view.info.not_after, start, span, len(buckets))
        if at is not None:
            put(buckets[at].expiring, name)
    if view.next_renewal is not None:
        at = _index(view.next_renewal, start, span, len(buckets))
        if at is not None:
            put(buckets[at].renewing, name)
            if is_troubled(view):
                put(buckets[at].troubled, name)
    elif is_troubled(view):
        put(buckets[0].troubled, name)


def summary(bucket: Bucket) -> str:
    """``2025-06-04: 2 renewals, 1 expiry, 1 failing``: the words for a selected column."""
    parts = [_plural(len(bucket.renewing), "renewal"), _plural(len(bucket.expiring), "expiry", "expiries")]
    if bucket.troubled:
        parts.append(f"{len(bucket.troubled)} failing")
    return f"{bucket.label()}: " + ", ".join(parts)


def _plural(count: int, one: str, many: str = "") -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"
