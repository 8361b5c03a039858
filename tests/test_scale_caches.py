"""The two caches that make `list` fast at 10,000 certificates must never show stale facts: the index of
current metadata (meta_index.py) and the parsed-settings cache (settings_cache.py)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from zerossl_tui.service.service import CertificateService
from zerossl_tui.storage.meta_index import INDEX_FILE
from zerossl_tui.storage.paths import resolve_paths
from zerossl_tui.storage.settings_cache import cache_path, load_settings_cached
from zerossl_tui.storage.store import CertStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PEM = b"-----BEGIN X-----\n-----END X-----\n"


def save(store: CertStore, serial: str, name: str = "shop") -> str:
    meta = {"serial": serial, "not_after": (NOW + timedelta(days=90)).isoformat(), "domains": ["shop.example"]}
    return store.save_version(name, PEM, PEM, PEM, PEM, meta).version


def test_the_index_answers_for_what_save_version_wrote(tmp_path: Path) -> None:
    store = CertStore(tmp_path)
    save(store, "aa01")
    save(store, "bb02")
    assert (tmp_path / INDEX_FILE).exists()
    assert store.current_metas(["shop", "none"])["shop"]["serial"] == "bb02"  # type: ignore[index]
    assert CertStore(tmp_path).current_metas(["shop"])["shop"]["serial"] == "bb02"  # type: ignore[index]


def test_a_pointer_changed_behind_the_index_is_read_from_the_files(tmp_path: Path) -> None:
    """Another program (an older zerossl-tui, a restore) points `current` back at version 1."""
    store = CertStore(tmp_path)
    first = save(store, "aa01")
    save(store, "bb02")
    assert store.current_metas(["shop"])["shop"]["serial"] == "bb02"  # type: ignore[index]
    pointer = tmp_path / "certificates" / "shop" / "current"
    tmp = pointer.with_name("current.new")
    tmp.write_text(f"{first}\n")
    os.replace(tmp, pointer)
    assert CertStore(tmp_path).current_metas(["shop"])["shop"]["serial"] == "aa01"  # type: ignore[index]


def test_a_damaged_or_deleted_index_changes_nothing(tmp_path: Path) -> None:
    store = CertStore(tmp_path)
    save(store, "aa01")
    (tmp_path / INDEX_FILE).write_bytes(b"not a database")
    assert CertStore(tmp_path).current_metas(["shop"])["shop"]["serial"] == "aa01"  # type: ignore[index]
    (tmp_path / INDEX_FILE).unlink()
    assert CertStore(tmp_path).current_metas(["shop"])["shop"]["serial"] == "aa01"  # type: ignore[index]


def test_the_settings_cache_sees_every_change_to_the_settings_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ZEROSSL_TUI_DATA_DIR", str(tmp_path / "data"))
    service = CertificateService(str(tmp_path / "settings.toml"))
    service.set_provider("local", directory="https://127.0.0.1:14000/dir", email="a@example.test")
    service.add_certificate("shop", ["shop.example.com"], "local")
    paths = resolve_paths(str(tmp_path / "settings.toml"))
    assert sorted(load_settings_cached(paths).certificates) == ["shop"]
    assert cache_path(paths).exists() and cache_path(paths).stat().st_mode & 0o777 == 0o600
    service.add_certificate("blog", ["blog.example.com"], "local")  # the same size class, a new file
    assert sorted(load_settings_cached(paths).certificates) == ["blog", "shop"]
    text = paths.config_file.read_text().replace("shop.example.com", "shop.example.org")
    paths.config_file.write_text(text)  # edited in place by hand: same inode
    assert load_settings_cached(paths).certificates["shop"].domains == ("shop.example.org",)


def test_a_cache_writable_by_others_is_never_loaded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ZEROSSL_TUI_DATA_DIR", str(tmp_path / "data"))
    service = CertificateService(str(tmp_path / "settings.toml"))
    service.set_provider("local", directory="https://127.0.0.1:14000/dir", email="a@example.test")
    service.add_certificate("shop", ["shop.example.com"], "local")
    paths = resolve_paths(str(tmp_path / "settings.toml"))
    load_settings_cached(paths)
    cache = cache_path(paths)
    cache.chmod(0o666)
    before = cache.stat().st_mtime_ns
    assert sorted(load_settings_cached(paths).certificates) == ["shop"]
    assert cache.stat().st_mtime_ns != before  # parsed again and rewritten, 0600
    assert cache.stat().st_mode & 0o777 == 0o600
