"""A fleet of three daemons (three settings files and data folders, one PostgreSQL) behind a round-robin TCP
balancer on Pebble's http-01 port, with certificates that live one minute: no host ever serves an expired or
mismatched pair, every renewal is ordered once, validations reaching hosts that did not order succeed, a
PostgreSQL outage corrupts nothing and every host recovers, a SIGKILLed lock holder is replaced within the
lease without a second issuance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from balancer import Balancer
from conftest import Home
from helpers import started_pebble
from pgserver import PgServer, free_port, pg_dsn, pg_server  # noqa: F401

from zerossl_tui.core.models import OrderRecord
from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.engine.keys import key_matches_cert, parse_cert
from zerossl_tui.storage.backend import Backend
from zerossl_tui.storage.journal import MAX_LIMIT
from zerossl_tui.storage.postgres import ensure_key_file, fleet_hosts, open_postgresql

pytestmark = [pytest.mark.pebble, pytest.mark.slow]
NAMES = ("shop", "blog")
LIFETIME = 60
OUTAGE = 30  # seconds PostgreSQL is stopped: certificates renewed just before are due as it comes back


@dataclass
class Host:
    """One member of the fleet: its home, responder port, daemon process and log."""

    host_id: str
    home: Home
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)

    def files(self, name: str) -> tuple[Path, Path]:
        return self.home.root / "srv" / name / "fullchain.pem", self.home.root / "srv" / name / "privkey.pem"

    @property
    def hook_log(self) -> Path:
        return self.home.root / "hooks.log"

    def start(self) -> None:
        self.log = self.home.root / "daemon.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon"], env=self.home.env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.log.open("ab"))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def settings_text(host: Host, pebble: PebbleServer, dsn: str, key_file: Path) -> str:
    lines = [
        "[storage]", 'backend = "postgresql"', f'dsn = "{dsn}"', f'host_id = "{host.host_id}"',
        f'key_file = "{key_file}"', "", "[providers.local]", f'directory = "{pebble.directory}"',
        f'ca_bundle = "{pebble.ca_bundle}"', 'email = "ops@example.com"', "",
    ]
    for name in NAMES:
        cert, key = host.files(name)
        hook = f"sh -c 'echo {host.host_id} $ZT_NAME $ZT_SERIAL >> {host.hook_log}'"
        lines += [f"[certificates.{name}]", f'domains = ["{name}.fleet.test"]', 'provider = "local"',
                  f"http_port = {host.port}", 'http_bind = "127.0.0.1"', f'certfile = "{cert}"',
                  f'keyfile = "{key}"', f'deploy_hook = "{hook}"', ""]
    return "\n".join(lines)


def make_fleet(root: Path, pebble: PebbleServer, dsn: str, count: int = 3) -> list[Host]:
    key_file = root / "fleet.key"
    ensure_key_file(key_file)  # `storage use` makes it on the first host; the others get a copy
    hosts = []
    for number in range(1, count + 1):
        folder = root / f"web-{number}"
        home = Home(folder, folder / "config" / "settings.toml", folder / "data")
        host = Host(f"web-{number}", home, free_port())
        home.config.parent.mkdir(parents=True)
        home.config.write_text(settings_text(host, pebble, dsn, key_file))
        hosts.append(host)
    return hosts


@pytest.fixture
def fleet_pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    """A Pebble whose certificates live LIFETIME seconds."""
    server = started_pebble(tmp_path_factory.mktemp("pebble-fleet"), PebbleOptions(validity_seconds=LIFETIME))
    yield server
    server.stop()


class Watcher:
    """Reads every host's served pair again and again; notes any expired or mismatched pair."""

    def __init__(self, hosts: list[Host]) -> None:
        self.hosts = hosts
        self.problems: list[str] = []
        self.checks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            for host in self.hosts:
                for name in NAMES:
                    problem = self._check(*host.files(name))
                    if problem:
                        self.problems.append(f"{host.host_id} {name}: {problem}")

    def _check(self, cert: Path, key: Path) -> str:
        for _attempt in range(3):  # a reader may land between the key's and the certificate's rename
            try:
                cert_pem, key_pem = cert.read_bytes(), key.read_bytes()
            except FileNotFoundError:
                return ""  # not deployed yet
            if not key_matches_cert(key_pem, cert_pem):
                time.sleep(0.1)
                continue
            self.checks += 1
            not_after = parse_cert(cert_pem).not_after
            return "" if not_after > datetime.now(UTC) else f"expired at {not_after.isoformat()}"
        return "key does not match certificate"


def database(dsn: str, key_file: Path) -> Backend:
    return open_postgresql(dsn, "test-probe", key_file, datetime.now(UTC))


def wait_for(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def serving_current(hosts: list[Host], backend: Backend) -> bool:
    """Every host's files hold the database's current certificate of every name."""
    for name in NAMES:
        current = backend.store.current(name)
        if current is None:
            return False
        for host in hosts:
            cert, _ = host.files(name)
            if not cert.exists() or cert.read_bytes() != current.fullchain_pem:
                return False
    return True


def issued_orders(backend: Backend, name: str) -> list[OrderRecord]:
    return sorted((o for o in backend.journal.orders(name, MAX_LIMIT) if o.result == "issued"),
                  key=lambda o: o.started)


def assert_ordered_once(backend: Backend) -> None:
    """Orders of one certificate never overlap, and none follows another closely (a duplicate would)."""
    for name in NAMES:
        orders = issued_orders(backend, name)
        for before, after in zip(orders, orders[1:], strict=False):
            assert before.finished is not None and after.started >= before.finished, (name, before, after)
            assert after.started - before.finished > timedelta(seconds=LIFETIME / 5), (name, before, after)
        serials = [o.serial for o in orders]
        assert len(set(serials)) == len(serials)


def stop_all(hosts: list[Host]) -> None:
    for host in hosts:
        host.stop()


def test_fleet_of_three_renews_once_serves_everywhere_and_survives_a_database_outage(
    tmp_path: Path, fleet_pebble: PebbleServer, pg_server: PgServer, pg_dsn: str,  # noqa: F811
) -> None:
    hosts = make_fleet(tmp_path, fleet_pebble, pg_dsn)
    key_file = tmp_path / "fleet.key"
    with Balancer(fleet_pebble.http_port, [h.port for h in hosts]) as balancer, Watcher(hosts) as watcher:
        try:
            for host in hosts:
                host.start()
            probe = database(pg_dsn, key_file)
            wait_for("every host to serve the first certificates", lambda: serving_current(hosts, probe), 90)
            first = {name: issued_orders(probe, name)[-1].serial for name in NAMES}
            wait_for("a renewal round", lambda: all(issued_orders(probe, n)[-1].serial != first[n] for n in NAMES),
                     LIFETIME)
            wait_for("the renewed certificates everywhere", lambda: serving_current(hosts, probe), 30)
            probe.close()

            pg_server.stop()  # right after a round: each certificate still has most of its minute left
            time.sleep(OUTAGE)
            assert all(h.proc is not None and h.proc.poll() is None for h in hosts), "a daemon died"
            pg_server.start()

            probe = database(pg_dsn, key_file)
            second = {name: issued_orders(probe, name)[-1].serial for name in NAMES}
            wait_for("a renewal after the outage",
                     lambda: all(issued_orders(probe, n)[-1].serial != second[n] for n in NAMES), LIFETIME)
            wait_for("every host to serve it", lambda: serving_current(hosts, probe), 30)
            wait_for("every host to record it", lambda: _served_by_all(probe, hosts), 30)
        finally:
            stop_all(hosts)
        assert watcher.problems == [] and watcher.checks > 100
        assert_ordered_once(probe)
        for name in NAMES:
            everything = probe.journal.orders(name, MAX_LIMIT)
            assert {o.result for o in everything} == {"issued"}, [(o.result, o.error_detail) for o in everything]
        # Validations reached every host through the balancer: two of three landed where no order ran.
        assert all(balancer.sent[h.port] > 0 for h in hosts), balancer.sent
        for host in hosts:  # each host ran its own deploy hook for the newest serial of each certificate
            text = host.hook_log.read_text()
            assert all(issued_orders(probe, n)[-1].serial in text for n in NAMES), host.host_id
            assert "Traceback" not in host.log.read_text()
        probe.close()


def _served_by_all(backend: Backend, hosts: list[Host]) -> bool:
    table = fleet_hosts(backend)
    assert table is not None
    served = {h.host_id: h.served for h in table.hosts()}
    want = {name: backend.store.current(name) for name in NAMES}
    return all(served.get(h.host_id, {}).get(n) == str(c.meta["serial"]) for h in hosts for n, c in want.items()
               if c is not None)


@pytest.fixture
def slow_pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    """A Pebble that sleeps (up to 15 s) before each validation, so that an order can be caught midway."""
    server = started_pebble(tmp_path_factory.mktemp("pebble-slow"), PebbleOptions(va_nosleep=False))
    yield server
    server.stop()


def running_with_url(backend: Backend) -> OrderRecord | None:
    """An order that runs now and whose ACME order the CA has created (its URL is journaled)."""
    return next((o for n in NAMES for o in backend.journal.orders(n, MAX_LIMIT)
                 if o.result == "running" and o.order_url), None)


def timeline(orders: list[OrderRecord]) -> str:
    """Each order with its events, oldest first: a failure's message says what happened."""
    lines = []
    for order in sorted(orders, key=lambda o: o.id):
        lines.append(f"order {order.id}: {order.result} {order.error_type} {order.order_url}")
        lines += [f"  {event.at:%H:%M:%S.%f} {event.kind} {event.message}" for event in order.events]
    return "\n".join(lines)


def test_sigkill_of_the_lock_holder_mid_order_lets_another_host_resume_it_without_a_second_order(
    tmp_path: Path, slow_pebble: PebbleServer, pg_dsn: str,  # noqa: F811
) -> None:
    hosts = make_fleet(tmp_path, slow_pebble, pg_dsn, count=2)
    key_file = tmp_path / "fleet.key"
    with Balancer(slow_pebble.http_port, [h.port for h in hosts]):
        try:
            for host in hosts:
                host.start()
            probe = database(pg_dsn, key_file)
            wait_for("an order to reach the CA", lambda: running_with_url(probe) is not None, 60)
            killed = running_with_url(probe)
            assert killed is not None
            holder = next(h for h in probe.locker.holders() if h.name == killed.cert)
            victim = next(h for h in hosts if holder.owner == f"{h.host_id}:{h.proc.pid}")  # type: ignore[union-attr]
            os.kill(victim.proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
            victim.proc.wait()  # type: ignore[union-attr]
            survivors = [h for h in hosts if h is not victim]
            wait_for("another host to issue every certificate",
                     lambda: all(issued_orders(probe, n) for n in NAMES), 30 + 60)
            wait_for("the survivors to serve them", lambda: serving_current(survivors, probe), 30)
        finally:
            stop_all(hosts)
        for name in NAMES:
            assert len(issued_orders(probe, name)) == 1  # one issuance per certificate
            assert len(probe.store.versions(name)) == 1
        # The killed order was closed as interrupted by the next lock holder, which carried the same ACME
        # order on by its URL instead of placing a second one.
        orders = probe.journal.orders(killed.cert, MAX_LIMIT)
        cut = next(o for o in orders if o.id == killed.id)
        story = timeline(orders)  # what each order of the killed certificate did, should this fail
        assert cut.result == "failed" and cut.error_type == "interrupted", story
        assert issued_orders(probe, killed.cert)[0].order_url == killed.order_url, story
        assert len({o.order_url for o in orders if o.order_url}) == 1, story
        probe.close()
