"""A cheap stamp of the local files a certificate listing comes from, so that a long-running reader (the
dashboard's half-minute look) can tell that nothing changed without reading 10,000 rows.

The files: the journal (orders, renewal state), the meta index (every new version), ``served.json``, and the
journal's and index's SQLite write-ahead logs. A file's stamp is (modification time in ns, size, inode): an
append changes the size, a rewrite by rename the inode; a missing file is None in its place.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..storage.meta_index import INDEX_FILE
from ..storage.paths import Paths
from .verify import SERVED_FILE

FileStamp = tuple[int, int, int] | None
Stamp = tuple[FileStamp, ...]


def data_stamp(paths: Paths, backend: str) -> Stamp | None:
    """The stamp of every file whose change can change a listed row; None when the rows do not come from
    local files (PostgreSQL: a fleet's changes are not in local files)."""
    if backend == "postgresql":
        return None
    files = [paths.journal_path, paths.data_dir / INDEX_FILE]
    files += [Path(f"{path}-wal") for path in files]
    return tuple(_stat(path) for path in [*files, paths.data_dir / SERVED_FILE])


def _stat(path: Path) -> FileStamp:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino
