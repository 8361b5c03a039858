"""The storage interfaces behave the same on every backend: filesystem + SQLite, and PostgreSQL (a real
server started by the suite). Each test runs once per backend, unchanged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pgserver import pg_dsn, pg_server  # noqa: F401

from zerossl_tui.core.errors import Cancelled, LockBusy
from zerossl_tui.core.interfaces import DnsRecord
from zerossl_tui.core.models import CertificateSpec, EventKind, PendingDeploy, RenewalState
from zerossl_tui.storage.backend import Backend, open_filesystem
from zerossl_tui.storage.paths import resolve_paths
from zerossl_tui.storage.postgres import ensure_key_file, open_postgresql

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nMIIB1\n-----END CERTIFICATE-----\n"
CHAIN = b"-----BEGIN CERTIFICATE-----\nMIIC2\n-----END CERTIFICATE-----\n"

CHILD = """
import json, sys, time
from datetime import UTC, datetime
args = json.loads(sys.argv[1])
now = datetime.now(UTC)
if args["kind"] == "filesystem":
    from zerossl_tui.storage.backend import open_filesystem
    from zerossl_tui.storage.paths import resolve_paths
    backend = open_filesystem(resolve_paths(args["config"], args["data"]), now)
else:
    from zerossl_tui.storage.postgres import open_postgresql
    backend = open_postgresql(args["dsn"], args["host"], args["key"], now, lease=args["lease"])
if sys.argv[2] == "order":
    print(backend.journal.start_order("shop", now), flush=True)
else:
    assert backend.locker.certificate("shop").try_acquire()
    print("held", flush=True)
    time.sleep(600)
"""


@dataclass
class Site:
    """One backend's storage, opened as often as a test needs (several hosts or processes)."""

    kind: str
    args: dict[str, Any]
    opened: list[Backend] = field(default_factory=list)

    def open(self, host: str = "web-1", lease: float = 30.0) -> Backend:
        """A new Backend on the same storage."""
        if self.kind == "filesystem":
            backend = open_filesystem(resolve_paths(self.args["config"], self.args["data"]), NOW)
        else:
            backend = open_postgresql(self.args["dsn"], host, Path(self.args["key"]), NOW, lease=lease)
        self.opened.append(backend)
        return backend

    def child(self, action: str, lease: float = 1.0) -> subprocess.Popen[str]:
        """Another process on this storage doing ``action`` ('order' then exit, or 'lock' and stay)."""
        args = json.dumps({**self.args, "kind": self.kind, "host": "web-1", "lease": lease})
        return subprocess.Popen([sys.executable, "-c", CHILD, args, action], cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)


@pytest.fixture(params=["filesystem", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """Each backend in turn, on fresh storage."""
    if request.param == "filesystem":
        args = {"config": str(tmp_path / "config" / "settings.toml"), "data": str(tmp_path / "data")}
    else:
        key = tmp_path / "keys" / "storage.key"
        ensure_key_file(key)
        args = {"dsn": request.getfixturevalue("pg_dsn"), "key": str(key)}
    made = Site(request.param, args)
    yield made
    for backend in made.opened:
        backend.close()


@pytest.fixture
def backend(site: Site) -> Backend:
    """The backend under test, opened once."""
    return site.open()


def save(backend: Backend, serial: str, name: str = "shop", **kw: Any) -> Any:
    """Save a version whose PEMs carry ``serial``, so versions can be told apart."""
    meta = {"serial": serial, "domains": ["shop.example"], "not_after": NOW + timedelta(days=90)}
    tag = serial.encode()
    return backend.store.save_version(name, KEY + tag, CERT + tag, CHAIN + tag, CERT + tag + CHAIN, meta, **kw)


# -- certificate store ------------------------------------------------------------------------------


def test_every_saved_version_is_kept_oldest_first_and_the_last_is_current(backend: Backend) -> None:
    first, second = save(backend, "aa01"), save(backend, "bb02")
    assert backend.store.versions("shop") == [first.version, second.version]
    current = backend.store.current("shop")
    assert current is not None and current.version == second.version
    assert (current.key_pem, current.cert_pem, current.chain_pem) == (KEY + b"bb02", CERT + b"bb02", CHAIN + b"bb02")
    old = backend.store.load_version("shop", first.version)
    assert old is not None and old.key_pem == KEY + b"aa01" and old.fullchain_pem == CERT + b"aa01" + CHAIN
    assert backend.store.names() == ["shop"]


def test_current_meta_is_the_current_versions_metadata_as_stored(backend: Backend) -> None:
    save(backend, "aa01")
    save(backend, "bb02")
    meta = backend.store.current_meta("shop")
    assert meta == {"serial": "bb02", "domains": ["shop.example"], "not_after": (NOW + timedelta(days=90)).isoformat()}
    assert backend.store.current("shop").meta == meta  # type: ignore[union-attr]


def test_current_metas_of_many_is_current_meta_of_each(backend: Backend) -> None:
    save(backend, "aa01")
    save(backend, "bb02")
    metas = backend.store.current_metas(["shop", "none"])
    assert metas == {"shop": backend.store.current_meta("shop"), "none": None}
    assert metas["shop"] is not None and metas["shop"]["serial"] == "bb02"


def test_a_certificate_never_issued_has_nothing(backend: Backend) -> None:
    assert backend.store.current("none") is None
    assert backend.store.current_meta("none") is None
    assert backend.store.versions("none") == []
    assert backend.store.load_version("none", "0001") is None
    assert backend.store.load_version("none", "../x") is None
    assert backend.store.names() == []


def test_another_opening_of_the_storage_sees_the_same_versions(site: Site) -> None:
    stored = save(site.open("web-1"), "aa01")
    other = site.open("web-2")
    assert other.store.versions("shop") == [stored.version]
    again = other.store.current("shop")
    assert again is not None and again.key_pem == stored.key_pem and again.meta == stored.meta


def test_deploy_writes_the_served_files_with_a_private_key(backend: Backend, tmp_path: Path) -> None:
    stored = save(backend, "aa01")
    served = tmp_path / "served"
    spec = CertificateSpec("shop", ("shop.example",), "pebble", certfile=str(served / "cert.pem"),
                           keyfile=str(served / "key.pem"), chainfile=str(served / "chain.pem"))
    written = backend.store.deploy(spec, stored)
    assert set(written) == {str(served / n) for n in ("cert.pem", "key.pem", "chain.pem")}
    assert (served / "key.pem").read_bytes() == KEY + b"aa01"
    assert (served / "cert.pem").read_bytes() == stored.fullchain_pem
    assert (served / "key.pem").stat().st_mode & 0o077 == 0
    assert backend.store.deploy(spec, stored) == []  # unchanged files are not rewritten
    backend.store.remove_stale_temps(spec, stored)


def test_a_version_saved_by_an_order_is_pending_deployment_until_ended(backend: Backend) -> None:
    assert backend.store.pending_deploy("shop") is None
    stored = save(backend, "aa01", order_id=7)
    assert backend.store.pending_deploy("shop") == PendingDeploy(stored.version, 7)
    backend.store.end_deploy("shop")
    assert backend.store.pending_deploy("shop") is None
    backend.store.begin_deploy("shop", stored.version, 9)
    assert backend.store.pending_deploy("shop") == PendingDeploy(stored.version, 9)
    backend.store.end_deploy("shop")
    backend.store.end_deploy("shop")  # ending twice is harmless
    assert backend.store.pending_deploy("shop") is None


def test_account_key_and_url_round_trip_and_another_directory_gives_no_url(backend: Backend) -> None:
    assert backend.store.load_account("pebble") == (None, "")
    backend.store.save_account("pebble", KEY, "https://ca/acct/1", "https://ca/dir")
    assert backend.store.load_account("pebble") == (KEY, "https://ca/acct/1")
    assert backend.store.load_account("pebble", "https://ca/dir") == (KEY, "https://ca/acct/1")
    assert backend.store.load_account("pebble", "https://other/dir") == (KEY, "")
    backend.store.save_account("pebble", KEY + b"2", "https://ca/acct/2")
    assert backend.store.load_account("pebble", "https://any/dir") == (KEY + b"2", "https://ca/acct/2")


def test_eab_cache_round_trip(backend: Backend) -> None:
    assert backend.store.load_eab_cache("zerossl") == ("", "")
    backend.store.save_eab_cache("zerossl", "kid-1", "hmac-secret")
    assert backend.store.load_eab_cache("zerossl") == ("kid-1", "hmac-secret")
    backend.store.save_eab_cache("zerossl", "kid-2", "hmac-2")
    assert backend.store.load_eab_cache("zerossl") == ("kid-2", "hmac-2")


def test_the_key_of_an_order_in_progress_is_kept_until_cleared(backend: Backend) -> None:
    assert backend.store.pending_key("shop") is None
    backend.store.save_pending_key("shop", KEY)
    assert backend.store.pending_key("shop") == KEY and backend.store.pending_key("blog") is None
    backend.store.clear_pending_key("shop")
    backend.store.clear_pending_key("shop")  # twice is fine
    assert backend.store.pending_key("shop") is None


# -- journal ----------------------------------------------------------------------------------------


def test_an_order_url_noted_early_survives_a_failure_and_can_be_resumed(backend: Backend) -> None:
    journal = backend.journal
    first = journal.start_order("shop", NOW)
    journal.note_order_url(first, "https://ca/order/7")
    journal.finish_order(first, "failed", NOW, error_type="interrupted")
    second = journal.start_order("shop", NOW)
    assert journal.orders("shop")[1].order_url == "https://ca/order/7"
    assert journal.resumable_order("shop", second) == "https://ca/order/7"
    journal.finish_order(second, "issued", NOW, serial="aa", order_url="https://ca/order/8")
    third = journal.start_order("shop", NOW)
    assert journal.resumable_order("shop", third) == ""  # the newest earlier order issued
    assert journal.resumable_order("blog", third) == ""


def test_orders_keep_their_events_and_results_newest_first(backend: Backend) -> None:
    journal = backend.journal
    first = journal.start_order("shop", NOW)
    journal.add_event(first, EventKind.STARTED, "ordering", NOW)
    journal.add_event(first, EventKind.RETRY, "rate limited", NOW + timedelta(seconds=1), retry_after=30.5)
    journal.finish_order(first, "failed", NOW + timedelta(seconds=2), error_type="rateLimited",
                         error_detail="too many", order_url="https://ca/order/1")
    second = journal.start_order("shop", NOW + timedelta(minutes=1))
    journal.finish_order(second, "issued", NOW + timedelta(minutes=2), serial="bb02")
    other = journal.start_order("blog", NOW)
    newest, oldest = journal.orders("shop")
    assert (newest.id, newest.result, newest.serial, newest.events) == (second, "issued", "bb02", ())
    assert (oldest.result, oldest.error_type, oldest.error_detail, oldest.order_url) == (
        "failed", "rateLimited", "too many", "https://ca/order/1")
    assert oldest.started == NOW and oldest.finished == NOW + timedelta(seconds=2)
    assert [(e.kind, e.message, e.at, e.retry_after) for e in oldest.events] == [
        ("started", "ordering", NOW, None), ("retry", "rate limited", NOW + timedelta(seconds=1), 30.5)]
    assert [o.id for o in journal.orders("shop", limit=1)] == [second]
    assert journal.order_result(first, "shop") == "failed"
    assert journal.order_result(first, "blog") is None
    assert journal.order_result(other, "blog") == "running"
    last = journal.last_orders()
    assert {k: (v.id, v.result) for k, v in last.items()} == {"shop": (second, "issued"), "blog": (other, "running")}
    assert journal.last_results() == {k: (v.result, v.error_detail) for k, v in last.items()}


def test_an_order_cannot_be_finished_as_running_nor_at_a_naive_time(backend: Backend) -> None:
    order = backend.journal.start_order("shop", NOW)
    with pytest.raises(ValueError):
        backend.journal.finish_order(order, "running", NOW)
    with pytest.raises(ValueError):
        backend.journal.start_order("shop", datetime(2026, 1, 1))


def test_heal_closes_only_the_orders_of_processes_that_died(site: Site, backend: Backend) -> None:
    mine = backend.journal.start_order("shop", NOW)
    child = site.child("order")
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0
    dead = int(out.strip())
    assert backend.journal.order_result(dead, "shop") == "running"
    assert backend.journal.heal(NOW) == [dead]
    assert backend.journal.order_result(dead, "shop") == "failed"
    assert backend.journal.order_result(mine, "shop") == "running"
    healed = next(o for o in backend.journal.orders("shop") if o.id == dead)
    assert healed.error_type == "interrupted" and healed.events[-1].kind == "failed"
    assert backend.journal.heal(NOW) == []


def test_renewal_state_keeps_every_field(backend: Backend) -> None:
    assert backend.journal.get_state("shop") == RenewalState()
    values: dict[str, Any] = {}
    for number, spec in enumerate(fields(RenewalState)):
        if "datetime" in str(spec.type):
            values[spec.name] = NOW + timedelta(hours=number, microseconds=number)
        elif "int" in str(spec.type):
            values[spec.name] = number + 3
        else:
            values[spec.name] = f"{spec.name} text"
    state = RenewalState(**values)
    backend.journal.put_state("shop", state)
    assert backend.journal.get_state("shop") == state
    backend.journal.put_state("blog", RenewalState(failures=1))
    assert backend.journal.all_states() == {"shop": state, "blog": RenewalState(failures=1)}
    backend.journal.put_state("shop", RenewalState())
    assert backend.journal.get_state("shop") == RenewalState()


def every_field_state(offset: int = 0) -> RenewalState:
    """A renewal state with every field set (to tell states apart, ``offset`` shifts every value)."""
    values: dict[str, Any] = {}
    for number, spec in enumerate(fields(RenewalState), start=offset):
        if "datetime" in str(spec.type):
            values[spec.name] = NOW + timedelta(hours=number, microseconds=number)
        elif "int" in str(spec.type):
            values[spec.name] = number + 3
        else:
            values[spec.name] = f"{spec.name} text {number}"
    return RenewalState(**values)


def test_many_renewal_states_are_stored_at_once_and_seen_by_another_host(site: Site) -> None:
    backend, other = site.open(), site.open(host="web-2")
    backend.journal.put_state("c0", RenewalState(failures=9))
    backend.journal.put_state("kept", RenewalState(failures=2))
    batch = {f"c{k}": every_field_state(k) for k in range(1000)}
    backend.journal.put_states(batch)
    backend.journal.put_states({})  # nothing to write: no error, nothing changes
    seen = other.journal.all_states()
    assert seen == {**batch, "kept": RenewalState(failures=2)}  # c0 replaced, the one not named kept
    assert other.journal.get_state("c999") == every_field_state(999)


# -- challenges -------------------------------------------------------------------------------------


def test_dns_records_are_listed_until_removed(backend: Backend) -> None:
    one = DnsRecord("shop", "bind", "_acme-challenge.shop.example.", "v1", 3)
    two = DnsRecord("shop", "bind", "_acme-challenge.shop.example.", "v2", 3)
    three = DnsRecord("blog", "pdns", "_acme-challenge.blog.example.", "v3")
    for record in (one, two, three):
        backend.challenges.add_dns_record(record)
    assert backend.challenges.dns_records() == [one, two, three]
    assert backend.challenges.dns_records("shop") == [one, two]
    backend.challenges.remove_dns_record(one)
    assert backend.challenges.dns_records("shop") == [two]
    assert backend.challenges.dns_records("none") == []


def test_http01_tokens_are_answered_until_removed(backend: Backend) -> None:
    assert backend.challenges.token("tok") is None
    backend.challenges.present_token("tok", "tok.thumb")
    backend.challenges.present_token("tok2", "tok2.thumb")
    assert backend.challenges.token("tok") == "tok.thumb"
    backend.challenges.remove_token("tok")
    assert backend.challenges.token("tok") is None
    assert backend.challenges.token("tok2") == "tok2.thumb"
    backend.challenges.remove_token("tok")  # removing twice is harmless


# -- locks ------------------------------------------------------------------------------------------


def test_a_lock_is_exclusive_between_two_holders(site: Site, backend: Backend) -> None:
    mine, theirs = backend.locker.certificate("shop"), site.open("web-2").locker.certificate("shop")
    assert mine.try_acquire() and mine.held
    assert not theirs.try_acquire() and not theirs.held
    blog = backend.locker.certificate("blog")
    assert blog.try_acquire()  # another certificate is independent
    with pytest.raises(LockBusy, match="shop"):
        theirs.acquire_or_raise(timeout=0.3)
    mine.release()
    assert not mine.held
    assert theirs.acquire(timeout=10) and theirs.held
    theirs.release()
    blog.release()
    mine.release()  # releasing what is not held does nothing


def test_waiting_for_a_lock_stops_when_cancelled(backend: Backend) -> None:
    holder, waiter = backend.locker.certificate("shop"), backend.locker.certificate("shop")
    assert holder.try_acquire()
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(Cancelled):
        waiter.acquire_or_raise(timeout=60, cancel=cancel)
    assert not waiter.held
    holder.release()


def test_account_locks_are_exclusive_and_apart_from_certificate_locks(backend: Backend) -> None:
    first, second = backend.locker.account("pebble"), backend.locker.account("pebble")
    assert first.try_acquire() and not second.try_acquire()
    assert backend.locker.certificate("pebble").try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_holders_name_each_held_certificate_lock_and_its_process(backend: Backend) -> None:
    assert backend.locker.holders() == []
    lock = backend.locker.certificate("shop")
    assert lock.try_acquire()
    (holder,) = backend.locker.holders()
    assert holder.name == "shop" and str(os.getpid()) in holder.owner
    lock.release()
    assert backend.locker.holders() == []


def test_the_lock_of_a_dead_holder_can_be_taken(site: Site, backend: Backend) -> None:
    child = site.child("lock", lease=1.0)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        lock = backend.locker.certificate("shop")
        assert not lock.try_acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert lock.acquire(timeout=30)  # filesystem: at once; PostgreSQL: once the 1 s lease has ended
    lock.release()

