"""Small filesystem primitives: atomic writes, private folders, and OSError turned into StorageError.

Every file the product writes goes through ``atomic_write``: readers see the old content or the new content,
never a mix, and a crash at any moment leaves the old file in place (plus, at worst, a hidden ``.*.tmp``).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from ..core.errors import ConfigError, StorageError

_ADVICE = {
    errno.EACCES: "permission denied: run as the user that owns it, or fix its permissions",
    errno.EPERM: "operation not permitted: run as the user that owns it",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
}


def storage_error(action: str, path: Path | str, exc: OSError) -> StorageError:
    """One line naming the path and the cause, e.g. ``cannot write /x: permission denied: run as ...``."""
    cause = _ADVICE.get(exc.errno or 0) or exc.strerror or str(exc)
    return StorageError(f"cannot {action} {path}: {cause}")


def atomic_write(path: Path, data: bytes, mode: int = 0o644, *, owner: tuple[int, int] | None = None) -> None:
    """Replace ``path`` with ``data`` so that no reader ever sees a partial file.

    The temporary file is created in the same folder with ``O_EXCL`` and at most ``mode`` from the start, so
    a private key is never readable by others, not even for a moment and not even under ``umask 000``; it
    is then set to exactly ``mode`` (a strict umask must not make a served certificate unreadable to the
    web server). ``owner`` = (uid, gid), -1 for "unchanged", hands the new file to that user and group
    before it gets its mode (so a group-readable key is never readable by our own group); failing to do so
    is an error, never a file left with an owner nobody asked for.
    After ``os.replace`` the folder is fsynced so the rename survives a power cut. A symlink at ``path``
    is replaced by the file, never followed.
    """
    tmp = write_temp(path, data, mode, owner=owner)
    replace_with(tmp, path)
    fsync_dir(path.parent)


def write_temp(path: Path, data: bytes, mode: int = 0o644, *, owner: tuple[int, int] | None = None) -> Path:
    """The first half of ``atomic_write``: ``data`` in a hidden, fsynced temporary file beside ``path``.

    Writing several files "at once" (a key and its certificate) stages them all first, so that only
    back-to-back renames (``replace_with``) separate the old set from the new one.
    """
    import secrets  # here, not at the top: commands that only read (list, log) never pay for it

    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode & 0o700)
    except OSError as exc:
        raise storage_error("write", path, exc) from None
    try:
        _fill(fd, data, mode, owner)
    except BaseException as exc:
        discard(tmp)
        if isinstance(exc, OSError):
            raise storage_error("write", path, exc) from None
        raise
    return tmp


def replace_with(tmp: Path, path: Path) -> None:
    """The second half of ``atomic_write``: rename ``tmp`` over ``path`` (the folder is not fsynced)."""
    try:
        os.replace(tmp, path)
    except BaseException as exc:
        discard(tmp)
        if isinstance(exc, OSError):
            raise storage_error("write", path, exc) from None
        raise


def stale_temps(path: Path) -> list[Path]:
    """Temporary files of ``write_temp`` for ``path`` that a killed process left behind."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{12}}\.tmp")
    try:
        return [path.parent / e.name for e in os.scandir(path.parent) if pattern.fullmatch(e.name)]
    except OSError:
        return []


def _fill(fd: int, data: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    with os.fdopen(fd, "wb") as handle:
        if owner is not None:
            os.fchown(handle.fileno(), *owner)  # only root, or a member of the group, may; else an error
        os.fchmod(handle.fileno(), mode & 0o777)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def discard(tmp: Path) -> None:
    """Remove a temporary file, if it is still there."""
    try:
        tmp.unlink()
    except OSError:
        pass


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename or a new file in it) to disk; ignored where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def ensure_dir(path: Path, mode: int = 0o700, *, strict: bool = True) -> Path:
    """Create ``path`` and its missing parents with exactly ``mode`` (whatever the umask) and return it.

    A folder that already exists is never changed: we only set the mode of folders we create. With
    ``strict`` (folders of our own store: the data folder and what is inside it) an existing folder must
    belong to this user and not be writable by group or others, like certbot's strict check; otherwise it
    is refused with a ConfigError (exit 2) saying how to fix it. Pass ``strict=False`` for a folder the user
    named for a web server's files or for the settings: it is created private when missing, and an existing
    one is used as the user set it.
    """
    missing = _missing_folders(path)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, mode)
        except FileExistsError:
            continue
        except OSError as exc:
            raise storage_error("create folder", folder, exc) from None
        _chmod(folder, mode)
    if not os.path.isdir(path):
        raise StorageError(f"cannot use {path} as a folder: it is not a folder (or cannot be reached)")
    if strict and not missing:
        check_private_dir(path)
    return path


def check_private_dir(path: Path) -> None:
    """ConfigError unless ``path`` belongs to this user and only its owner may write in it (another user
    who can write there could swap our keys or plant links for us to follow)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise storage_error("read", path, exc) from None
    if st.st_uid != os.geteuid():
        raise ConfigError(
            f"{path} belongs to user {st.st_uid}, not to the user running zerossl-tui ({os.geteuid()}): "
            "run as its owner, or set data_dir to a folder of this user"
        )
    if st.st_mode & 0o022:
        raise ConfigError(
            f"{path} is writable by {'others' if st.st_mode & 0o002 else 'its group'} "
            f"(mode {stat.S_IMODE(st.st_mode):04o}): make it private (chmod 700 {path}), "
            "or set data_dir to a folder only this user can write"
        )


def _missing_folders(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist yet, deepest first."""
    missing: list[Path] = []
    for folder in (path, *path.parents):
        if os.path.lexists(folder):
            break
        missing.append(folder)
    return missing


def _chmod(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except OSError as exc:
        raise storage_error("set permissions of", path, exc) from None


def read_bytes_or_none(path: Path) -> bytes | None:
    """The content of ``path``, or None when it does not exist; other failures are StorageError."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise storage_error("read", path, exc) from None


def through_link(path: Path) -> Path:
    """The file a symlink points at (so that the link survives an atomic replace), else ``path``."""
    return path.resolve() if path.is_symlink() else path


def kept_mode(path: Path, default: int) -> int:
    """The permission bits of ``path`` without write for group and others (a rewritten file may hold
    commands run as root), or ``default`` for a new file."""
    try:
        return path.stat().st_mode & 0o777 & ~0o022
    except OSError:
        return default
