"""The parsed settings kept between processes, so that `list` over 10,000 certificates does not parse and
validate a 10,000-table TOML file every time (measured: about half of its CPU time).

The cache sits beside the settings file (``.settings.toml.cache``, 0600, like ``secrets.toml``: it holds the
merged secrets) and is used only when its key still matches: the settings and secrets files' size,
modification and change times (ns) and inode (a save is a rename: a new inode), the Python and package
versions, and the modification times of the modules that define the settings. Anything else, or any trouble
reading or writing it, means the files are parsed as before; deleting it loses nothing. It is loaded only
when owned by this user and writable by nobody else (it is a pickle: whoever may write it may run code,
exactly like whoever may write the settings file's hooks).
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any

from ..core.settings import Settings
from .fsutil import atomic_write
from .paths import Paths
from .settings_file import load_settings

_CODE = ("settings.py", "models.py", "schema.py", "validate.py", "domains.py")


def load_settings_cached(paths: Paths) -> Settings:
    """``load_settings(paths)``, from the cache when the files have not changed since it was written."""
    key = _key(paths)
    cache = cache_path(paths)
    if key is not None and (hit := _read(cache, key)) is not None:
        return hit
    settings = load_settings(paths)
    if key is not None and key[0] is not None and key == _key(paths):  # unchanged while we parsed
        _write(cache, key, settings)
    return settings


def cache_path(paths: Paths) -> Path:
    """Where the cache of ``paths.config_file`` lives."""
    return paths.config_file.with_name(f".{paths.config_file.name}.cache")


def _stamp(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _key(paths: Paths) -> tuple[Any, ...] | None:
    """What the parsed settings depend on; None when a file cannot even be looked at."""
    from .. import __version__
    from ..core import settings as core_settings

    core = Path(core_settings.__file__).parent
    try:
        code = tuple(os.stat(core / name).st_mtime_ns for name in _CODE)
        return (_stamp(paths.config_file), _stamp(paths.secrets_file), __version__, sys.version, code,
                str(paths.config_file))
    except OSError:
        return None


def _read(cache: Path, key: tuple[Any, ...]) -> Settings | None:
    try:
        with open(cache, "rb") as handle:
            st = os.fstat(handle.fileno())
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return None
            stored_key, settings = pickle.load(handle)  # noqa: S301 - our own 0600 file, see the docstring
    except (OSError, EOFError, ValueError, TypeError, AttributeError, ImportError, pickle.UnpicklingError):
        return None
    return settings if stored_key == key and isinstance(settings, Settings) else None


def _write(cache: Path, key: tuple[Any, ...], settings: Settings) -> None:
    try:
        atomic_write(cache, pickle.dumps((key, settings), protocol=pickle.HIGHEST_PROTOCOL), 0o600)
    except Exception:  # noqa: BLE001 - a read-only folder, anything: parse every time, as before
        pass
