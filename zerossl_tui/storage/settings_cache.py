"""A parsed copy of a large ``settings.toml``, so that ``list`` over 10,000 certificates does not parse and
validate 10,000 TOML tables at every start (about 1.1 s of CPU of its 2 s).

The settings file stays the truth: the copy is used only when the SHA-256 of the file's bytes, read at
every load, equals the digest the copy was made from, so any change (an edit by hand, another process's
save, a restored backup) is a miss and the file is parsed again. What a certificate table's validation
reads besides its own text is in the key too: the settings file's folder (relative paths), ``$HOME``
(``~/`` paths), the stamps of the validating code (``zerossl_tui/core``) and the versions of Python and
``idna``; a table with a ``~user`` path (the password database) is never kept validated and is checked
again at each load.

Kept: settings.toml's own data only, never secrets.toml's, and nothing when settings.toml itself holds a
secret (the caller checks): no second copy of any secret. The copy is JSON (loading it runs no code), 0600,
beside the settings file, and only for files of at least ``MIN_BYTES`` (a small file parses in
milliseconds). Any trouble reading or writing it (a read-only folder, a damaged or foreign file) means
the file is parsed as without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from ..core.errors import ZtError
from ..core.models import CertificateSpec
from .fsutil import atomic_write

MIN_BYTES = 64 * 1024
FORMAT = 2  # 2: the certificate tables of data are empty for the certificates kept validated
_DEFAULTS = {f.name: f.default for f in fields(CertificateSpec) if f.default is not MISSING}
_REQUIRED = {f.name for f in fields(CertificateSpec) if f.default is MISSING} - {"name"}
_FIELD_COUNT = len(fields(CertificateSpec))


@dataclass(frozen=True)
class Parsed:
    """What a hit gives back: settings.toml's TOML data, and the certificates already validated."""

    data: dict[str, Any]
    certificates: dict[str, CertificateSpec]


def cache_path(config_file: Path) -> Path:
    """``.NAME.parsed.json`` beside the settings file ``NAME``."""
    return config_file.parent / f".{config_file.name}.parsed.json"


def lookup(config_file: Path, text: str) -> Parsed | None:
    """The parsed copy of ``text`` when one was kept for exactly these bytes (and this folder, ``$HOME``
    and code); None otherwise (then parse, and ``store``)."""
    if len(text) < MIN_BYTES:
        return None
    kept = _read(cache_path(config_file))
    if kept is None or kept.get("key") != _key(config_file, text):
        return None
    try:
        certificates = {name: _spec(name, values) for name, values in kept["certificates"].items()}
        tables = kept["data"].get("certificates", {})
        if any(not body and name not in certificates for name, body in tables.items()):
            return None  # an emptied table must stand for a kept certificate (see _slim)
        return Parsed(kept["data"], certificates)
    except (KeyError, TypeError, AttributeError):
        return None


def store(config_file: Path, text: str, data: dict[str, Any], certificates: dict[str, CertificateSpec]) -> None:
    """Keep ``data`` (settings.toml's TOML, without secrets: the caller checks) and the validated
    ``certificates`` for the next load; best effort."""
    if len(text) < MIN_BYTES or not _ours(config_file.parent):
        return
    raw = data.get("certificates") or {}
    kept = {name: _values(spec) for name, spec in certificates.items() if not _reads_passwd(raw.get(name))}
    try:
        body = json.dumps({"key": _key(config_file, text), "data": _slim(data, kept), "certificates": kept})
        atomic_write(cache_path(config_file), body.encode("utf-8"), 0o600)
    except (OSError, ValueError, TypeError, ZtError):
        pass  # a TOML date (not JSON), a read-only folder: no copy, the file is parsed each time


def _slim(data: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """``data`` with an empty table for each certificate kept validated (``parse_settings`` takes those as
    they are, and reads only the names and their order): the copy does not hold every table twice, which
    was half of its size and of the time to read it."""
    raw = data.get("certificates")
    if not isinstance(raw, dict):
        return data
    return {**data, "certificates": {name: {} if name in kept else body for name, body in raw.items()}}


def _ours(folder: Path) -> bool:
    """Whether ``folder`` belongs to this user: root listing a user's settings leaves no root-owned copy
    there (the user's runs would ignore it, see ``_read``)."""
    try:
        return folder.stat().st_uid == os.geteuid()
    except OSError:
        return False


def _read(path: Path) -> dict[str, Any] | None:
    """The kept copy, when it is a regular file of ours that others cannot write."""
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
                return None
            value = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _key(config_file: Path, text: str) -> str:
    """Everything the parsed and validated result depends on, as one digest."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass"))
    digest.update(repr((FORMAT, sys.version, _idna_version(), str(config_file.parent), os.environ.get("HOME"),
                        _code_stamp())).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _idna_version() -> str:
    """The version of ``idna``, which the name rules use (core/domains.py imports it)."""
    return str(getattr(sys.modules.get("idna"), "__version__", ""))


def _code_stamp() -> list[tuple[str, int, int]]:
    """(file, mtime_ns, size) of every module of ``core`` (where the rules live): a changed rule, such as
    after an upgrade, is a miss."""
    folder = Path(__file__).resolve().parent.parent / "core"
    out = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            st = entry.stat()
            out.append((entry.name, st.st_mtime_ns, st.st_size))
    return out


def _values(spec: CertificateSpec) -> dict[str, Any]:
    """The fields of ``spec`` that differ from their defaults."""
    return {k: v for k, v in vars(spec).items() if k != "name" and (k in _REQUIRED or v != _DEFAULTS[k])}


def _spec(name: str, values: dict[str, Any]) -> CertificateSpec:
    """A CertificateSpec equal to the one validated before. Its fields are set directly: the frozen
    dataclass's ``__init__`` (one ``object.__setattr__`` per field, 22 fields) cost three times as much
    for 10,000; the values are the ones ``__init__`` stored the first time. A copy that does not fit the
    fields (KeyError) is a miss."""
    spec = object.__new__(CertificateSpec)
    fields_of = {**_DEFAULTS, **values, "name": name}
    fields_of["domains"], fields_of["verify"] = tuple(fields_of["domains"]), tuple(fields_of["verify"])
    if len(fields_of) != _FIELD_COUNT:
        raise KeyError("unknown field")
    object.__setattr__(spec, "__dict__", fields_of)  # the frozen class's own __setattr__ refuses
    return spec


def _reads_passwd(body: Any) -> bool:
    """Whether a value of the raw table ``body`` is a ``~user`` path (or ``~`` without ``$HOME``): its
    meaning comes from the password database, which the key does not cover."""
    values = body.values() if isinstance(body, dict) else ()
    home = bool(os.environ.get("HOME"))
    return any(isinstance(v, str) and v.startswith("~") and not (home and (v == "~" or v.startswith("~/")))
               for v in values)
