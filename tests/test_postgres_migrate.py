"""Copying a whole store filesystem -> PostgreSQL -> filesystem keeps every version, key, account, order,
event, renewal state and dns-01 record; run twice, the copy changes nothing; a loss is caught."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pgserver import PgServer, pg_dsn, pg_server  # noqa: F401

from zerossl_tui.core.errors import StorageError
from zerossl_tui.core.interfaces import DnsRecord
from zerossl_tui.core.models import EventKind, RenewalState
from zerossl_tui.storage.backend import Backend, open_filesystem
from zerossl_tui.storage.journal import MAX_LIMIT
from zerossl_tui.storage.migrate import CopyReport, copy_backend, verify_copy, version_hash
from zerossl_tui.storage.paths import resolve_paths
from zerossl_tui.storage.postgres import ensure_key_file, open_postgresql

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NAMES = ["shop", "blog"]
PROVIDERS = ["pebble", "zerossl"]


def pem_key() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def filesystem(tmp_path: Path, folder: str) -> Backend:
    return open_filesystem(resolve_paths(str(tmp_path / folder / "settings.toml"), str(tmp_path / folder)), NOW)


def fill(backend: Backend) -> None:
    """Versions, orders with events, states, an account, an EAB cache, a dns record, a pending deploy."""
    for number, name in enumerate(["shop", "shop", "shop", "blog"]):
        cert = f"-----BEGIN CERTIFICATE-----\nMII{number}\n-----END CERTIFICATE-----\n".encode()
        meta = {"serial": f"{number:02x}ab", "domains": [f"{name}.example"], "not_after": NOW + timedelta(days=number)}
        backend.store.save_version(name, pem_key(), cert, b"chain", cert + b"chain", meta,
                                   order_id=3 if name == "blog" else None)
    for minutes, result in ((0, "failed"), (5, "issued")):
        order = backend.journal.start_order("shop", NOW + timedelta(minutes=minutes))
        backend.journal.add_event(order, EventKind.STARTED, "ordering", NOW, retry_after=1.5)
        backend.journal.finish_order(order, result, NOW + timedelta(minutes=minutes + 1), serial="01ab",
                                     error_type="rateLimited" if result == "failed" else "")
    backend.journal.start_order("blog", NOW + timedelta(minutes=9))  # still running (this process)
    backend.journal.put_state("shop", RenewalState(failures=2, next_attempt=NOW, ari_explanation="why"))
    backend.challenges.add_dns_record(DnsRecord("blog", "bind", "_acme-challenge.blog.example.", "v", 3))
    backend.store.save_account("pebble", pem_key(), "https://ca/acct/1")
    backend.store.save_eab_cache("zerossl", "kid-1", "hmac-1")


def summary(backend: Backend) -> dict[str, object]:
    """Everything a copy must keep, in a form that compares across backends."""
    out: dict[str, object] = {}
    for name in NAMES:
        loaded = [backend.store.load_version(name, v) for v in backend.store.versions(name)]
        out[f"{name} versions"] = [version_hash(s) for s in loaded if s is not None]
        out[f"{name} current"] = version_hash(backend.store.current(name))  # type: ignore[arg-type]
        out[f"{name} orders"] = [(o.cert, o.started, o.finished, o.result, o.error_type, o.serial,
                                  [(e.kind, e.message, e.at, e.retry_after) for e in o.events])
                                 for o in backend.journal.orders(name, MAX_LIMIT)]
        out[f"{name} pending"] = backend.store.pending_deploy(name) is not None
    out["states"] = backend.journal.all_states()
    out["dns"] = backend.challenges.dns_records()
    out["accounts"] = [(backend.store.load_account(p), backend.store.load_eab_cache(p)) for p in PROVIDERS]
    return out


@pytest.fixture
def postgresql(pg_dsn: str, tmp_path: Path):  # noqa: F811
    key = tmp_path / "storage.key"
    ensure_key_file(key)
    backend = open_postgresql(pg_dsn, "web-1", key, NOW)
    yield backend
    backend.close()


def test_filesystem_to_postgresql_and_back_keeps_everything_and_a_second_run_changes_nothing(
        tmp_path: Path, postgresql: Backend) -> None:
    source = filesystem(tmp_path, "first")
    fill(source)
    there = copy_backend(source, postgresql, NAMES, PROVIDERS)
    assert there.copied["versions"] == 4 and there.copied["orders"] == 3 and there.copied["events"] == 2
    assert there.copied["accounts"] == 1 and there.copied["eab caches"] == 1 and there.copied["states"] == 1
    assert summary(postgresql) == summary(source)
    assert not copy_backend(source, postgresql, NAMES, PROVIDERS).changed

    back = filesystem(tmp_path, "second")
    report = copy_backend(postgresql, back, NAMES, PROVIDERS)
    assert report.checked["versions"] == 4 and report.hashes == there.hashes
    assert summary(back) == summary(source)
    assert not copy_backend(postgresql, back, NAMES, PROVIDERS).changed
    for backend in (source, back):
        backend.close()


def test_a_version_lost_after_the_copy_is_caught_in_one_line(
        tmp_path: Path, postgresql: Backend, pg_server: PgServer, pg_dsn: str) -> None:  # noqa: F811
    source = filesystem(tmp_path, "first")
    fill(source)
    copy_backend(source, postgresql, NAMES, PROVIDERS)
    pg_server.psql("DELETE FROM versions WHERE seq = 1 AND cert = 'shop'", pg_dsn.rsplit("/", 1)[1])
    with pytest.raises(StorageError) as caught:
        verify_copy(source, postgresql, NAMES, PROVIDERS, CopyReport())
    assert "shop: 1 versions are missing" in str(caught.value) and "\n" not in str(caught.value)
    again = copy_backend(source, postgresql, NAMES, PROVIDERS)  # the lost one is copied again, current stays
    assert again.copied["versions"] == 2 and not copy_backend(source, postgresql, NAMES, PROVIDERS).changed
    source.close()

