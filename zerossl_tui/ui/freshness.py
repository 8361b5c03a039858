"""Whether the dashboard's rows can have changed since it last read them, without reading them.

The dashboard looks again every half minute, for what other processes did (the daemon's renewals, a `zerossl-tui
add` in another terminal). Reading 10,000 rows costs about half a second of CPU, so it first compares the
service's stamp of the files those rows come from (``service/stamp.py``: a handful of ``stat`` calls, nothing
opened) with the stamp taken before its last read, and reads again only when:
- a file changed: the journal (orders, renewal state; another process's order starts and ends there), the meta
  index (every new version), ``served.json``, each with its SQLite write-ahead log. A file's stamp is
  (modification time in ns, size, inode): an append changes the size, a rewrite by rename the inode;
- the settings changed (the scheduler reloads them when the file changes: a new object);
- a row's status changes with time (it becomes due, expiring, expired: the earliest such moment is kept);
- ``FULL_EVERY`` has passed since the last read: the one net for what the stamp does not see (a
  ``current`` pointer rewritten by another program, which also does not write the journal);
- the storage is PostgreSQL (a fleet: its changes are not in local files): always.
No Textual here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..core.models import CertificateView
from ..core.policy import emergency_at

if TYPE_CHECKING:
    from ..service.stamp import Stamp

FULL_EVERY = timedelta(minutes=10)


def next_status_change(views: Iterable[CertificateView], now: datetime) -> datetime:
    """The earliest moment after ``now`` when one of ``views`` changes status by time alone (due at its
    next renewal, expiring at 1/20 of its lifetime left, expired at its end); far ahead when none does."""
    moments = [far_future(now)]
    for view in views:
        info = view.info
        candidates = [view.next_renewal] if info is None else [
            view.next_renewal, emergency_at(info), info.not_after]
        moments.extend(at for at in candidates if at is not None and at > now)
    return min(moments)


def far_future(now: datetime) -> datetime:
    """A moment no row waits for (``datetime.max`` in ``now``'s time zone)."""
    return datetime.max.replace(tzinfo=now.tzinfo)


@dataclass
class Freshness:
    """What the last read of the rows saw: compare before reading them again."""

    stamp: Stamp | None = None
    settings: object = None
    until: datetime | None = None
    read_at: datetime | None = None

    def unchanged(self, stamp: Stamp | None, settings: object, now: datetime) -> bool:
        """True when a read now would give the rows of the last read (see the module docstring)."""
        if stamp is None or self.until is None or self.read_at is None:
            return False
        return (stamp == self.stamp and settings is self.settings and now < self.until
                and self.read_at <= now < self.read_at + FULL_EVERY)

    def record(self, stamp: Stamp | None, settings: object, views: Iterable[CertificateView], now: datetime) -> None:
        """Remember a read: the stamp and settings taken *before* it, and when its rows change by time."""
        self.stamp, self.settings, self.read_at = stamp, settings, now
        self.until = next_status_change(views, now)
