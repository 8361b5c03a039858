"""Files and folders we did not make are never changed through a link or a loose mode: lock files are not
followed, a webroot's outside link is refused before anything is created, settings never stay writable by
others, a data folder open to others is refused without being touched, and served files belong to us with
fixed modes whatever a symlink at their place pointed to."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import Home

from zerossl_tui.core.errors import ConfigError, OperationError, StorageError
from zerossl_tui.core.models import CertificateSpec
from zerossl_tui.engine.solvers import WebrootSolver
from zerossl_tui.storage.locks import CertLock, holder_pid, is_locked
from zerossl_tui.storage.store import CertStore, StoredCert


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


# -- webroot ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("planted", [".well-known", ".well-known/acme-challenge"])
def test_webroot_creates_nothing_outside_when_a_challenge_folder_links_out(tmp_path: Path, planted: str) -> None:
    root, outside = tmp_path / "www", tmp_path / "elsewhere"
    (root / planted).parent.mkdir(parents=True)
    outside.mkdir()
    (root / planted).symlink_to(outside)
    with pytest.raises(OperationError, match="outside the webroot"):
        WebrootSolver(str(root)).present("a.example.test", "tok3n", "tok3n.thumb")
    assert list(outside.iterdir()) == [], "something was created outside the web root"


def test_webroot_creates_its_challenge_folders_0755_inside_the_root(tmp_path: Path, umask0: None) -> None:
    root = tmp_path / "www"
    root.mkdir()
    with WebrootSolver(str(root)) as solver:
        solver.present("a.example.test", "tok3n", "tok3n.thumb")
    folder = root / ".well-known" / "acme-challenge"
    assert (folder / "tok3n").read_text() == "tok3n.thumb"
    assert mode(folder) == mode(folder.parent) == 0o755 and mode(folder / "tok3n") == 0o644


# -- settings -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("before", "after"), [(0o666, 0o644), (0o664, 0o644), (0o660, 0o640), (0o640, 0o640)])
def test_a_saved_settings_file_is_never_left_writable_by_others(home: Home, before: int, after: int) -> None:
    home.config.parent.mkdir(mode=0o700)
    home.config.write_text('[general]\ndefault_provider = "letsencrypt"\n')
    os.chmod(home.config, before)
    done = home.run("add", "shop", "-d", "shop.example.test")
    assert done.returncode == 0, done.stderr
    assert "shop.example.test" in home.config.read_text()
    assert mode(home.config) == after, oct(mode(home.config))


def test_a_new_settings_file_is_0600_even_under_umask_000(home: Home, umask0: None) -> None:
    done = home.run("add", "shop", "-d", "shop.example.test", "--provider", "letsencrypt")
    assert done.returncode == 0, done.stderr
    assert mode(home.config) == 0o600


# -- the data folder ----------------------------------------------------------------------------------------

def test_an_existing_0755_data_folder_is_used_and_never_chmodded(home: Home) -> None:
    home.data.mkdir()
    os.chmod(home.data, 0o755)
    done = home.run("list")
    assert done.returncode == 0, done.stderr
    assert (home.data / "journal.sqlite3").exists()
    assert mode(home.data) == 0o755


@pytest.mark.parametrize("loose", [0o1777, 0o777, 0o775, 0o770])
def test_a_data_folder_writable_by_others_is_refused_in_one_line_and_left_alone(home: Home, loose: int) -> None:
    home.data.mkdir()
    os.chmod(home.data, loose)
    done = home.run("list")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and str(home.data) in done.stderr and "writable by" in done.stderr
    assert "Traceback" not in done.stderr
    assert mode(home.data) == loose and list(home.data.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_a_data_folder_of_another_user_is_refused_and_left_alone(home: Home) -> None:
    home.data.mkdir(mode=0o700)
    os.chown(home.data, 1000, 1000)
    done = home.run("list")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "belongs to user 1000" in done.stderr
    st = home.data.stat()
    assert (st.st_uid, mode(home.data), list(home.data.iterdir())) == (1000, 0o700, [])


def test_a_new_data_folder_is_created_0700(home: Home, umask0: None) -> None:
    assert home.run("list").returncode == 0
    assert mode(home.data) == 0o700 and mode(home.data / "journal.sqlite3") & 0o022 == 0


# -- served files -------------------------------------------------------------------------------------------

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="only root can make files of another user")


def plant(path: Path, victim: Path, file_mode: int) -> None:
    """``path`` -> ``victim``, a file of uid 1000 with ``file_mode``."""
    victim.write_text("victim's own\n")
    os.chown(victim, 1000, 1000)
    os.chmod(victim, file_mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(victim)


@ROOT_ONLY
@pytest.mark.pebble
def test_deploying_through_a_symlink_gives_our_own_files_and_leaves_its_target_alone(local_home: Home,
                                                                                    pebble) -> None:
    served, elsewhere = local_home.root / "srv", local_home.root / "elsewhere"
    elsewhere.mkdir()
    plant(served / "key.pem", elsewhere / "key", 0o666)
    plant(served / "cert.pem", elsewhere / "cert", 0o777)
    plant(served / "chain.pem", elsewhere / "chain", 0o666)
    local_home.run("add", "shop", "-d", "shop.example.test", "--provider", "local", "--http-port",
                   str(pebble.http_port), "--http-bind", "127.0.0.1", "--keyfile", str(served / "key.pem"),
                   "--certfile", str(served / "cert.pem"), "--chainfile", str(served / "chain.pem"), check=True)
    local_home.run("issue", "shop", check=True)
    for name, wanted in (("key.pem", 0o600), ("cert.pem", 0o644), ("chain.pem", 0o644)):
        st = (served / name).lstat()
        assert stat.S_ISREG(st.st_mode), f"{name} is still a link"
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (os.geteuid(), wanted), (name, st.st_uid, oct(st.st_mode))
    assert "PRIVATE KEY" in (served / "key.pem").read_text()
    for name, old_mode in (("key", 0o666), ("cert", 0o777), ("chain", 0o666)):
        st = (elsewhere / name).stat()
        assert (elsewhere / name).read_text() == "victim's own\n"
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (1000, old_mode)


def served_spec(tmp_path: Path, **settings: str) -> CertificateSpec:
    served = tmp_path / "srv"
    return CertificateSpec("shop", ("shop.example.com",), "letsencrypt", certfile=str(served / "cert.pem"),
                           keyfile=str(served / "key.pem"), **settings)


def stored(store: CertStore, serial: str, key: bytes = b"KEY-A\n") -> StoredCert:
    meta = {"serial": serial, "not_before": "2026-01-01T00:00:00+00:00", "not_after": "2026-04-01T00:00:00+00:00",
            "domains": ["shop.example.com"]}
    return store.save_version("shop", key, b"LEAF\n", b"CHAIN\n", b"LEAF\nCHAIN\n", meta)


def test_a_served_file_with_a_wider_mode_is_narrowed_at_the_next_deployment(tmp_path: Path, umask0: None) -> None:
    store, spec = CertStore(tmp_path / "data"), served_spec(tmp_path)
    version = stored(store, "01")
    store.deploy(spec, version)
    key, cert = Path(spec.keyfile), Path(spec.certfile)
    os.chmod(key, 0o666)
    os.chmod(cert, 0o777)
    assert sorted(store.deploy(spec, version)) == sorted([spec.keyfile, spec.certfile])
    assert (mode(key), mode(cert)) == (0o600, 0o644)
    assert store.deploy(spec, version) == []  # as wanted: nothing rewritten


def test_with_a_group_setting_the_key_is_0640_of_that_group(tmp_path: Path) -> None:
    gid = 1000 if os.geteuid() == 0 else os.getegid()
    store, spec = CertStore(tmp_path / "data"), served_spec(tmp_path, group=str(gid))
    store.deploy(spec, stored(store, "01"))
    key, cert = Path(spec.keyfile).stat(), Path(spec.certfile).stat()
    assert (key.st_uid, key.st_gid, stat.S_IMODE(key.st_mode)) == (os.geteuid(), gid, 0o640)
    assert (cert.st_gid, stat.S_IMODE(cert.st_mode)) == (gid, 0o644)


@ROOT_ONLY
def test_with_an_owner_setting_the_served_files_belong_to_that_user(tmp_path: Path) -> None:
    store, spec = CertStore(tmp_path / "data"), served_spec(tmp_path, owner="1000")
    store.deploy(spec, stored(store, "01"))
    key = Path(spec.keyfile).stat()
    assert (key.st_uid, stat.S_IMODE(key.st_mode)) == (1000, 0o600)


def test_an_unknown_group_is_a_one_line_settings_error_and_nothing_is_written(tmp_path: Path) -> None:
    store, spec = CertStore(tmp_path / "data"), served_spec(tmp_path, group="no-such-group-zt")
    with pytest.raises(ConfigError, match="group 'no-such-group-zt' does not exist"):
        store.deploy(spec, stored(store, "01"))
    assert not Path(spec.keyfile).exists()
