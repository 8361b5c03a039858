"""Writing a certificate where a web server reads it: each file atomic, the key first and only when changed.

``certfile`` receives the full chain (the certificate followed by the intermediates), which is what nginx's
``ssl_certificate``, Apache 2.4.8+ and most servers expect; ``chainfile`` gets the intermediates alone.
A file that is replaced keeps its owner, group and permissions where we may set them (a key stays out of
reach of others whatever it was), so a key shared with a service's group (Debian's ``ssl-cert``) stays
readable to that service after a renewal. All new files are written before any is renamed into place; if
one cannot be written, or the process is interrupted, the files already replaced get their previous
content back, so the server is never left with a key that does not match its certificate. Only a hard
crash between two renames can do that, and the store's pending-deployment record repairs it at the next
start (see ``CertStore.begin_deploy``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import StorageError
from ..core.models import CertificateSpec
from .fsutil import (
    atomic_write,
    discard,
    ensure_dir,
    fsync_dir,
    read_bytes_or_none,
    replace_with,
    stale_temps,
    write_temp,
)

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
    """Write each target whose content differs, key first; return the paths written.

    Every new file is written and fsynced under a temporary name first; only then are they renamed into
    place, back to back, so that a crash can leave a key beside a certificate it does not match only for
    the instant between two renames (and ``CertStore`` records the deployment until it is complete, so the
    next start finishes it). On failure, or an interruption (SIGTERM), the files already replaced get
    their old content back (or are removed when they did not exist) before the error is raised.
    """
    changed = [(t, old) for t in files if (old := read_bytes_or_none(t.path)) != t.data]
    staged: list[tuple[Target, bytes | None, Path]] = []
    renamed: list[tuple[Target, bytes | None]] = []
    try:
        for target, old in changed:
            staged.append((target, old, _stage_served(target)))
        for target, old, tmp in staged:
            renamed.append((target, old))  # first: an interrupt may come right after the rename
            replace_with(tmp, target.path)
    except BaseException:
        for _, _, tmp in staged:
            discard(tmp)
        _roll_back(renamed)
        raise
    for folder in dict.fromkeys(t.path.parent for t, _ in renamed):
        fsync_dir(folder)
    return [str(target.path) for target, _ in renamed]


def remove_stale_temps(files: list[Target]) -> None:
    """Delete the temporary files that a process killed while deploying left beside the served files (they
    may hold a private key); call it only under the certificate's lock."""
    for target in files:
        for tmp in stale_temps(target.path):
            discard(tmp)


def _stage_served(target: Target) -> Path:
    ensure_dir(target.path.parent, 0o700, strict=False)
    mode, owner = _keep_attributes(target)
    return write_temp(target.path, target.data, mode, owner=owner)


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
