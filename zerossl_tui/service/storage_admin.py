"""Choosing the storage backend: open the one [storage] names, and `storage use` (switch, copying and
verifying everything the current backend holds before [storage] is written), and `storage status`."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, LockBusy, UsageError, ZtError
from ..core.interfaces import Lock, Locker
from ..core.schema import STORAGE_BACKENDS, StorageSettings
from ..core.settings import BUILTIN_PROVIDERS, Settings
from ..core.validate import shown
from ..storage.backend import Backend, open_filesystem
from ..storage.daemon_mark import daemon_holds
from ..storage.migrate import CopyReport, copy_backend
from ..storage.paths import Paths

DEFAULT_KEY_FILE = "storage.key"
HOST_ID_MAX = 253  # a DNS host name's length


def host_id(storage: StorageSettings) -> str:
    """This host's id in the fleet: [storage] host_id, else the host name."""
    return storage.host_id or socket.gethostname()


def key_file(storage: StorageSettings, paths: Paths) -> Path:
    """The fleet key file: [storage] key_file, else storage.key beside the settings file."""
    return Path(storage.key_file) if storage.key_file else paths.config_file.parent / DEFAULT_KEY_FILE


def open_backend(storage: StorageSettings, paths: Paths, now: datetime, *, lease: float | None = None) -> Backend:
    """The backend [storage] names (ConfigError or StorageError, one line, when it cannot be opened)."""
    if storage.backend != "postgresql":
        return open_filesystem(paths, now)
    from ..storage.postgres import open_postgresql
    from ..storage.postgres.dsn import check_no_password, with_password

    check_no_password(storage.dsn)
    extra: dict[str, Any] = {"deploy_locks": paths.locks_dir / "deploy"}
    if lease is not None:
        extra["lease"] = lease
    return open_postgresql(with_password(storage.dsn, storage.password), host_id(storage),
                           key_file(storage, paths), now, **extra)


@dataclass(frozen=True)
class UseResult:
    """What `storage use` did: the settings now in force, what was copied, whether anything changed."""

    storage: StorageSettings
    report: CopyReport | None
    key_created: bool
    settings_changed: bool

    @property
    def changed(self) -> bool:
        """True when data was copied, a key file made, or [storage] rewritten."""
        return self.key_created or self.settings_changed or bool(self.report and self.report.changed)


def switch(settings: Settings, target: StorageSettings, paths: Paths, now: datetime,
           current: Callable[[], Backend]) -> UseResult:
    """Make ``target`` usable (key file, schema), copy what ``current()`` holds into it unless both are the
    same place, and verify the copy. Writes no settings: the caller saves [storage] once this returned."""
    created = _ensure_key(target, paths)
    try:
        dst = open_backend(target, paths, now)
    except ZtError as exc:
        if not created:
            raise
        # a key made for a database we could not use would pass for the fleet's key next time
        key_file(target, paths).unlink(missing_ok=True)
        raise _key_made_in_vain(exc, key_file(target, paths)) from None
    try:
        report = None if same_place(settings.storage, target) else copy_into(current(), dst, settings)
    finally:
        dst.close()
    return UseResult(target, report, created, target != settings.storage)


def _ensure_key(target: StorageSettings, paths: Paths) -> bool:
    """Create the key file a PostgreSQL target needs when it is missing; True when made."""
    if target.backend != "postgresql":
        return False
    from ..storage.postgres import ensure_key_file

    return ensure_key_file(key_file(target, paths))


def _key_made_in_vain(exc: ZtError, path: Path) -> ZtError:
    """The error to show when the key file this run created was refused by the fleet database."""
    from ..storage.postgres import KeyFileMismatch

    if not isinstance(exc, KeyFileMismatch):
        return exc
    return ConfigError(f"storage key file {path} does not exist, and a new key does not match the key the fleet"
                       " database was set up with: copy key_file from another host of the fleet (nothing kept)")


@contextmanager
def store_held(paths: Paths, names: Iterable[str], current: Callable[[], Backend]) -> Iterator[None]:
    """Hold the store still while `storage use` copies it and switches: refused (one line) while a daemon of
    this host runs on the data folder; otherwise every certificate's lock is taken, as an order takes it,
    until the block ends (LockBusy naming the certificate whose order runs)."""
    if daemon_holds(paths.data_dir):
        raise LockBusy(f"storage use: a zerossl-tui daemon is running with the data folder {paths.data_dir}:"
                       " stop it first (e.g. systemctl stop zerossl-tui), switch, then start it again")
    held: list[Lock] = []
    try:
        for name, lock in _locks(current().locker, sorted(names)):
            if not lock.try_acquire():
                busy = getattr(lock, "busy", "") or name
                raise LockBusy(f"storage use: an order for {busy} is running; wait until it has finished (or"
                               " stop the daemon or command running it), then run storage use again")
            held.append(lock)
        yield
    finally:
        for lock in reversed(held):
            lock.release()


def _locks(locker: Locker, names: list[str]) -> list[tuple[str, Lock]]:
    """The locks that hold ``names``: one for all of them where the locker can (PostgreSQL: one statement
    and one lease renewal thread, where a lock per certificate was a thread each), else one each."""
    group: Callable[[list[str]], Lock] | None = getattr(locker, "certificates", None)
    if group is not None:
        return [(names[0] if names else "", group(names))]
    return [(name, locker.certificate(name)) for name in names]


def _host_id(host: str) -> str:
    """A --host-id fit for settings.toml and `storage status`: an escape sequence in it would be replayed on
    the terminal of every host that reads the fleet's status."""
    if len(host) > HOST_ID_MAX or not host.isprintable() or host != host.strip():
        raise UsageError(f"--host-id {shown(host)} is not a host id: give this host's name (at most {HOST_ID_MAX}"
                         " characters, no control characters or surrounding spaces)")
    return host


def target_settings(current: StorageSettings, backend: str, dsn: str | None, host: str | None,
                    key: str | None) -> StorageSettings:
    """[storage] after `storage use BACKEND [--dsn] [--host-id] [--key-file]` (a DSN's password is split
    off into the secret ``password``)."""
    if backend not in STORAGE_BACKENDS:
        raise UsageError(f"unknown storage backend {backend!r}: give {' or '.join(STORAGE_BACKENDS)}")
    if backend == "filesystem" and (dsn is not None or key is not None):
        # they would silently replace the fleet's saved dsn and key file, unchecked, for the next switch
        raise UsageError("--dsn and --key-file belong to `storage use postgresql`: `storage use filesystem`"
                         " takes only --host-id")
    new = replace(current, backend=backend, host_id=_host_id(host) if host is not None else current.host_id,
                  key_file=key if key is not None else current.key_file)
    if dsn is not None:
        from ..storage.postgres.dsn import same_dsn, split_password

        bare, password = split_password(dsn)
        new = replace(new, dsn=current.dsn if same_dsn(bare, current.dsn) else bare,
                      password=password or current.password)
    if backend == "postgresql" and not new.dsn:
        raise UsageError("storage use postgresql needs --dsn postgresql://USER@HOST:PORT/DATABASE")
    return new


def same_place(a: StorageSettings, b: StorageSettings) -> bool:
    """True when both settings reach the same data (switching between them copies nothing)."""
    if a.backend != b.backend:
        return False
    from ..storage.postgres.dsn import same_dsn

    return a.backend == "filesystem" or same_dsn(a.dsn, b.dsn)


def providers_of(settings: Settings) -> set[str]:
    """Providers whose accounts a copy must carry: configured ones, those certificates name, built-ins."""
    return set(settings.providers) | {c.provider for c in settings.certificates.values()} | set(BUILTIN_PROVIDERS)


def copy_into(src: Backend, dst: Backend, settings: Settings) -> CopyReport:
    """Copy and verify everything of ``src`` into ``dst`` (StorageError naming what differs). Only the
    accounts ``src`` holds are carried: a host joining a fleet must not compare its missing accounts
    with the fleet's."""
    held = [p for p in sorted(providers_of(settings))
            if src.store.load_account(p)[0] is not None or src.store.load_eab_cache(p) != ("", "")]
    return copy_backend(src, dst, sorted(settings.certificates), held)
