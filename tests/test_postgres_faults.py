"""PostgreSQL stopped and started again under a running backend: every call fails in one line while it is
down, the backend reconnects by itself afterwards, and nothing written before is lost or half-written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pgserver import PgServer, pg_dsn, pg_server  # noqa: F401

from zerossl_tui.core.errors import StorageError
from zerossl_tui.core.models import RenewalState
from zerossl_tui.storage.postgres import ensure_key_file, open_postgresql

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def fails_in_one_line(call: Callable[[], Any]) -> str:
    """The one-line StorageError that ``call`` raises."""
    with pytest.raises(StorageError) as caught:
        call()
    text = str(caught.value)
    assert "\n" not in text and "unreachable" in text and "reconnects by itself" in text
    return text


def test_calls_fail_in_one_line_while_postgresql_is_down_and_work_again_after(
        pg_server: PgServer, pg_dsn: str, tmp_path: Path) -> None:  # noqa: F811
    key_file = tmp_path / "storage.key"
    ensure_key_file(key_file)
    backend = open_postgresql(pg_dsn, "web-1", key_file, NOW, lease=2.0)
    try:
        first = backend.store.save_version("shop", KEY, CERT, b"", CERT, {"serial": "aa01"})
        order = backend.journal.start_order("shop", NOW)
        backend.journal.put_state("shop", RenewalState(failures=2, last_error="x"))
        lock = backend.locker.certificate("shop")
        assert lock.try_acquire()
        pg_server.stop()
        try:
            for call in (lambda: backend.store.current("shop"),
                         lambda: backend.store.save_version("shop", KEY, CERT, b"", CERT, {"serial": "bb02"}),
                         lambda: backend.journal.finish_order(order, "issued", NOW),
                         lambda: backend.locker.certificate("blog").try_acquire(),
                         lambda: backend.challenges.token("tok"),
                         lambda: open_postgresql(pg_dsn, "web-2", key_file, NOW)):
                fails_in_one_line(call)
            lock.release()  # while down: the lease simply runs out
        finally:
            pg_server.start()
        assert backend.store.versions("shop") == [first.version]  # the save that failed left nothing
        again = backend.store.current("shop")
        assert again is not None and again.key_pem == KEY
        assert backend.journal.order_result(order, "shop") == "running"
        assert backend.journal.get_state("shop") == RenewalState(failures=2, last_error="x")
        second = backend.store.save_version("shop", KEY, CERT, b"", CERT, {"serial": "bb02"})
        assert backend.store.versions("shop") == [first.version, second.version]
        backend.journal.finish_order(order, "issued", NOW + timedelta(seconds=1))
        assert backend.journal.order_result(order, "shop") == "issued"
        assert backend.locker.certificate("shop").acquire(timeout=30)  # the unreleased lease has ended
    finally:
        backend.close()


def test_opening_with_postgresql_unreachable_is_one_line(tmp_path: Path) -> None:
    from pgserver import free_port

    key_file = tmp_path / "storage.key"
    ensure_key_file(key_file)
    dsn = f"postgresql://zt:s3cret-password@127.0.0.1:{free_port()}/fleet"
    text = fails_in_one_line(lambda: open_postgresql(dsn, "web-1", key_file, NOW))
    assert "127.0.0.1" in text and "s3cret-password" not in text


def test_a_database_that_does_not_exist_is_one_line_about_the_dsn(pg_server: PgServer, tmp_path: Path) -> None:  # noqa: F811
    key_file = tmp_path / "storage.key"
    ensure_key_file(key_file)
    with pytest.raises(StorageError) as caught:
        open_postgresql(pg_server.dsn("no_such_db"), "web-1", key_file, NOW)
    text = str(caught.value)
    assert "\n" not in text and "refused the login" in text and "no_such_db" in text


def test_a_restart_between_two_calls_goes_unnoticed(pg_server: PgServer, pg_dsn: str, tmp_path: Path) -> None:  # noqa: F811
    key_file = tmp_path / "storage.key"
    ensure_key_file(key_file)
    backend = open_postgresql(pg_dsn, "web-1", key_file, NOW)
    try:
        backend.challenges.present_token("tok", "tok.thumb")
        pg_server.stop()
        pg_server.start()
        assert backend.challenges.token("tok") == "tok.thumb"  # the closed idle session is not reused
    finally:
        backend.close()
