"""The filesystem + SQLite backend: one object that opens the store, the journal, the locker and the
challenge store under one data folder. Another backend (PostgreSQL) offers the same four interfaces."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..core.interfaces import CertificateStore, ChallengeStore, DnsRecord, Lock, Locker, LockHolder, OrderJournal
from .journal import Journal
from .locks import CertLock, holder_pid, is_locked
from .paths import Paths
from .store import CertStore

ACCOUNT_LOCKS = "accounts"


class FileLocker:
    """flock(2) locks under ``locks/``: released by the kernel when the holding process dies, so they
    need no lease."""

    def __init__(self, locks_dir: Path) -> None:
        self.locks_dir = Path(locks_dir)

    def certificate(self, name: str) -> Lock:
        """The lock of one certificate."""
        return CertLock(self.locks_dir, name)

    def account(self, provider: str) -> Lock:
        """The lock that serializes account registration at ``provider``."""
        return CertLock(self.locks_dir / ACCOUNT_LOCKS, provider)

    def holders(self) -> list[LockHolder]:
        """Every certificate lock held right now, with the holder's pid."""
        names = sorted(p.stem for p in self.locks_dir.glob("*.lock")) if self.locks_dir.is_dir() else []
        return [LockHolder(n, f"pid {holder_pid(self.locks_dir, n) or '?'}") for n in names
                if is_locked(self.locks_dir, n)]


class FileChallengeStore:
    """http-01 tokens in this process's memory (the built-in responder runs here) and dns-01 records in
    the journal, so that a crashed process's records are found again."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._tokens: dict[str, str] = {}
        self._guard = threading.Lock()

    def present_token(self, token: str, key_authorization: str, order_id: int = 0) -> None:
        """Answer ``token`` from now on (in memory: gone with the process, whatever its order)."""
        with self._guard:
            self._tokens[token] = key_authorization

    def token(self, token: str) -> str | None:
        """The key authorization of ``token``, or None."""
        with self._guard:
            return self._tokens.get(token)

    def remove_token(self, token: str) -> None:
        """Stop answering ``token``."""
        with self._guard:
            self._tokens.pop(token, None)

    def add_dns_record(self, record: DnsRecord) -> None:
        """Note a TXT record just added to a zone."""
        self.journal.add_dns_record(record)

    def remove_dns_record(self, record: DnsRecord) -> None:
        """Forget a TXT record just removed from its zone."""
        self.journal.remove_dns_record(record)

    def dns_records(self, cert: str | None = None) -> list[DnsRecord]:
        """Records added and not yet removed."""
        return self.journal.dns_records(cert)


@dataclass(frozen=True)
class Backend:
    """The four storage interfaces of one backend."""

    store: CertificateStore
    journal: OrderJournal
    locker: Locker
    challenges: ChallengeStore
    name: str = "filesystem"

    def close(self) -> None:
        """Release connections (the journal's database)."""
        close = getattr(self.journal, "close", None)
        if close is not None:
            close()


def open_filesystem(paths: Paths, now: datetime) -> Backend:
    """The filesystem + SQLite backend under ``paths.data_dir``; orders left running by a dead process
    are closed as interrupted."""
    journal = Journal(paths.journal_path)
    journal.heal(now)
    return Backend(CertStore(paths.data_dir), journal, FileLocker(paths.locks_dir), FileChallengeStore(journal))
