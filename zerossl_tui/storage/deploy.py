"""Writing a certificate where a web server reads it: each file atomic, the key first and only when changed.

``certfile`` receives the full chain (the certificate followed by the intermediates), which is what nginx's
``ssl_certificate``, Apache 2.4.8+ and most servers expect; ``chainfile`` gets the intermediates alone.
A file that is replaced keeps its owner, group and permissions where we may set them (a key stays out of
reach of others whatever it was), so a key shared with a service's group (Debian's ``ssl-cert``) stays
readable to that service after a renewal. If a later file cannot be written, the files already replaced
get their previous content back, so the server is never left with a key that does not match its
certificate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import StorageError
from ..core.models import CertificateSpec
from .fsutil import atomic_write, ensure_dir, read_bytes_or_none

KEY_MODE = 0o600
CERT_MODE = 0o644


@dataclass(frozen=True)
class Target:
    """One served file: where, what, and whether it is the private key."""

    path: Path
    data: bytes
    private: bool


def targets(spec: CertificateSpec, key_pem: bytes, chain_pem: bytes, fullchain_pem: bytes) -> list[Target]:
    """The files that ``spec`` asks for, key first; a path named twice is written once."""
    wanted = [
        (spec.keyfile, key_pem, True),
        (spec.certfile, fullchain_pem, False),
        (spec.fullchain, fullchain_pem, False),
        (spec.chainfile, chain_pem, False),
    ]
    out: dict[Path, Target] = {}
    for name, data, private in wanted:
        if not name:
            continue
        path = Path(name).expanduser().absolute()
        target = Target(path, data, private)
        if path in out and out[path].data != target.data:
            raise StorageError(f"{spec.name}: {path} is named for two different files (key, cert or chain)")
        out.setdefault(path, target)
    return list(out.values())


def deploy_files(files: list[Target]) -> list[str]:
    """Write each target whose content differs, in order; return the paths written.

    On failure the files already written get their old content back (or are removed when they did not
    exist) before the StorageError is raised.
    """
    written: list[tuple[Target, bytes | None]] = []
    try:
        for target in files:
            old = read_bytes_or_none(target.path)
            if old == target.data:
                continue
            _write_served(target)
            written.append((target, old))
    except StorageError:
        _roll_back(written)
        raise
    return [str(target.path) for target, _ in written]


def _write_served(target: Target) -> None:
    ensure_dir(target.path.parent, 0o700, tighten=False)
    mode, owner = _keep_attributes(target)
    atomic_write(target.path, target.data, mode, owner=owner)


def _keep_attributes(target: Target) -> tuple[int, tuple[int, int] | None]:
    """Mode and (uid, gid) for a new served file: those of the file it replaces, else the defaults."""
    default = KEY_MODE if target.private else CERT_MODE
    try:
        st = os.stat(target.path)
    except OSError:
        return default, None
    mode = st.st_mode & 0o777
    if target.private:
        mode &= 0o770  # a key is never readable by everyone, whatever it was before
    uid = st.st_uid if os.geteuid() == 0 else -1
    return mode, (uid, st.st_gid)


def _roll_back(written: list[tuple[Target, bytes | None]]) -> None:
    for target, old in reversed(written):
        try:
            if old is None:
                target.path.unlink()
            else:
                mode, owner = _keep_attributes(target)
                atomic_write(target.path, old, mode, owner=owner)
        except (OSError, StorageError):
            pass  # best effort: the error being raised already tells the user what failed
