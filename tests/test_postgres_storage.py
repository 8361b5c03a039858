"""What only the PostgreSQL backend promises: keys unreadable in a dump, the fleet key checked in one line,
state shared between hosts (tokens, hosts, leases), per-host deployments, and a versioned schema."""

from __future__ import annotations

import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pgserver import PgServer, pg_dsn, pg_server  # noqa: F401

from zerossl_tui.core.errors import ConfigError, StorageError
from zerossl_tui.storage.backend import Backend
from zerossl_tui.storage.postgres import (
    SCHEMA_VERSION,
    ensure_key_file,
    fleet_hosts,
    open_postgresql,
    schema_version,
    storage_status,
)
from zerossl_tui.storage.postgres.db import Database

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """A fresh fleet key file."""
    path = tmp_path / "keys" / "storage.key"
    assert ensure_key_file(path)
    return path


@pytest.fixture
def hosts(pg_dsn: str, key_file: Path):  # noqa: F811
    """Open hosts by id on one database; all closed afterwards."""
    opened: list[Backend] = []

    def open_host(host_id: str, lease: float = 30.0) -> Backend:
        backend = open_postgresql(pg_dsn, host_id, key_file, NOW, lease=lease)
        opened.append(backend)
        return backend

    yield open_host
    for backend in opened:
        backend.close()


def private_key_pem() -> tuple[bytes, bytes]:
    """A real EC private key: (PEM, DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem, der


def save(backend: Backend, key_pem: bytes, serial: str = "aa01", **kw: object):
    """Store a version with ``key_pem``."""
    cert = b"-----BEGIN CERTIFICATE-----\nMIIB" + serial.encode() + b"\n-----END CERTIFICATE-----\n"
    return backend.store.save_version("shop", key_pem, cert, b"", cert, {"serial": serial}, **kw)  # type: ignore[arg-type]


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert text and "\n" not in text and "Traceback" not in text
    return text


# -- keys at rest -----------------------------------------------------------------------------------


def test_a_dump_of_the_database_holds_no_readable_private_key(
        hosts, pg_server: PgServer, pg_dsn: str) -> None:  # noqa: F811
    backend = hosts("web-1")
    cert_key, cert_der = private_key_pem()
    account_key, account_der = private_key_pem()
    save(backend, cert_key)
    backend.store.save_account("pebble", account_key, "https://ca/acct/1")
    backend.store.save_eab_cache("zerossl", "kid-1", "hmac-very-secret-value")
    dump = pg_server.pg_dump(pg_dsn.rsplit("/", 1)[1])
    # the dump holds the rest: bytea columns appear in hex, so secrets are looked for in hex too
    assert b"CREATE TABLE public.versions" in dump and b"MIIBaa01".hex().encode() in dump
    assert b"PRIVATE KEY" not in dump and b"PRIVATE KEY".hex().encode() not in dump
    for secret in (cert_key, cert_der, account_key, account_der, b"hmac-very-secret-value"):
        body = b"".join(secret.splitlines()[1:-1]) if secret.startswith(b"-----") else secret
        assert body[:40] not in dump and body[:40].hex().encode() not in dump
        assert secret.hex().encode()[:80] not in dump
    assert backend.store.current("shop").key_pem == cert_key  # type: ignore[union-attr]
    assert backend.store.load_account("pebble") == (account_key, "https://ca/acct/1")


def test_the_key_file_is_created_private_once_and_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "storage.key"
    assert ensure_key_file(path)
    first = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not ensure_key_file(path)
    assert path.read_bytes() == first


def test_another_key_file_is_refused_in_one_line_before_anything_is_read(
        hosts, pg_dsn: str, tmp_path: Path) -> None:  # noqa: F811
    save(hosts("web-1"), private_key_pem()[0])
    other = tmp_path / "other.key"
    ensure_key_file(other)
    with pytest.raises(ConfigError) as caught:
        open_postgresql(pg_dsn, "web-2", other, NOW)
    assert str(other) in one_line(caught) and "does not match" in str(caught.value)


@pytest.mark.parametrize("content, mode, says", [
    (None, 0o600, "does not exist"),
    (b"not a key\n", 0o600, "does not hold a key"),
    (b"c2hvcnQ=\n", 0o600, "does not hold a key"),
    (b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 0o644, "chmod 600"),
])
def test_a_missing_damaged_or_open_key_file_is_one_clear_line(
        pg_dsn: str, tmp_path: Path, content: bytes | None, mode: int, says: str) -> None:  # noqa: F811
    path = tmp_path / "storage.key"
    if content is not None:
        path.write_bytes(content)
        path.chmod(mode)
    with pytest.raises(ConfigError) as caught:
        open_postgresql(pg_dsn, "web-1", path, NOW)
    assert says in one_line(caught) and str(path) in str(caught.value)


def test_a_sealed_key_that_does_not_decrypt_is_one_line_not_a_new_certificate(
        hosts, pg_server: PgServer, pg_dsn: str, tmp_path: Path) -> None:  # noqa: F811
    save(hosts("web-1"), private_key_pem()[0])
    pg_server.psql("DELETE FROM key_check", pg_dsn.rsplit("/", 1)[1])  # as if the check row were lost
    other = tmp_path / "other.key"
    ensure_key_file(other)
    stranger = open_postgresql(pg_dsn, "web-2", other, NOW)
    try:
        assert stranger.store.versions("shop") != []  # the certificate is there: no reason to order again
        with pytest.raises(StorageError) as caught:
            stranger.store.current("shop")
        assert "cannot decrypt" in one_line(caught) and str(other) in str(caught.value)
    finally:
        stranger.close()


# -- shared between hosts ---------------------------------------------------------------------------


def test_a_token_presented_by_one_host_is_answered_by_every_host(hosts) -> None:
    one, two = hosts("web-1"), hosts("web-2")
    one.challenges.present_token("tok", "tok.thumb")
    assert two.challenges.token("tok") == "tok.thumb"
    two.challenges.remove_token("tok")
    assert one.challenges.token("tok") is None


def test_deployments_are_recorded_per_host(hosts) -> None:
    one, two = hosts("web-1"), hosts("web-2")
    stored = save(one, private_key_pem()[0], order_id=5)
    two.store.begin_deploy("shop", stored.version, 5)
    one.store.end_deploy("shop")
    assert one.store.pending_deploy("shop") is None
    assert two.store.pending_deploy("shop") is not None


def test_hosts_report_their_heartbeat_and_what_they_serve(hosts, tmp_path: Path) -> None:
    from zerossl_tui.core.models import CertificateSpec

    one, two = hosts("web-1"), hosts("web-2")
    stored = save(one, private_key_pem()[0], serial="cafe01")
    spec = CertificateSpec("shop", ("shop.example",), "pebble", certfile=str(tmp_path / "c.pem"),
                           keyfile=str(tmp_path / "k.pem"))
    two.store.deploy(spec, stored)
    table = fleet_hosts(one)
    assert table is not None
    listed = {h.host_id: h for h in table.hosts()}
    assert set(listed) == {"web-1", "web-2"}
    assert listed["web-2"].served == {"shop": "cafe01"} and listed["web-1"].served == {}
    assert all(h.last_heartbeat is not None for h in listed.values())


def test_a_held_lock_outlives_its_lease_while_its_holder_lives(hosts) -> None:
    holder = hosts("web-1", lease=1.0).locker.certificate("shop")
    rival = hosts("web-2", lease=1.0).locker.certificate("shop")
    assert holder.try_acquire()
    threading.Event().wait(3.5)  # several leases: only the renewal thread keeps it
    assert holder.held and not rival.try_acquire()
    (info,) = hosts("web-3").locker.holders()
    assert info.owner.startswith("web-1:") and info.expires is not None
    holder.release()
    assert rival.try_acquire()
    rival.release()


def test_closing_a_backend_gives_back_its_locks_at_once(hosts) -> None:
    leaving = hosts("web-1")
    assert leaving.locker.certificate("shop").try_acquire()
    rival = hosts("web-2").locker.certificate("shop")
    assert not rival.try_acquire()
    leaving.close()
    assert rival.try_acquire()  # no wait for the 30 s lease
    rival.release()


def test_orders_of_a_silent_host_without_a_lease_are_healed_and_live_ones_are_not(
        hosts, pg_server: PgServer, pg_dsn: str) -> None:  # noqa: F811
    gone, busy, me = hosts("web-2"), hosts("web-3"), hosts("web-1")
    lost = gone.journal.start_order("shop", NOW)
    running = busy.journal.start_order("blog", NOW)
    assert busy.locker.certificate("blog").try_acquire()
    pg_server.psql("UPDATE hosts SET last_heartbeat = now() - interval '1 hour'", pg_dsn.rsplit("/", 1)[1])
    assert me.journal.heal(NOW) == [lost]
    assert me.journal.order_result(running, "blog") == "running"


def test_hosts_racing_for_one_lock_never_hold_it_together(hosts) -> None:
    locks = [hosts(f"web-{n}").locker.certificate("shop") for n in range(3)]
    inside: list[int] = []
    overlaps: list[int] = []
    wins = [0, 0, 0]

    def contend(number: int) -> None:
        for _ in range(15):
            if locks[number].acquire(timeout=30):
                inside.append(number)
                threading.Event().wait(0.01)  # hold it a moment, so that an overlap would show
                if len(inside) > 1:
                    overlaps.append(number)
                wins[number] += 1
                inside.remove(number)
                locks[number].release()

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [] and wins == [15, 15, 15]


def test_two_hosts_saving_at_once_get_distinct_versions(hosts) -> None:
    one, two = hosts("web-1"), hosts("web-2")
    key = private_key_pem()[0]
    made: list[str] = []
    threads = [threading.Thread(target=lambda b=b, s=s: made.append(save(b, key, s).version))
               for b, s in ((one, "a1"), (two, "b2"), (one, "c3"), (two, "d4"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(made) == sorted(one.store.versions("shop")) and len(set(made)) == 4


# -- schema -----------------------------------------------------------------------------------------


def test_the_schema_is_created_once_and_a_newer_one_is_refused(hosts, pg_dsn: str, key_file: Path) -> None:  # noqa: F811
    db = Database(pg_dsn)
    try:
        assert schema_version(db) == 0
        hosts("web-1")
        hosts("web-2")
        assert schema_version(db) == SCHEMA_VERSION
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    finally:
        db.close()
    with pytest.raises(StorageError) as caught:
        open_postgresql(pg_dsn, "web-1", key_file, NOW)
    assert "newer zerossl-tui" in one_line(caught)


def test_a_database_of_schema_1_keeps_its_orders_and_takes_imports(hosts, pg_dsn: str) -> None:  # noqa: F811
    from zerossl_tui.storage.postgres.schema import MIGRATIONS

    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(MIGRATIONS[0].encode())
        conn.execute("CREATE TABLE schema_version (version integer NOT NULL); INSERT INTO schema_version VALUES (1)")
        conn.execute("INSERT INTO orders (cert, started, result) VALUES ('shop', now(), 'issued')")
    journal = hosts("web-1").journal
    journal.finish_order(journal.start_order("shop", NOW), "imported", NOW)
    assert [o.result for o in journal.orders("shop")] == ["imported", "issued"]


def test_threads_that_come_and_go_leave_no_connections_behind(hosts, pg_server: PgServer, pg_dsn: str) -> None:  # noqa: F811
    from zerossl_tui.storage.postgres.db import MAX_IDLE

    backend = hosts("web-1")
    for _ in range(3):
        workers = [threading.Thread(target=backend.challenges.token, args=("tok",)) for _ in range(12)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    database = pg_dsn.rsplit("/", 1)[1]
    count = pg_server.psql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'"
                           " AND application_name = 'zerossl-tui'", database)
    assert int(count) <= MAX_IDLE


def test_status_lists_backend_schema_hosts_served_serials_and_locks(hosts, tmp_path: Path) -> None:
    from zerossl_tui.core.models import CertificateSpec
    from zerossl_tui.storage.backend import open_filesystem
    from zerossl_tui.storage.paths import resolve_paths

    one, two = hosts("web-1"), hosts("web-2")
    stored = save(one, private_key_pem()[0], serial="cafe01")
    one.store.deploy(CertificateSpec("shop", ("shop.example",), "pebble", certfile=str(tmp_path / "c.pem"),
                                     keyfile=str(tmp_path / "k.pem")), stored)
    lock = two.locker.certificate("shop")
    assert lock.try_acquire()
    status = storage_status(one).as_json()
    lock.release()
    assert status["backend"] == "postgresql" and status["schema_version"] == SCHEMA_VERSION
    assert [(h["host_id"], h["served"]) for h in status["hosts"]] == [("web-1", {"shop": "cafe01"}), ("web-2", {})]
    assert [(lk["name"], lk["owner"].split(":")[0]) for lk in status["locks"]] == [("shop", "web-2")]
    local = open_filesystem(resolve_paths(str(tmp_path / "s.toml"), str(tmp_path / "data")), NOW)
    try:
        assert storage_status(local).as_json()["backend"] == "filesystem"
        assert storage_status(local).hosts == ()
    finally:
        local.close()


def test_many_certificates_are_locked_all_at_once_or_not_at_all_with_one_lease_thread(hosts) -> None:
    names = [f"site{i:03d}" for i in range(200)]
    before = threading.active_count()
    group = hosts("web-1", lease=1.0).locker.certificates(names)  # what `storage use` holds while copying
    rival = hosts("web-2")
    assert group.try_acquire()
    assert threading.active_count() <= before + 1  # one renewal thread, not one per certificate
    threading.Event().wait(2.5)  # past its lease: renewed for every row at once
    assert not any(rival.locker.certificate(n).try_acquire() for n in ("site000", "site123", "site199"))
    group.release()
    busy = rival.locker.certificate("site150")
    assert busy.try_acquire()
    again = hosts("web-3").locker.certificates(names)
    assert not again.try_acquire() and again.busy == "site150"  # named in storage use's refusal
    free = rival.locker.certificate("site000")
    assert free.try_acquire()  # the failed group left nothing behind
    free.release()
    busy.release()


def test_the_next_lock_holder_closes_a_dead_holders_order_of_that_certificate_only(hosts) -> None:
    dead, me = hosts("web-2"), hosts("web-1")
    cut = dead.journal.start_order("shop", NOW)
    other = dead.journal.start_order("blog", NOW)
    assert me.journal.heal_orphans("shop", NOW) == [cut]  # type: ignore[attr-defined]
    (order, *_) = me.journal.orders("shop")
    assert (order.result, order.error_type) == ("failed", "interrupted")
    assert [e.kind for e in order.events] == ["failed"]  # the event says why, in the same statement
    assert me.journal.order_result(other, "blog") == "running"
    assert me.journal.heal_orphans("shop", NOW) == []  # type: ignore[attr-defined]
