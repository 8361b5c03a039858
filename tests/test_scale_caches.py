"""The two caches that make `list` fast at 10,000 certificates must never show stale facts: the index of
current metadata (meta_index.py)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from zerossl_tui.storage.meta_index import INDEX_FILE
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
