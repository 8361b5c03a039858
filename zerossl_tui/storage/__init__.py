"""Storage: the only layer that touches settings, certificate, key and account files (stdlib + core).

- ``paths``: where everything lives (``resolve_paths``).
- ``settings_file``: ``load_settings`` / ``save_settings`` (secrets kept apart, 0600).
- ``store``: ``CertStore``, every issued version kept, atomic ``current`` pointer, ``deploy`` to served files.
- ``journal``: ``Journal``, orders, events and renewal state in SQLite.
- ``locks``: ``CertLock``, one issuer per certificate across processes and threads.
- ``fsutil``: atomic writes and private folders underneath all of them.
"""

from .journal import Journal
from .locks import CertLock, is_locked
from .paths import Paths, resolve_paths
from .settings_file import load_settings, save_settings
from .store import CertStore, StoredCert

__all__ = [
    "CertLock",
    "CertStore",
    "Journal",
    "Paths",
    "StoredCert",
    "is_locked",
    "load_settings",
    "resolve_paths",
    "save_settings",
]
