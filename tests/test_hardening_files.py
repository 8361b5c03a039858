"""Files and folders we did not make are never changed through a link or a loose mode: lock files are not
followed, a webroot's outside link is refused before anything is created, settings never stay writable by
others, a data folder open to others is refused without being touched, and served files belong to us with
fixed modes whatever a symlink at their place pointed to."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from zerossl_tui.core.errors import StorageError
from zerossl_tui.storage.locks import CertLock, holder_pid, is_locked


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# -- lock files ---------------------------------------------------------------------------------------------

def test_a_lock_file_that_is_a_symlink_is_refused_and_its_target_is_untouched(tmp_path: Path) -> None:
    locks = tmp_path / "data" / "locks"
    locks.mkdir(parents=True, mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (locks / "shop.lock").symlink_to(victim)
    lock = CertLock(locks, "shop")
    with pytest.raises(StorageError, match="symbolic link"):
        lock.try_acquire()
    with pytest.raises(StorageError, match="symbolic link"):
        is_locked(locks, "shop")
    assert holder_pid(locks, "shop") is None  # it is only for messages: it never reads through the link
    assert victim.read_text() == "precious\n"
    assert not lock.held


def test_a_lock_file_that_is_a_hard_link_is_refused_and_its_other_name_is_untouched(tmp_path: Path) -> None:
    locks = tmp_path / "data" / "locks"
    locks.mkdir(parents=True, mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.link(victim, locks / "shop.lock")
    with pytest.raises(StorageError, match="not a plain file"):
        CertLock(locks, "shop").try_acquire()
    assert victim.read_text() == "precious\n"


def test_a_plain_lock_file_still_works_and_notes_the_holder(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    with CertLock(locks, "shop") as lock:
        assert lock.held and is_locked(locks, "shop")
        assert holder_pid(locks, "shop") == os.getpid()
    assert not is_locked(locks, "shop")
