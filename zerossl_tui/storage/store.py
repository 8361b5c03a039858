"""The certificate store: every issued version kept, one ``current`` pointer, ACME accounts.

Layout under the data folder (folders 0700, private keys 0600)::

    certificates/<name>/current                      the name of the current version, one line
    certificates/<name>/deploying                    a deployment begun and not finished (see below)
    certificates/<name>/versions/0003-<serial>/      privkey.pem cert.pem chain.pem fullchain.pem meta.json
    accounts/<provider>/account.key, account.json, eab.json

A version is written into a hidden staging folder and renamed into ``versions/`` only once complete, and
``current`` is flipped afterwards by an atomic rewrite, so the store never points at a half-written version.
``current`` is a small file rather than a symlink: replacing it is just as atomic (both are a rename),
it behaves the same on every file system, backup and sync tool, and it can never be followed out of the
store. Reading heals a broken store: when ``current`` is missing or names a version that is damaged, the
newest complete version is used instead. ``deploying`` is written before ``current`` flips and removed once
the served files are written and the deploy hooks have run: a process killed in between leaves it behind,
and the next one to take the certificate's lock finishes that deployment (``service.orders.heal_deploy``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..core.errors import StorageError, UsageError
from ..core.models import CERT_FILE_META, DAMAGED_META, CertificateSpec, PendingDeploy, StoredCert
from .deploy import Target, deploy_files, remove_stale_temps, targets
from .fsutil import atomic_write, ensure_dir, fsync_dir, read_bytes_or_none, replace_with, storage_error, write_temp
from .meta_index import MetaIndex, cached_metas, stamped_entry
from .paths import accounts_dir, cert_dir, safe_name
from .store_damage import fix, meta_problem, pointer_problem

KEY_FILE = "privkey.pem"
PEM_FILES = (KEY_FILE, "cert.pem", "chain.pem", "fullchain.pem")
META_FILE = "meta.json"
POINTER = "current"
PENDING = "deploying"
PENDING_KEY = "pending-key.pem"
_VERSION = re.compile(r"(\d{1,9})(-[0-9a-z]{1,64})?")
_STAGING = ".staging-"

Pem = str | bytes


class CertStore:
    """Certificates and ACME accounts under one data folder. Writers should hold the certificate's lock."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._index = MetaIndex(self.data_dir)  # a cache of every current meta.json (see meta_index.py)

    # -- certificates -------------------------------------------------------------------------------

    def save_version(
        self, name: str, key_pem: Pem, cert_pem: Pem, chain_pem: Pem, fullchain_pem: Pem, meta: dict[str, Any],
        *, order_id: int | None = None,
    ) -> StoredCert:
        """Store a newly issued certificate as a new version and make it current; earlier ones are kept.

        ``meta`` is the caller's facts (serial, not_before, not_after as ISO strings, domains, ...);
        datetimes in it are written as ISO strings. Returns the stored version. With ``order_id``, the
        deployment of the new version is recorded as pending (``begin_deploy``) before it becomes current,
        so that a crash from here on is finished at the next start rather than forgotten.
        """
        contents = (_bytes(key_pem), _bytes(cert_pem), _bytes(chain_pem), _bytes(fullchain_pem))
        pems = dict(zip(PEM_FILES, contents, strict=True))
        versions = ensure_dir(cert_dir(self.data_dir, name) / "versions")
        _clear_abandoned_staging(versions)
        staging = _stage(versions, pems, _dump_meta(meta))
        try:
            version = _publish(versions, staging, str(meta.get("serial", "")))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if order_id is not None:
            self.begin_deploy(name, version, order_id)
        pointer = cert_dir(self.data_dir, name) / POINTER
        atomic_write(pointer, f"{version}\n".encode())
        stored = self._load(name, version)
        if stored is None:
            raise StorageError(f"cannot read back {versions / version} right after writing it")
        if (entry := stamped_entry(f"{pointer.parent}{os.sep}")) is not None and entry[0] == version:
            self._index.put([(name, version, entry[1], stored.meta)])
        return stored

    def current(self, name: str) -> StoredCert | None:
        """The current version, or the newest complete one if ``current`` is broken; None if none."""
        pointed = self._pointer(name)
        if pointed and (stored := self._load(name, pointed)):
            return stored
        for version in reversed(self.versions(name)):
            if version != pointed and (stored := self._load(name, version)):
                return stored
        return None

    def current_meta(self, name: str) -> dict[str, Any] | None:
        """The current version's meta.json alone (no PEM is read): cheap enough for thousands of rows.

        A damaged current version never shows another version's facts: a ``current`` holding garbage, or a
        current meta.json that is not JSON or has wrong types, gives ``{DAMAGED_META: "the file and the fix"}``
        (with ``CERT_FILE_META``, the cert.pem to read the truth from, when the version is there).
        """
        pointed, problem = self._checked_pointer(name)
        if problem:
            return {DAMAGED_META: problem}
        folder = self._version_dir(name, pointed) if pointed else None
        meta = _read_meta(folder) if folder else None
        if folder and (problem := meta_problem(folder / META_FILE, meta, name)):
            return {DAMAGED_META: problem, CERT_FILE_META: str(folder / "cert.pem")}
        if meta is not None:
            return meta
        stored = self.current(name)
        return stored.meta if stored else None

    def damage(self, name: str) -> str:
        """One line naming the damaged file of the current version (the pointer, meta.json, a missing PEM)
        and the fix; "" when it is sound or there is none. Before anything is sent to the CA about it."""
        meta = self.current_meta(name)
        if meta is not None and DAMAGED_META in meta:
            return str(meta[DAMAGED_META])
        pointed = self._pointer(name)
        folder = self._version_dir(name, pointed) if pointed else None
        missing = [f for f in PEM_FILES if folder and folder.is_dir() and not (folder / f).is_file()]
        return f"{folder / missing[0]} is missing: {fix(name)}" if folder and missing else ""

    def current_metas(self, names: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """``current_meta`` of every name, from the index where the ``current`` pointer and its meta.json
        are unchanged (two stats per certificate instead of two file reads: see meta_index.py)."""
        base = f"{self.data_dir}{os.sep}certificates{os.sep}"  # strings: pathlib costs more than the stat
        return cached_metas(self._index, names, base, lambda n: f"{safe_name(n, 'certificate')}{os.sep}",
                            self.current_meta)

    def load_version(self, name: str, version: str) -> StoredCert | None:
        """One particular version, or None when it does not exist or is incomplete."""
        return self._load(name, version) if _VERSION.fullmatch(version) else None

    def versions(self, name: str) -> list[str]:
        """The version names of a certificate, oldest first (complete or not)."""
        folder = cert_dir(self.data_dir, name) / "versions"
        return sorted((v for v in _listdir(folder) if _VERSION.fullmatch(v)), key=_version_key)

    def names(self) -> list[str]:
        """Names of the certificates that have a folder in the store, sorted."""
        return sorted(n for n in _listdir(self.data_dir / "certificates") if _is_safe(n))

    def deploy(self, spec: CertificateSpec, stored: StoredCert) -> list[str]:
        """Write ``stored`` to the files ``spec`` names (see ``deploy.py``); return the paths written.

        ``keyfile`` (0600, or 0640 with a ``group``) is written first and only when it changed;
        ``certfile`` and ``fullchain`` get the certificate followed by its chain (what nginx expects),
        ``chainfile`` the chain alone. Unchanged files are not rewritten; missing folders are created 0700.
        """
        return deploy_files(self._targets(spec, stored))

    def remove_stale_temps(self, spec: CertificateSpec, stored: StoredCert) -> None:
        """Delete temporary files that a killed deployment left beside ``spec``'s served files (under the
        certificate's lock only: a live deployment's files look the same)."""
        remove_stale_temps(self._targets(spec, stored))

    def _targets(self, spec: CertificateSpec, stored: StoredCert) -> list[Target]:
        return targets(spec, stored.key_pem, stored.chain_pem, stored.fullchain_pem)

    # -- deployments interrupted by a crash ---------------------------------------------------------

    def begin_deploy(self, name: str, version: str, order_id: int) -> None:
        """Record that ``version`` is to be deployed (files, then hooks) by order ``order_id``."""
        data = {"version": version, "order": order_id}
        _write_json(cert_dir(self.data_dir, name) / PENDING, data, 0o644)

    def pending_deploy(self, name: str) -> PendingDeploy | None:
        """The deployment recorded by ``begin_deploy`` and not yet ended; None when there is none.

        A damaged record still counts (with no version and order 0): the current version is then deployed.
        """
        path = cert_dir(self.data_dir, name) / PENDING
        if not os.path.lexists(path):
            return None
        data = _read_json(path) or {}
        version, order = str(data.get("version") or ""), data.get("order")
        return PendingDeploy(version if _VERSION.fullmatch(version) else "", order if isinstance(order, int) else 0)

    def end_deploy(self, name: str) -> None:
        """Forget the pending deployment: its files are written and its hooks have run."""
        folder = cert_dir(self.data_dir, name)
        try:
            (folder / PENDING).unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise storage_error("remove", folder / PENDING, exc) from None
        fsync_dir(folder)

    def _pointer(self, name: str) -> str:
        return self._checked_pointer(name)[0]

    def _checked_pointer(self, name: str) -> tuple[str, str]:
        """(the version ``current`` names, or ""; a line saying it holds garbage, or "").

        A missing pointer, or one naming a version that is gone, is healed by reading (see the module
        docstring); a pointer that names no version at all was damaged and is reported."""
        path = cert_dir(self.data_dir, name) / POINTER
        raw = read_bytes_or_none(path)
        version = (raw or b"").decode("utf-8", "replace").strip()
        if raw is None or _VERSION.fullmatch(version):
            return version, ""
        return "", pointer_problem(path, version, name)

    def _version_dir(self, name: str, version: str) -> Path:
        return cert_dir(self.data_dir, name) / "versions" / version

    def _load(self, name: str, version: str) -> StoredCert | None:
        folder = self._version_dir(name, version)
        meta = _read_meta(folder)
        if meta is None:
            return None
        pems = [read_bytes_or_none(folder / f) for f in PEM_FILES]
        if any(p is None for p in pems):
            return None
        key, cert, chain, full = (p or b"" for p in pems)
        return StoredCert(name, version, key, cert, chain, full, meta, folder)

    # -- accounts -----------------------------------------------------------------------------------

    def save_pending_key(self, name: str, key_pem: Pem) -> None:
        """Keep the key of an order in progress (0600) until its certificate is stored, so that a later
        attempt can resume the order (its CSR carries this key's public half)."""
        folder = ensure_dir(cert_dir(self.data_dir, name))
        atomic_write(folder / PENDING_KEY, _bytes(key_pem), 0o600)

    def pending_key(self, name: str) -> bytes | None:
        """The key of the order in progress, if any."""
        return read_bytes_or_none(cert_dir(self.data_dir, name) / PENDING_KEY)

    def clear_pending_key(self, name: str) -> None:
        """The order ended with a stored certificate (or cannot be resumed): forget its key."""
        path = cert_dir(self.data_dir, name) / PENDING_KEY
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise storage_error("remove", path, exc) from None
        fsync_dir(path.parent)

    def load_account(self, provider: str, directory: str = "") -> tuple[bytes | None, str]:
        """(account key PEM or None, account URL or "").

        With ``directory``, an account registered at another directory URL (the provider was edited to
        point elsewhere) gives its key but no URL, so a new account is registered with that key.
        """
        folder = accounts_dir(self.data_dir, provider)
        key = read_bytes_or_none(folder / "account.key")
        info = _read_json(folder / "account.json") or {}
        url = str(info.get("url", "")) if key else ""
        if directory and info.get("directory") not in (None, "", directory):
            url = ""
        return key, url

    def save_account(self, provider: str, key_pem: Pem, url: str, directory: str = "") -> None:
        """Keep the account key (0600, written first) and its URL (and directory, when given)."""
        folder = ensure_dir(accounts_dir(self.data_dir, provider))
        atomic_write(folder / "account.key", _bytes(key_pem), 0o600)
        _write_json(folder / "account.json", {"url": url, "directory": directory}, 0o644)

    def load_eab_cache(self, provider: str) -> tuple[str, str]:
        """(kid, hmac key) fetched earlier (ZeroSSL hands them out by email or API key); ("", "") if none."""
        info = _read_json(accounts_dir(self.data_dir, provider) / "eab.json") or {}
        kid, hmac_key = str(info.get("kid") or ""), str(info.get("hmac_key") or "")
        return (kid, hmac_key) if kid and hmac_key else ("", "")

    def save_eab_cache(self, provider: str, kid: str, hmac_key: str) -> None:
        """Remember fetched EAB credentials in a 0600 file beside the account."""
        folder = ensure_dir(accounts_dir(self.data_dir, provider))
        _write_json(folder / "eab.json", {"kid": kid, "hmac_key": hmac_key}, 0o600)


def _bytes(pem: Pem) -> bytes:
    return pem.encode() if isinstance(pem, str) else bytes(pem)


def _is_safe(name: str) -> bool:
    try:
        safe_name(name, "certificate")
    except UsageError:
        return False
    return True


def _version_key(version: str) -> tuple[int, str]:
    return int(version.split("-", 1)[0]), version


def _listdir(folder: Path) -> list[str]:
    try:
        return [e.name for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise storage_error("list", folder, exc) from None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in meta.json")


def _dump_meta(meta: dict[str, Any]) -> bytes:
    return json.dumps(meta, indent=2, sort_keys=True, default=_json_default).encode() + b"\n"


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; None when missing, damaged (not JSON) or not an object."""
    raw = read_bytes_or_none(path)
    try:
        data = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any], mode: int) -> None:
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True).encode() + b"\n", mode)


def _read_meta(folder: Path) -> dict[str, Any] | None:
    return _read_json(folder / META_FILE)


def _stage(versions: Path, pems: dict[str, bytes], meta: bytes) -> Path:
    """A hidden folder holding the complete new version (meta.json last), fsynced."""
    import secrets  # only when a certificate is saved (see fsutil.atomic_write)

    staging = ensure_dir(versions / f"{_STAGING}{os.getpid()}-{secrets.token_hex(4)}")
    try:
        # Each file fsynced, the folder once, by the last write: nobody looks into a staging folder, so its
        # entries need to be on disk only before it is renamed into versions/ (one folder fsync, not five).
        for filename, data in pems.items():
            replace_with(write_temp(staging / filename, data, 0o600 if filename == KEY_FILE else 0o644),
                         staging / filename)
        atomic_write(staging / META_FILE, meta, 0o644)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _publish(versions: Path, staging: Path, serial: str) -> str:
    """Rename the staged folder to the next free version name; return that name."""
    suffix = re.sub(r"[^0-9a-z]", "", serial.lower())[:40]
    number = max((_version_key(v)[0] for v in _listdir(versions) if _VERSION.fullmatch(v)), default=0) + 1
    while True:
        version = f"{number:04d}" + (f"-{suffix}" if suffix else "")
        try:
            os.rename(staging, versions / version)
        except OSError as exc:
            if (versions / version).exists():
                number += 1
                continue
            raise storage_error("write", versions / version, exc) from None
        fsync_dir(versions)
        return version


def _clear_abandoned_staging(versions: Path) -> None:
    """Remove staging folders left by a process that died while writing (they hold a private key)."""
    for entry in _listdir(versions):
        if entry.startswith(_STAGING) and not _process_alive(entry[len(_STAGING) :].split("-", 1)[0]):
            shutil.rmtree(versions / entry, ignore_errors=True)


def _process_alive(pid_text: str) -> bool:
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists but belongs to someone else
    return True
