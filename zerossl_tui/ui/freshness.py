"""Whether the dashboard's rows can have changed since it last read them, without reading them.

The dashboard looks again every half minute, for what other processes did (the daemon's renewals, a `zerossl-tui
add` in another terminal). Reading 10,000 rows costs about half a second of CPU, so it first compares the
service's stamp of the files those rows come from (``service/stamp.py``: a handful of ``stat`` calls, nothing
opened) with the stamp taken before its last read, and reads every row again only when:
- another process changed the journal (orders, renewal state: its SQLite ``data_version``), or a file
  changed: the meta index (every new version) with its write-ahead log, ``served.json``. A file's stamp is
  (modification time in ns, size, inode): an append changes the size, a rewrite by rename the inode;
- this process wrote anything but renewal states to the journal (an order of its own);
- the settings changed (the scheduler reloads them when the file changes: a new object);
- a row's status changes with time (it becomes due, expiring, expired: the earliest such moment is kept);
- ``FULL_EVERY`` has passed since the last read: the one net for what the stamp does not see (a
  ``current`` pointer rewritten by another program, which also does not write the journal);
- the storage is PostgreSQL (a fleet: its changes are not in local files): always.
When only this process's renewal states changed (the in-process scheduler's ARI pass commits its answers 20
at a time all through a first pass of up to 2 hours at 10,000), the look reads again only those rows and the
table updates only their cells (``read`` says ``partial``): before, each look read all 10,000 and
re-measured the table, about 1 s of CPU every half minute (5.97% of a core at 10,000). No Textual here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..core.models import CertificateView
from ..core.policy import emergency_at

if TYPE_CHECKING:
    from ..service.service import CertificateService
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
    own: int = 0  # the mark of this process's journal writes (``own_changes``) taken before the last read

    def unchanged(self, stamp: Stamp | None, settings: object, now: datetime) -> bool:
        """True when a read now would give the rows of the last read (see the module docstring)."""
        if stamp is None or self.until is None or self.read_at is None:
            return False
        return (stamp == self.stamp and settings is self.settings and now < self.until
                and self.read_at <= now < self.read_at + FULL_EVERY)

    def read(self, service: CertificateService, now: datetime, only_if_changed: bool = False
             ) -> tuple[list[CertificateView], bool] | None:
        """Read the rows: (every row, False); with ``only_if_changed``, (the rows whose renewal state this
        process alone wrote, True) or None when no row can have changed. Called in a worker thread."""
        from ..service.stamp import own_changes  # with the stamp, in the worker: not at the app's start

        stamp, settings = service.data_stamp(), service.settings
        own, written = own_changes(service.journal, self.own)
        if only_if_changed and written is not None and self.unchanged(stamp, settings, now):
            if not written:
                return None
            views = service.views(sorted(written & settings.certificates.keys()))
            self.record_some(views, now, own)
            return views, True
        views = service.views()
        self.record(stamp, settings, views, now, own)
        return views, False

    def record(self, stamp: Stamp | None, settings: object, views: Iterable[CertificateView], now: datetime,
               own: int = 0) -> None:
        """Remember a read: the stamp, settings and mark taken *before* it, and when its rows change by time."""
        self.stamp, self.settings, self.read_at, self.own = stamp, settings, now, own
        self.until = next_status_change(views, now)

    def record_some(self, views: Iterable[CertificateView], now: datetime, own: int) -> None:
        """Remember a read of some rows (``own`` taken before it): the others are as the last read saw them,
        and the earliest moment a row changes by time is the earlier of theirs and these rows'."""
        self.own = own
        if self.until is not None:
            self.until = min(self.until, next_status_change(views, now))
