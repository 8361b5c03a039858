"""The certificate store in PostgreSQL: every version, one current per certificate, accounts, EAB cache.

A version is one row written in the same transaction as the ``current`` pointer (and the pending
deployment, when an order saves it), so no host ever sees a half-written version. Private keys and EAB
secrets are sealed (``crypto.py``). Deployment records are per host: every host writes its own served
files and finishes its own interrupted deployments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ...core.errors import StorageError
from ...core.models import DAMAGED_META, CertificateSpec, PendingDeploy, StoredCert
from ..deploy import Target, deploy_files, remove_stale_temps, targets
from ..locks import CertLock
from ..paths import safe_name
from ..store_damage import key_problem, row_problem
from .crypto import SecretBox
from .db import Database
from .hosts import PgHosts
from .notify import CURRENT_CHANNEL, notify
from .secrets import Pem, PgSecrets, as_bytes

DEPLOY_LOCK_WAIT = 120.0  # another deployment of the same files on this host: writing files and a hook
_VERSION = re.compile(r"(\d{1,9})(-[0-9a-z]{1,64})?")
_VERSION_COLUMNS = "version, key_sealed, cert_pem, chain_pem, fullchain_pem, meta"
_SAVE_ATTEMPTS = 5
UNIQUE_VIOLATION = "23505"
SOUND_CACHE = 100_000  # checked current versions kept per process (cleared when full)


class DeployPending(Exception):  # noqa: N818 - a signal to the caller, not an error
    """``deploy_current(unless_pending=True)``: this host's deployment of the certificate is pending."""


class PgCertificateStore(PgSecrets):
    """Certificates and ACME accounts of the whole fleet; deployment records of this host."""

    def __init__(self, db: Database, box: SecretBox, host_id: str, deploy_locks: Path | None = None) -> None:
        self.db = db
        self.box = box
        self.host_id = host_id
        self.hosts = PgHosts(db, host_id)
        self.deploy_locks = deploy_locks  # this host's folder of deploy locks (flock); None: no lock
        self._sound: dict[tuple[str, str, str], dict[str, Any]] = {}  # (cert, version, meta text): checked

    # -- certificates -------------------------------------------------------------------------------

    def save_version(
        self, name: str, key_pem: Pem, cert_pem: Pem, chain_pem: Pem, fullchain_pem: Pem, meta: dict[str, Any],
        *, order_id: int | None = None,
    ) -> StoredCert:
        """Store a new version and make it current, in one transaction; with ``order_id``, its deployment
        on this host is recorded as pending in that same transaction."""
        return self._save(name, (key_pem, cert_pem, chain_pem, fullchain_pem), meta, order_id, current=True)

    def add_older_version(self, name: str, key_pem: Pem, cert_pem: Pem, chain_pem: Pem, fullchain_pem: Pem,
                          meta: dict[str, Any]) -> StoredCert:
        """Store a version as history, leaving the current one as it is (it becomes current only when there
        is none): a host joining a fleet brings its older certificates without replacing the fleet's."""
        return self._save(name, (key_pem, cert_pem, chain_pem, fullchain_pem), meta, None, current=False)

    def _save(self, name: str, given: tuple[Pem, Pem, Pem, Pem], meta: dict[str, Any], order_id: int | None, *,
              current: bool) -> StoredCert:
        safe_name(name, "certificate")
        pems = (as_bytes(given[0]), as_bytes(given[1]), as_bytes(given[2]), as_bytes(given[3]))
        meta_doc = json.loads(json.dumps(meta, default=_json_default))
        suffix = re.sub(r"[^0-9a-z]", "", str(meta.get("serial", "")).lower())[:40]
        for _ in range(_SAVE_ATTEMPTS):  # two writers may pick the same number: the loser takes the next
            try:
                version = self._insert(name, pems, meta_doc, suffix, order_id, current)
            except StorageError as exc:
                if getattr(exc, "sqlstate", None) == UNIQUE_VIOLATION:
                    continue
                raise
            return StoredCert(name, version, *pems, meta_doc)
        raise StorageError(f"{name}: could not store a new version (other hosts kept writing one)")

    def _insert(self, name: str, pems: tuple[bytes, ...], meta: dict[str, Any], suffix: str,
                order_id: int | None, current: bool) -> str:
        with self.db.transaction() as cur:
            cur.execute("SELECT coalesce(max(seq), 0) + 1 FROM versions WHERE cert = %s", (name,))
            seq = int(_first(cur))
            version = f"{seq:04d}" + (f"-{suffix}" if suffix else "")
            sealed = self.box.seal(pems[0], _key_place(name, version))
            cur.execute(f"INSERT INTO versions (cert, seq, {_VERSION_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s,"
                        " %s, %s)", (name, seq, version, sealed, *pems[1:], Jsonb(meta)))
            if order_id is not None:
                self._begin_deploy(cur, name, version, order_id)
            update = "UPDATE SET version = excluded.version" if current else "NOTHING"
            cur.execute("INSERT INTO current_versions (cert, version) VALUES (%s, %s) ON CONFLICT (cert)"
                        f" DO {update} RETURNING version", (name, version))
            if cur.fetchone() is not None:
                notify(cur, CURRENT_CHANNEL, name)  # every host deploys it (sent at commit)
        return version

    def current(self, name: str) -> StoredCert | None:
        """The current version (the newest one if the pointer is missing); None if none was stored.

        A current version whose private key does not decrypt although the database's other secrets do is
        damaged: the newest older version that is sound stands in (None when there is none), so that an
        order (``renew --force``) can replace it, as the file store does with a damaged version. When no
        secret decrypts, the key file is the wrong one: StorageError, and nothing is ordered on a guess."""
        with self.db.statement() as cur:
            cur.execute(f"SELECT {_VERSION_COLUMNS} FROM versions v WHERE cert = %s ORDER BY"
                        " (version = (SELECT version FROM current_versions c WHERE c.cert = v.cert)) DESC"
                        " NULLS LAST, seq DESC LIMIT 1", (name,))
            row = cur.fetchone()
        try:
            return self._stored(name, row) if row else None
        except StorageError:
            if row is None or not self._key_is_the_fleets(name):
                raise
            return self._newest_sound(name, str(row[0]))

    def _newest_sound(self, name: str, damaged: str) -> StoredCert | None:
        with self.db.statement() as cur:
            cur.execute(f"SELECT {_VERSION_COLUMNS} FROM versions WHERE cert = %s AND version <> %s ORDER BY seq"
                        " DESC", (name, damaged))
            rows = cur.fetchall()
        for row in rows:
            try:
                return self._stored(name, row)
            except StorageError:
                continue
        return None

    def _key_is_the_fleets(self, name: str) -> bool:
        """True when some other secret of the database (an account key, another certificate's key)
        decrypts with this host's key file: then a row that does not is damaged, not sealed by another key."""
        with self.db.statement() as cur:
            cur.execute("(SELECT key_sealed, 'account:' || provider FROM accounts LIMIT 2) UNION ALL (SELECT"
                        " key_sealed, 'version:' || cert || ':' || version FROM versions WHERE cert <> %s LIMIT 2)",
                        (name,))
            rows = cur.fetchall()
        for sealed, place in rows:
            try:
                self.box.open(sealed, str(place))
            except StorageError:
                continue
            return True
        return False

    def current_versions(self) -> dict[str, str]:
        """certificate -> its current version, for every certificate (one query: what hosts poll)."""
        with self.db.statement() as cur:
            cur.execute("SELECT cert, version FROM current_versions")
            return {str(cert): str(version) for cert, version in cur.fetchall()}

    def current_meta(self, name: str) -> dict[str, Any] | None:
        """The current version's metadata alone (no PEM); a damaged row gives ``{DAMAGED_META: the line}``."""
        return self.current_metas([name])[name]

    def current_metas(self, names: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """``current_meta`` of every name in one query (those with a broken pointer one by one). A row whose
        metadata has wrong types, or whose key does not decrypt while the database's other secrets do, is
        named as damaged (one line and the fix) instead of shown: `list` says it, `revoke` refuses it, and
        `renew` sees it due and replaces it."""
        chosen = list(names)
        with self.db.statement() as cur:
            cur.execute("SELECT c.cert, v.version, v.meta::text, v.key_sealed FROM current_versions c JOIN"
                        " versions v USING (cert, version) WHERE c.cert = ANY(%s)", (chosen,))
            found = {str(row[0]): self._checked_meta(str(row[0]), *row[1:]) for row in cur.fetchall()}
        return {name: found[name] if name in found else self._newest_meta(name) for name in chosen}

    def _checked_meta(self, name: str, version: str, text: str, sealed: bytes) -> dict[str, Any]:
        # A sound version is parsed and checked (its metadata, its key) once per process: a daemon reads
        # every certificate's metadata at each look and before each order.
        sound = self._sound.get((name, version, text))
        if sound is not None:
            return dict(sound)
        meta = json.loads(text)
        problem = row_problem(name, version, meta)
        if not problem:
            try:
                self.box.open(sealed, _key_place(name, version))
            except StorageError:
                problem = key_problem(name, version, self.box.key_file) if self._key_is_the_fleets(name) else ""
            if not problem:
                if len(self._sound) >= SOUND_CACHE:
                    self._sound.clear()
                self._sound[(name, version, text)] = meta
        return {DAMAGED_META: problem} if problem else dict(meta)

    def _newest_meta(self, name: str) -> dict[str, Any] | None:
        stored = self.current(name)  # no current pointer: the newest version, as ``current`` finds it
        return stored.meta if stored else None

    def damage(self, name: str) -> str:
        """One line naming the damaged current version row of ``name`` and the fix; "" when it is sound or
        there is none. Asked before anything is sent to the CA about it (``revoke``)."""
        meta = self.current_meta(name)
        return str(meta[DAMAGED_META]) if meta is not None and DAMAGED_META in meta else ""

    def load_version(self, name: str, version: str) -> StoredCert | None:
        """One stored version, or None."""
        if not _VERSION.fullmatch(version):
            return None
        with self.db.statement() as cur:
            cur.execute(f"SELECT {_VERSION_COLUMNS} FROM versions WHERE cert = %s AND version = %s",
                        (name, version))
            row = cur.fetchone()
        return self._stored(name, row) if row else None

    def versions(self, name: str) -> list[str]:
        """The version names of ``name``, oldest first."""
        with self.db.statement() as cur:
            cur.execute("SELECT version FROM versions WHERE cert = %s ORDER BY seq", (name,))
            return [str(row[0]) for row in cur.fetchall()]

    def names(self) -> list[str]:
        """Every certificate with stored versions, sorted."""
        with self.db.statement() as cur:
            cur.execute("SELECT DISTINCT cert FROM versions ORDER BY cert")
            return [str(row[0]) for row in cur.fetchall()]

    def _stored(self, name: str, row: tuple[Any, ...]) -> StoredCert:
        version, sealed, cert, chain, full, meta = row
        key = self.box.open(sealed, _key_place(name, version))
        facts = dict(meta) if isinstance(meta, dict) else {}  # a hand-damaged row: see ``current_metas``
        return StoredCert(name, version, key, bytes(cert), bytes(chain), bytes(full), facts)

    # -- this host's served files -------------------------------------------------------------------

    def deploy(self, spec: CertificateSpec, stored: StoredCert) -> list[str]:
        """Write ``stored`` to this host's served files (``deploy.py``), then note what this host serves.

        The note is best effort: the files are right whatever the database says, and the next deployment
        or ``hosts.record_served`` writes it again once PostgreSQL answers.
        """
        with self.deploy_lock(spec.name):
            return self._deploy(spec, stored)

    def deploy_current(self, spec: CertificateSpec, *, unless_pending: bool = False,
                       ) -> tuple[StoredCert, list[str]] | None:
        """Deploy the current version of ``spec`` unless this host serves it already; None: nothing done.

        The current version and what this host serves are read under this host's deploy lock of the
        certificate (one query), so a deployment that another process of this host (the order of a `renew
        --force`) made meanwhile is neither undone by an older version nor repeated. ``unless_pending``:
        raise DeployPending, deploying nothing, when this host's deployment of it is pending (an order or a
        heal of this host deploys it, with its hooks); the same query tells."""
        with self.deploy_lock(spec.name):
            stored, serving, pending = self._current_and_served(spec.name)
            if unless_pending and pending:
                raise DeployPending(spec.name)
            if stored is None or stored.version == serving:
                return None
            return stored, self._deploy(spec, stored)

    def _current_and_served(self, name: str) -> tuple[StoredCert | None, str | None, bool]:
        with self.db.statement() as cur:
            cur.execute(f"SELECT {', '.join('v.' + c for c in _VERSION_COLUMNS.split(', '))}, s.version, EXISTS"
                        " (SELECT 1 FROM pending_deploys p WHERE p.host_id = %(host)s AND p.cert = c.cert) FROM"
                        " current_versions c JOIN versions v USING (cert, version) LEFT JOIN served s ON s.cert ="
                        " c.cert AND s.host_id = %(host)s WHERE c.cert = %(cert)s",
                        {"host": self.host_id, "cert": name})
            row = cur.fetchone()
        if row is None:  # no current pointer: the newest version, as ``current`` finds it
            return self.current(name), self.hosts.serves(name), self.pending_deploy(name) is not None
        return self._stored(name, row[:-2]), (str(row[-2]) if row[-2] is not None else None), bool(row[-1])

    def _deploy(self, spec: CertificateSpec, stored: StoredCert) -> list[str]:
        written = deploy_files(self._targets(spec, stored))
        try:
            self.hosts.record_served(stored.name, stored.version, str(stored.meta.get("serial", "")))
        except StorageError:
            pass
        return written

    @contextmanager
    def deploy_lock(self, name: str) -> Iterator[None]:
        """Hold this host's lock on deploying ``name``: two processes (the daemon's agent and a `renew
        --force`) or two threads of one never interleave their renames of one certificate's files, which
        could leave a new certificate beside an old key. Local (flock): other hosts write other files."""
        if self.deploy_locks is None:
            yield
            return
        lock = CertLock(self.deploy_locks, name)
        if not lock.acquire(timeout=DEPLOY_LOCK_WAIT):
            raise StorageError(f"{name}: another deployment of it on this host has not finished in"
                               f" {DEPLOY_LOCK_WAIT:.0f} s; it is tried again on the next check")
        try:
            yield
        finally:
            lock.release()

    def remove_stale_temps(self, spec: CertificateSpec, stored: StoredCert) -> None:
        """Remove temporary files a killed deployment left beside this host's served files."""
        remove_stale_temps(self._targets(spec, stored))

    def _targets(self, spec: CertificateSpec, stored: StoredCert) -> list[Target]:
        return targets(spec, stored.key_pem, stored.chain_pem, stored.fullchain_pem)

    def begin_deploy(self, name: str, version: str, order_id: int) -> None:
        """Record that this host is deploying ``version``."""
        with self.db.statement() as cur:
            self._begin_deploy(cur, name, version, order_id)

    def _begin_deploy(self, cur: psycopg.Cursor[Any], name: str, version: str, order_id: int) -> None:
        cur.execute("INSERT INTO pending_deploys (host_id, cert, version, order_id) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (host_id, cert) DO UPDATE SET version = excluded.version,"
                    " order_id = excluded.order_id", (self.host_id, name, version, order_id))

    def pending_deploy(self, name: str) -> PendingDeploy | None:
        """This host's deployment of ``name`` begun and not finished, if any."""
        with self.db.statement() as cur:
            cur.execute("SELECT version, order_id FROM pending_deploys WHERE host_id = %s AND cert = %s",
                        (self.host_id, name))
            row = cur.fetchone()
        if row is None:
            return None
        version = str(row[0])
        return PendingDeploy(version if _VERSION.fullmatch(version) else "", int(row[1]))

    def pending_deploy_names(self) -> set[str]:
        """The certificates whose deployment on this host is pending (one query for all)."""
        with self.db.statement() as cur:
            cur.execute("SELECT cert FROM pending_deploys WHERE host_id = %s", (self.host_id,))
            return {str(row[0]) for row in cur.fetchall()}

    def end_deploy(self, name: str) -> None:
        """This host finished deploying ``name``: forget the record."""
        with self.db.statement() as cur:
            cur.execute("DELETE FROM pending_deploys WHERE host_id = %s AND cert = %s", (self.host_id, name))


def _key_place(name: str, version: str) -> str:
    return f"version:{name}:{version}"


def _first(cur: psycopg.Cursor[Any]) -> Any:
    row = cur.fetchone()
    return row[0] if row else None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in a certificate's metadata")
