"""An index of every certificate's current metadata, so that ``list`` and the dashboard read one small
SQLite table instead of two files per certificate (at 10,000 certificates: 20,000 opens and reads).

The files stay the truth. Each row keeps the ``current`` pointer's version and a stamp of both files it
stands for, the pointer and that version's ``meta.json`` (status-change time in ns, size and inode of
each), taken when the row was written; a reader stats the two (cheap: no open, no read) and uses the row
only when the stamp still matches. Anything else (no row, a pointer rewritten by another program or an
older zerossl-tui, a meta.json edited or deleted by hand, a restored backup) falls back to reading the
files, and the row is refreshed. The change time (``st_ctime_ns``) is used, not the modification time: a
tool that writes in place and sets the modification time back still changes it. Any SQLite trouble (a
read-only folder, a damaged index) just means the files are read: the index is a cache, never needed for
correctness, and deleting it loses nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

INDEX_FILE = "meta-index.sqlite3"
BUSY_TIMEOUT_MS = 5000
POINTER = "current"
META_FILE = "meta.json"
_SEP = os.sep
# current_meta (the older table): stamped the pointer alone, by its modification time. Its rows are not read;
# it is left for an older zerossl-tui sharing this folder (dropping it would make that one rebuild it each run).
_SCHEMA = ("CREATE TABLE IF NOT EXISTS current_meta_v2 (name TEXT PRIMARY KEY, version TEXT NOT NULL, "
           "stamp TEXT NOT NULL, meta TEXT NOT NULL)")
# list_rows_v1: each certificate's row of `list --json` as text, with the key of what it was made from and the
# moments (POSIX seconds) between which it holds (service/listing.py)
_ROWS_SCHEMA = ("CREATE TABLE IF NOT EXISTS list_rows_v1 (name TEXT PRIMARY KEY, key TEXT NOT NULL, "
                "since REAL NOT NULL, until REAL NOT NULL, text TEXT NOT NULL)")
FEW = 500  # up to this many names, ``cached_metas`` reads only their rows, not the whole index
Stamp = str  # "ctime_ns:size:inode" of the pointer, "/", the same of the version's meta.json
Meta = dict[str, Any]


class MetaIndex:
    """The cache table under the data folder; every method swallows SQLite errors (see module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / INDEX_FILE
        self._db: sqlite3.Connection | None = None
        self._broken = False
        self._guard = threading.Lock()  # one connection shared by the threads of a renew

    def rows(self, names: list[str] | None = None) -> dict[str, tuple[str, Stamp, str]]:
        """name -> (version, pointer stamp, meta JSON) for every row, or for ``names`` only (the ARI pass
        checks 20 at a time: reading all 10,000 rows for them was a third of its CPU); {} when the index
        is unusable."""
        sql, params = "SELECT name, version, stamp, meta FROM current_meta_v2", ""
        if names is not None:  # one parameter whatever the count (SQLite limits the number of parameters)
            sql, params = sql + " WHERE name IN (SELECT value FROM json_each(?))", json.dumps(names)
        with self._guard:
            db = self._open(create=False)
            if db is None:
                return {}
            try:
                found = db.execute(sql, (params,) if params else ()).fetchall()
            except sqlite3.Error:
                return {}
        return {row[0]: (row[1], row[2], row[3]) for row in found}

    def put(self, entries: Iterable[tuple[str, str, Stamp, Meta]]) -> None:
        """Record (name, version, pointer stamp, meta) rows, in one transaction."""
        values = [(n, v, s, json.dumps(m, sort_keys=True, default=str)) for n, v, s, m in entries]
        if not values:
            return
        with self._guard:
            db = self._open(create=True)
            if db is None:
                return
            self._write_many(db, "INSERT OR REPLACE INTO current_meta_v2 VALUES (?, ?, ?, ?)", values)

    def versions(self) -> dict[str, str]:
        """name -> the version each row stands for; {} when the index is unusable."""
        with self._guard:
            db = self._open(create=False)
            if db is None:
                return {}
            try:
                return dict(db.execute("SELECT name, version FROM current_meta_v2").fetchall())
            except sqlite3.Error:
                return {}

    def list_rows(self) -> dict[str, tuple[str, float, float, str]]:
        """name -> (key, since, until, text) of every kept row of ``list --json``; {} when unusable."""
        with self._guard:
            db = self._open(create=False)
            if db is None:
                return {}
            try:
                found = db.execute("SELECT name, key, since, until, text FROM list_rows_v1").fetchall()
            except sqlite3.Error:
                return {}
        return {row[0]: row[1:] for row in found}

    def put_list_rows(self, entries: list[tuple[str, str, float, float, str]]) -> None:
        """Keep (name, key, since, until, text) rows of ``list --json``, in one transaction."""
        if not entries:
            return
        with self._guard:
            db = self._open(create=True)
            if db is None:
                return
            self._write_many(db, "INSERT OR REPLACE INTO list_rows_v1 VALUES (?, ?, ?, ?, ?)", entries)

    def _write_many(self, db: sqlite3.Connection, statement: str, rows: list[Any]) -> None:
        """``statement`` for every row in one transaction. Explicitly: the connection is in autocommit
        mode, where ``with db:`` begins nothing and each row was its own transaction (10,000 rows took
        about a second)."""
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(statement, rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error:
            self._broken = True

    def close(self) -> None:
        """Close the connection (a later call opens it again)."""
        with self._guard:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _open(self, *, create: bool) -> sqlite3.Connection | None:
        if self._db is not None or self._broken:
            return self._db
        if not create and not self.path.exists():
            return None
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                                 isolation_level=None)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # a cache: losing the last rows on power loss is fine
            db.execute(_SCHEMA)
            db.execute(_ROWS_SCHEMA)
        except sqlite3.Error:
            self._broken = True
            return None
        self._db = db
        return db


def pointer_version(pointer: str | Path) -> tuple[str, str] | None:
    """(the version named in ``pointer``, the pointer's stamp as read); None when missing or unreadable."""
    try:
        with open(pointer, "rb") as handle:
            return handle.read(200).decode("ascii", "replace").strip(), _stamp(os.fstat(handle.fileno()))
    except OSError:
        return None


def current_stamp(folder: str, version: str, dir_fd: int | None = None) -> Stamp | None:
    """The stamp of a certificate's folder (``.../certificates/NAME/``, with its separator; relative to
    ``dir_fd`` when given) for ``version``: its pointer and that version's meta.json; None when either is
    missing. Called once per certificate by every ``list``: one f-string, no helper calls (10,000 of each
    cost more than the stats)."""
    try:
        p = os.stat(folder + POINTER, dir_fd=dir_fd)
        m = os.stat(f"{folder}versions{_SEP}{version}{_SEP}{META_FILE}", dir_fd=dir_fd)
    except (OSError, ValueError):
        return None
    return f"{p.st_ctime_ns}:{p.st_size}:{p.st_ino}/{m.st_ctime_ns}:{m.st_size}:{m.st_ino}"


def _stamp(stat: os.stat_result) -> str:
    """One file's part of a stamp (as ``current_stamp`` writes it)."""
    return f"{stat.st_ctime_ns}:{stat.st_size}:{stat.st_ino}"


def stamped_entry(folder: str) -> tuple[str, Stamp] | None:
    """(current version, its stamp) when the pointer read and the stamp taken agree; None otherwise (being
    rewritten, or missing)."""
    read = pointer_version(folder + POINTER)
    if read is None:
        return None
    stamp = current_stamp(folder, read[0])
    return (read[0], stamp) if stamp is not None and stamp.startswith(read[1] + "/") else None


def cached_metas(index: MetaIndex, names: Iterable[str], base: str, folder_of: Callable[[str], str],
                 read: Callable[[str], Meta | None], stamps: dict[str, Stamp] | None = None
                 ) -> dict[str, Meta | None]:
    """The current meta of every name: from the index where its pointer and meta.json are unchanged, else
    ``read(name)`` (the files), refreshing the index with what was read. ``base``: the certificates
    folder, ending with a separator; ``folder_of(name)``: the certificate's folder within it, ending with
    a separator. The stats of the index's rows are taken relative to ``base`` opened once: the kernel
    walks 2 and 4 path parts instead of 6 and 8 (a tenth of the stat pass). ``stamps`` gets the stamp of
    every meta known to match its files (from the index, or read between two equal stamps)."""
    stamps = {} if stamps is None else stamps
    names = list(names)
    rows = index.rows(names if len(names) <= FEW else None)
    out: dict[str, Meta | None] = {}
    hits: list[tuple[str, str]] = []
    fresh: list[tuple[str, str, Stamp, Meta]] = []
    base_fd = _open_dir(base) if rows else None
    try:
        for name in names:
            folder = folder_of(name)
            row = rows.get(name)
            if row is not None and base_fd is not None and current_stamp(folder, row[0], base_fd) == row[1]:
                hits.append((name, row[2]))
                stamps[name] = row[1]
                continue
            before = stamped_entry(base + folder)  # before reading: a rewrite meanwhile shows as a changed stamp
            out[name] = meta = read(name)
            if meta is not None and before is not None and current_stamp(base + folder, before[0]) == before[1]:
                fresh.append((name, before[0], before[1], meta))
                stamps[name] = before[1]
    finally:
        if base_fd is not None:
            os.close(base_fd)
    for (name, _text), meta in zip(hits, _loads_all([text for _name, text in hits]), strict=True):
        out[name] = meta if meta is not None else read(name)
    index.put(fresh)
    return out


def current_stamps(versions: dict[str, str], names: Iterable[str], base: str,
                   folder_of: Callable[[str], str]) -> dict[str, Stamp]:
    """The stamp of every name's pointer and meta.json, for the version ``versions`` names (a changed
    pointer changes the stamp); names without a version or with a file missing are left out."""
    out: dict[str, Stamp] = {}
    base_fd = _open_dir(base) if versions else None
    if base_fd is None:
        return out
    try:
        for name in names:
            version = versions.get(name)
            if version is not None and (stamp := current_stamp(folder_of(name), version, base_fd)) is not None:
                out[name] = stamp
    finally:
        os.close(base_fd)
    return out


def _open_dir(path: str) -> int | None:
    """A descriptor of the folder ``path`` (None when it cannot be opened: every row is then read from
    its files, as without the index)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None


def _loads_all(texts: list[str]) -> list[Meta | None]:
    """Every row's meta, decoded in one call (10,000 calls cost more than the decoding); one by one when
    some row is damaged."""
    try:
        values = json.loads("[" + ",".join(texts) + "]")
    except ValueError:
        values = [_loads(text) for text in texts]
    if len(values) != len(texts):  # a row holding "1, 2" would shift the others
        values = [_loads(text) for text in texts]
    return [v if isinstance(v, dict) else None for v in values]


def _loads(text: str) -> Meta | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
