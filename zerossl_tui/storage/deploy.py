"""Writing a certificate where a web server reads it: each file atomic, the key first and only when changed.

``certfile`` receives the full chain (the certificate followed by the intermediates), which is what nginx's
``ssl_certificate``, Apache 2.4.8+ and most servers expect; ``chainfile`` gets the intermediates alone.

Served files belong to the user running us, or to the certificate's ``owner`` and ``group`` settings; the
key is 0600 (0640 when a ``group`` is set, for a service's group such as Debian's ``ssl-cert``), the
certificate and chain 0644. Nothing is taken from the file being replaced: a symlink there (to a file of
another user, mode 0666) is replaced by our own file, never followed, and a served file whose owner or
mode differs from these is rewritten at the next deployment.

All new files are written before any is renamed into place; if one cannot be written, or the process is
interrupted, the files already replaced get their previous content back, so the server is never left with
a key that does not match its certificate. Only a hard crash between two renames can do that, and the
store's pending-deployment record repairs it at the next start (see ``CertStore.begin_deploy``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ConfigError, StorageError
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
GROUP_KEY_MODE = 0o640
CERT_MODE = 0o644


@dataclass(frozen=True)
class Target:
    """One served file: where, what, whether it is the private key, and its (uid, gid) when the settings
    name an owner or group (-1: unchanged, i.e. ours)."""

    path: Path
    data: bytes
    private: bool
    owner: tuple[int, int] | None = None

    @property
    def mode(self) -> int:
        """0600 for a key (0640 when a group is to read it), 0644 for a certificate or chain."""
        if not self.private:
            return CERT_MODE
        return GROUP_KEY_MODE if self.owner is not None and self.owner[1] != -1 else KEY_MODE


def targets(spec: CertificateSpec, key_pem: bytes, chain_pem: bytes, fullchain_pem: bytes) -> list[Target]:
    """The files that ``spec`` asks for, key first; a path named twice is written once."""
    wanted = [
        (spec.keyfile, key_pem, True),
        (spec.certfile, fullchain_pem, False),
        (spec.fullchain, fullchain_pem, False),
        (spec.chainfile, chain_pem, False),
    ]
    owner = served_owner(spec)
    out: dict[Path, Target] = {}
    for name, data, private in wanted:
        if not name:
            continue
        path = Path(name).expanduser().absolute()
        target = Target(path, data, private, owner)
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
    changed = [(t, old) for t in files if (old := read_bytes_or_none(t.path)) != t.data or not _as_wanted(t)]
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


def served_owner(spec: CertificateSpec) -> tuple[int, int] | None:
    """(uid, gid) named by ``spec.owner`` and ``spec.group`` (-1 for one not set), or None for neither;
    ConfigError for a user or group this system does not have."""
    if not spec.owner and not spec.group:
        return None
    import grp
    import pwd

    uid = _id(spec, "owner", spec.owner, lambda name: pwd.getpwnam(name).pw_uid)
    return uid, _id(spec, "group", spec.group, lambda name: grp.getgrnam(name).gr_gid)


def _id(spec: CertificateSpec, setting: str, name: str, lookup: Callable[[str], int]) -> int:
    if not name:
        return -1
    if name.isdecimal():
        return int(name)
    try:
        return lookup(name)
    except KeyError:
        raise ConfigError(
            f"{spec.name}: {setting} {name!r} does not exist on this system: fix the {setting} setting"
        ) from None


def _as_wanted(target: Target) -> bool:
    """True when the served file is a plain file (not a link) with the owner and mode we would give it."""
    try:
        st = os.lstat(target.path)
    except OSError:
        return False
    uid, gid = target.owner or (-1, -1)
    return (
        stat.S_ISREG(st.st_mode)
        and stat.S_IMODE(st.st_mode) == target.mode
        and st.st_uid == (os.geteuid() if uid == -1 else uid)
        and gid in (-1, st.st_gid)
    )


def _stage_served(target: Target) -> Path:
    ensure_dir(target.path.parent, 0o700, strict=False)
    return write_temp(target.path, target.data, target.mode, owner=target.owner)


def _roll_back(written: list[tuple[Target, bytes | None]]) -> None:
    for target, old in reversed(written):
        try:
            if old is None:
                target.path.unlink()
            else:
                atomic_write(target.path, old, target.mode, owner=target.owner)
        except (OSError, StorageError):
            pass  # best effort: the error being raised already tells the user what failed
