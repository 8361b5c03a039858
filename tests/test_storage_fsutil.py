"""Atomic writes and private folders: what a user would notice if they went wrong."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from helpers import mode_of

from zerossl_tui.core.errors import StorageError
from zerossl_tui.storage import fsutil
from zerossl_tui.storage.fsutil import atomic_write, ensure_dir, read_bytes_or_none


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_atomic_write_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "cert.pem"
    atomic_write(target, b"old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_failed_write_keeps_old_content_and_names_the_path(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "privkey.pem"
    atomic_write(target, b"old key", 0o600)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsutil.os, "fsync", disk_full)
    with pytest.raises(StorageError) as info:
        atomic_write(target, b"new key, half written", 0o600)
    assert str(target) in info.value.message
    assert "no space left" in info.value.message
    assert "\n" not in info.value.message
    assert target.read_bytes() == b"old key"
    assert leftovers(tmp_path) == []


def test_interrupted_write_keeps_old_content(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "fullchain.pem"
    atomic_write(target, b"old")

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fsutil.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_private_file_is_never_readable_by_others_even_under_umask_0(
    tmp_path: Path, monkeypatch, umask0: None
) -> None:
    seen_modes: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            seen_modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(fsutil.os, "fsync", spy)
    target = tmp_path / "privkey.pem"
    atomic_write(target, b"secret", 0o600)
    assert seen_modes == [0o600]
    assert mode_of(target) == 0o600


def test_served_certificate_stays_readable_under_a_strict_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        atomic_write(tmp_path / "cert.pem", b"cert", 0o644)
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "cert.pem") == 0o644


def test_ensure_dir_creates_parents_private_under_umask_0(tmp_path: Path, umask0: None) -> None:
    leaf = tmp_path / "a" / "b" / "c"
    ensure_dir(leaf)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", leaf):
        assert mode_of(folder) == 0o700


def test_ensure_dir_never_changes_an_existing_folder(tmp_path: Path) -> None:
    folder = tmp_path / "accounts"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    ensure_dir(folder)
    assert mode_of(folder) == 0o755  # not ours to narrow; only a folder open to writers is refused


def test_ensure_dir_leaves_an_existing_user_folder_alone(tmp_path: Path) -> None:
    folder = tmp_path / "etc-ssl"
    folder.mkdir()
    os.chmod(folder, 0o755)
    ensure_dir(folder, strict=False)
    assert mode_of(folder) == 0o755


def test_ensure_dir_on_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="not a folder"):
        ensure_dir(tmp_path / "file")


def test_permission_denied_says_whose_files_they_are(tmp_path: Path, monkeypatch) -> None:
    def denied(*args: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    # Simulated: the tests may run as root, which no folder permission stops.
    monkeypatch.setattr(fsutil.os, "open", denied)
    with pytest.raises(StorageError) as info:
        atomic_write(tmp_path / "cert.pem", b"x")
    assert str(tmp_path / "cert.pem") in info.value.message
    assert "permission denied: run as the user that owns it" in info.value.message


def test_read_bytes_or_none(tmp_path: Path) -> None:
    assert read_bytes_or_none(tmp_path / "missing") is None
    (tmp_path / "there").write_bytes(b"x")
    assert read_bytes_or_none(tmp_path / "there") == b"x"
