"""The certificate store: versions kept, current never half-written, served files deployed safely."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import mode_of

from zerossl_tui.core.errors import StorageError
from zerossl_tui.core.models import CertificateSpec
from zerossl_tui.storage import deploy as deploy_module
from zerossl_tui.storage import store as store_module
from zerossl_tui.storage.store import CertStore, StoredCert

KEY_A = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
KEY_B = b"-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n"
CHAIN = b"-----BEGIN CERTIFICATE-----\nINTERMEDIATE\n-----END CERTIFICATE-----\n"


@pytest.fixture
def store(tmp_path: Path) -> CertStore:
    return CertStore(tmp_path / "data")


def leaf(serial: str) -> bytes:
    return f"-----BEGIN CERTIFICATE-----\nLEAF{serial}\n-----END CERTIFICATE-----\n".encode()


def save(store: CertStore, serial: str, key: bytes = KEY_A, name: str = "shop") -> StoredCert:
    meta = {
        "serial": serial,
        "not_before": datetime(2026, 1, 1, tzinfo=UTC),
        "not_after": "2026-04-01T00:00:00+00:00",
        "domains": ["shop.example.com"],
    }
    return store.save_version(name, key, leaf(serial), CHAIN, leaf(serial) + CHAIN, meta)


def test_every_version_is_kept_and_the_newest_is_current(store: CertStore) -> None:
    first = save(store, "0A01")
    second = save(store, "0B02", key=KEY_B)
    assert store.versions("shop") == [first.version, second.version]
    assert first.version.startswith("0001") and second.version.startswith("0002")
    current = store.current("shop")
    assert current is not None
    assert current.version == second.version
    assert current.key_pem == KEY_B and current.cert_pem == leaf("0B02")
    assert current.fullchain_pem == leaf("0B02") + CHAIN
    old = store.load_version("shop", first.version)
    assert old is not None and old.key_pem == KEY_A


def test_private_key_is_0600_in_private_folders(store: CertStore, umask0: None) -> None:
    stored = save(store, "01")
    assert mode_of(stored.dir / "privkey.pem") == 0o600
    for folder in (stored.dir, stored.dir.parent, stored.dir.parent.parent, store.data_dir):
        assert mode_of(folder) == 0o700
    assert KEY_A.decode() not in repr(stored)


def test_meta_is_readable_alone_with_iso_dates(store: CertStore) -> None:
    save(store, "01")
    meta = store.current_meta("shop")
    assert meta is not None
    assert meta["serial"] == "01"
    assert meta["not_before"] == "2026-01-01T00:00:00+00:00"
    assert store.current_meta("never-issued") is None
    assert store.current("never-issued") is None


def test_names_lists_stored_certificates(store: CertStore) -> None:
    save(store, "01", name="shop")
    save(store, "02", name="blog")
    assert store.names() == ["blog", "shop"]


def test_crash_while_writing_a_version_leaves_current_untouched(store: CertStore, monkeypatch) -> None:
    first = save(store, "01")
    real_write = store_module.atomic_write

    def crash_on_meta(path: Path, data: bytes, mode: int = 0o644, **kw: object) -> None:
        if path.name == "meta.json":
            raise StorageError(f"cannot write {path}: no space left on the device")
        real_write(path, data, mode)

    monkeypatch.setattr(store_module, "atomic_write", crash_on_meta)
    with pytest.raises(StorageError):
        save(store, "02", key=KEY_B)
    monkeypatch.undo()
    assert store.versions("shop") == [first.version]
    assert sorted(p.name for p in first.dir.parent.iterdir()) == [first.version]  # no stray key copy
    current = store.current("shop")
    assert current is not None and current.version == first.version


def test_key_copy_left_by_a_killed_writer_is_removed(store: CertStore) -> None:
    first = save(store, "01")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    abandoned = first.dir.parent / f".staging-{dead.pid}-abcd"
    abandoned.mkdir()
    (abandoned / "privkey.pem").write_bytes(KEY_B)
    save(store, "02")
    assert not abandoned.exists()


def test_current_pointing_at_a_missing_version_heals(store: CertStore) -> None:
    save(store, "01")
    second = save(store, "02")
    (store.data_dir / "certificates" / "shop" / "current").write_text("0099-gone\n")
    current = store.current("shop")
    assert current is not None and current.version == second.version
    meta = store.current_meta("shop")
    assert meta is not None and meta["serial"] == "02"


def test_current_pointing_at_a_damaged_version_falls_back_to_a_complete_one(store: CertStore) -> None:
    first = save(store, "01")
    second = save(store, "02")
    (second.dir / "fullchain.pem").unlink()
    current = store.current("shop")
    assert current is not None and current.version == first.version
    (first.dir / "meta.json").write_text("{not json")
    assert store.current("shop") is None


def test_garbage_or_missing_pointer_heals(store: CertStore) -> None:
    stored = save(store, "01")
    pointer = store.data_dir / "certificates" / "shop" / "current"
    pointer.write_text("../../../etc\n")
    current = store.current("shop")
    assert current is not None and current.version == stored.version
    pointer.unlink()
    current = store.current("shop")
    assert current is not None and current.version == stored.version


def spec_for(tmp_path: Path, chainfile: str = "") -> CertificateSpec:
    served = tmp_path / "etc-ssl" / "shop"
    return CertificateSpec(
        "shop",
        ("shop.example.com",),
        "letsencrypt",
        certfile=str(served / "cert.pem"),
        keyfile=str(served / "privkey.pem"),
        chainfile=chainfile,
    )


def test_deploy_writes_key_first_and_certfile_holds_the_full_chain(
    store: CertStore, tmp_path: Path, monkeypatch, umask0: None
) -> None:
    spec = spec_for(tmp_path, chainfile=str(tmp_path / "etc-ssl" / "shop" / "chain.pem"))
    order: list[str] = []
    real_replace = deploy_module.replace_with

    def spy(tmp: Path, path: Path) -> None:
        order.append(path.name)
        real_replace(tmp, path)

    monkeypatch.setattr(deploy_module, "replace_with", spy)
    written = store.deploy(spec, save(store, "01"))
    served = tmp_path / "etc-ssl" / "shop"
    assert order == ["privkey.pem", "cert.pem", "chain.pem"]
    assert written == [str(served / "privkey.pem"), str(served / "cert.pem"), str(served / "chain.pem")]
    assert (served / "cert.pem").read_bytes() == leaf("01") + CHAIN
    assert (served / "chain.pem").read_bytes() == CHAIN
    assert mode_of(served / "privkey.pem") == 0o600
    assert mode_of(served / "cert.pem") == 0o644
    assert mode_of(served) == 0o700


def test_deploy_leaves_an_unchanged_key_alone(store: CertStore, tmp_path: Path) -> None:
    spec = spec_for(tmp_path)
    store.deploy(spec, save(store, "01"))
    keyfile = Path(spec.keyfile)
    inode = keyfile.stat().st_ino
    written = store.deploy(spec, save(store, "02"))
    assert written == [spec.certfile]
    assert keyfile.stat().st_ino == inode
    assert Path(spec.certfile).read_bytes().startswith(leaf("02"))
    assert store.deploy(spec, save(store, "02")) == []


def test_deploy_gives_the_key_0600_whatever_mode_the_file_it_replaces_had(store: CertStore, tmp_path: Path) -> None:
    spec = spec_for(tmp_path)
    store.deploy(spec, save(store, "01"))
    keyfile = Path(spec.keyfile)
    os.chmod(keyfile, 0o640)
    store.deploy(spec, save(store, "02", key=KEY_B))
    assert keyfile.read_bytes() == KEY_B
    assert mode_of(keyfile) == 0o600  # a group reads the key only when the `group` setting says so
    os.chmod(keyfile, 0o644)
    store.deploy(spec, save(store, "03", key=KEY_A))
    assert mode_of(keyfile) == 0o600  # never readable by everyone


def test_deploy_does_not_chmod_an_existing_served_folder(store: CertStore, tmp_path: Path) -> None:
    served = tmp_path / "etc-ssl" / "shop"
    served.mkdir(parents=True)
    os.chmod(served, 0o755)
    store.deploy(spec_for(tmp_path), save(store, "01"))
    assert mode_of(served) == 0o755


def test_failed_deploy_puts_the_old_key_back(store: CertStore, tmp_path: Path, monkeypatch) -> None:
    spec = spec_for(tmp_path)
    store.deploy(spec, save(store, "01"))
    real_replace = deploy_module.replace_with

    def cert_fails(tmp: Path, path: Path) -> None:
        if path.name == "cert.pem":
            raise StorageError(f"cannot write {path}: no space left on the device")
        real_replace(tmp, path)

    monkeypatch.setattr(deploy_module, "replace_with", cert_fails)
    with pytest.raises(StorageError):
        store.deploy(spec, save(store, "02", key=KEY_B))
    assert Path(spec.keyfile).read_bytes() == KEY_A
    assert Path(spec.certfile).read_bytes().startswith(leaf("01"))
    assert not list(Path(spec.certfile).parent.glob(".*.tmp"))


def test_account_key_and_url_round_trip(store: CertStore, umask0: None) -> None:
    assert store.load_account("zerossl") == (None, "")
    store.save_account("zerossl", KEY_A.decode(), "https://acme.example/acct/1", directory="https://a/dir")
    assert store.load_account("zerossl") == (KEY_A, "https://acme.example/acct/1")
    assert store.load_account("zerossl", directory="https://a/dir")[1] == "https://acme.example/acct/1"
    assert store.load_account("zerossl", directory="https://b/dir") == (KEY_A, "")
    folder = store.data_dir / "accounts" / "zerossl"
    assert mode_of(folder / "account.key") == 0o600
    assert mode_of(folder) == 0o700


def test_eab_cache_is_private(store: CertStore, umask0: None) -> None:
    assert store.load_eab_cache("zerossl") == ("", "")
    store.save_eab_cache("zerossl", "kid-9", "hmac-9")
    assert store.load_eab_cache("zerossl") == ("kid-9", "hmac-9")
    assert mode_of(store.data_dir / "accounts" / "zerossl" / "eab.json") == 0o600
