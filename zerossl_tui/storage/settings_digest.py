"""What ``load_settings`` reads, as one digest: a reload that finds the same digest keeps the settings it
parsed before (parsing a settings file of 10,000 certificate tables costs about half a second)."""

from __future__ import annotations

import hashlib
import os

from ..core.errors import ZtError
from .fsutil import read_bytes_or_none
from .paths import Paths
from .settings_guard import check_settings_path


def settings_fingerprint(paths: Paths) -> bytes:
    """A digest of everything ``load_settings`` reads (both files' bytes, and ``$HOME`` for ``~`` paths):
    equal digests load equal settings, so a reload can keep what it parsed before (parsing 10,000
    certificate tables costs about half a second). Kept in memory only; a file that cannot be read gives a
    digest that never matches, so the load runs and reports it."""
    digest = hashlib.sha256(os.environ.get("HOME", "").encode("utf-8", "surrogateescape") + b"\0")
    for path in (paths.config_file, paths.secrets_file):
        try:
            check_settings_path(path)  # a FIFO would hang here, before load_settings could say what it is
            data = read_bytes_or_none(path)
        except (OSError, ZtError):
            return os.urandom(32)
        digest.update(b"-" if data is None else b"+%d:" % len(data) + data)
    return digest.digest()
