"""A cheap stamp of what a certificate listing comes from, so that a long-running reader (the dashboard's
half-minute look) can tell that nothing changed without reading 10,000 rows.

What other processes change: the journal (orders, renewal state), told by SQLite's ``PRAGMA data_version``
on this process's connection, which changes at every commit of another connection and never for this
one's own; the meta index (every new version) and its write-ahead log, and ``served.json``, by their file
stamps: (modification time in ns, size, inode), an append changes the size, a rewrite by rename the inode;
a missing file is None in its place. What this process commits to the journal itself is told apart by
``own_changes``: the in-process scheduler's ARI pass writes renewal states in batches all through its pass
(up to about 2 hours at 10,000), and each batch changed the journal file's stamp, so the look read all 10,000
rows every half minute; now it reads again the rows of those states only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.errors import ZtError
from ..storage.meta_index import INDEX_FILE
from ..storage.paths import Paths
from .verify import SERVED_FILE

FileStamp = tuple[int, int, int] | None
Stamp = tuple[object, ...]


def data_stamp(paths: Paths, backend: str, journal: Any = None) -> Stamp | None:
    """The stamp of everything whose change by another process can change a listed row; None when the rows
    do not come from local files (PostgreSQL: a fleet's changes are not in local files)."""
    if backend == "postgresql":
        return None
    index = paths.data_dir / INDEX_FILE
    files = [index, Path(f"{index}-wal"), paths.data_dir / SERVED_FILE]
    return (_journal_part(paths, journal), *(_stat(path) for path in files))


def own_changes(journal: Any, since: int) -> tuple[int, frozenset[str] | None]:
    """What this process committed to ``journal`` after mark ``since`` (``Journal.own_changes``): the mark
    now, and the certificates whose renewal state it wrote, or None when it wrote anything else too. A
    journal that cannot tell is stamped by its files instead (``_journal_part``): nothing to add here."""
    if not _tells_own(journal):
        return since, frozenset()
    mark, names = journal.own_changes(since)
    return int(mark), names


def _journal_part(paths: Paths, journal: Any) -> object:
    """The journal's part of the stamp: (which connection, its data_version) when the journal tells its own
    commits apart; else the stamps of its file and write-ahead log (they change with our writes too)."""
    if _tells_own(journal):
        try:
            return id(journal), journal.data_version()
        except ZtError:
            pass  # the journal away: its files say what they can, and the read that follows reports it
    return _stat(paths.journal_path), _stat(Path(f"{paths.journal_path}-wal"))


def _tells_own(journal: Any) -> bool:
    return callable(getattr(journal, "own_changes", None)) and callable(getattr(journal, "data_version", None))


def _stat(path: Path) -> FileStamp:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino
