"""`zerossl-tui storage use` against what else uses the store, through the real CLI, a real PostgreSQL and
Pebble: it refuses in one line while a daemon runs on the data folder or an order holds a certificate (and
switches nothing); a host joining a fleet with older copies of the fleet's certificates keeps them as
history and leaves the fleet's newer ones current."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import Home
from helpers import poll
from pgserver import pg_dsn, pg_server  # noqa: F401

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.storage.backend import Backend, open_filesystem
from zerossl_tui.storage.daemon_mark import daemon_holds
from zerossl_tui.storage.migrate import version_hash
from zerossl_tui.storage.paths import resolve_paths
from zerossl_tui.storage.postgres import open_postgresql

pytestmark = pytest.mark.pebble


def add_cert(home: Home, pebble: PebbleServer, name: str) -> None:
    folder = home.root / "srv" / name
    home.run("add", name, "-d", f"{name}.example.test", "--provider", "local", "--http-port", str(pebble.http_port),
             "--http-bind", "127.0.0.1", "--certfile", str(folder / "fullchain.pem"), "--keyfile",
             str(folder / "privkey.pem"), check=True)


def filesystem_of(home: Home) -> Backend:
    return open_filesystem(resolve_paths(str(home.config), str(home.data)), datetime.now(UTC))


def database_of(dsn: str, key_file: Path) -> Backend:
    return open_postgresql(dsn, "probe", key_file, datetime.now(UTC))


def refused(done: subprocess.CompletedProcess[str]) -> str:
    """The one line of a refused `storage use`."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_storage_use_refuses_while_a_daemon_runs_or_an_order_holds_a_certificate(
    local_home: Home, pebble: PebbleServer, pg_dsn: str,  # noqa: F811
) -> None:
    home = local_home
    add_cert(home, pebble, "shop")
    home.run("issue", "shop", check=True)
    settings = home.config.read_bytes()
    use = ("storage", "use", "postgresql", "--dsn", pg_dsn, "--key-file", str(home.root / "fleet.key"))
    daemon = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon"], env=home.env(),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert poll(lambda: daemon_holds(home.data)), "the daemon did not mark its data folder"
        line = refused(home.run(*use))
        assert "daemon is running" in line and "stop it first" in line
    finally:
        daemon.terminate()
        daemon.wait(30)
    assert home.config.read_bytes() == settings

    order = filesystem_of(home).locker.certificate("shop")  # held the way an order holds it
    assert order.try_acquire()
    try:
        line = refused(home.run(*use))
        assert "an order for shop is running" in line
        assert home.config.read_bytes() == settings
    finally:
        order.release()
    done = home.run(*use)
    assert done.returncode == 0, done.stderr
    assert 'backend = "postgresql"' in home.config.read_text()


def issued(backend: Backend, name: str) -> datetime:
    current = backend.store.current(name)
    assert current is not None
    return datetime.fromisoformat(str(current.meta["not_before"]))


def test_a_host_joining_a_fleet_keeps_the_fleets_newer_certificate_current(
    local_home: Home, pebble: PebbleServer, pg_dsn: str, tmp_path: Path,  # noqa: F811
) -> None:
    key_file = tmp_path / "fleet.key"
    joiner = Home(tmp_path / "web-2", tmp_path / "web-2" / "config" / "settings.toml", tmp_path / "web-2" / "data")
    joiner.run("provider", "add", "local", "--directory", pebble.directory, "--ca-bundle", str(pebble.ca_bundle),
               "--email", "ops@example.com", check=True)
    add_cert(joiner, pebble, "shop")
    joiner.run("issue", "shop", check=True)  # the joining host's own, older certificate
    old = filesystem_of(joiner).store.current("shop")
    assert old is not None

    first = local_home
    add_cert(first, pebble, "shop")
    first.run("issue", "shop", check=True)
    first.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--host-id", "web-1", "--key-file", str(key_file),
              check=True)
    time.sleep(1.1)  # certificates carry whole seconds: the fleet's renewal must be visibly newer
    first.run("renew", "shop", "--force", check=True)
    fleet = database_of(pg_dsn, key_file)
    newest, state = fleet.store.current("shop"), fleet.journal.get_state("shop")
    assert newest is not None and issued(fleet, "shop") > issued(filesystem_of(joiner), "shop")
    versions_before = len(fleet.store.versions("shop"))
    fleet.close()

    done = joiner.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--host-id", "web-2", "--key-file",
                      str(key_file))
    assert done.returncode == 0, done.stderr
    fleet = database_of(pg_dsn, key_file)
    try:
        current = fleet.store.current("shop")
        assert current is not None and version_hash(current) == version_hash(newest)
        kept = [fleet.store.load_version("shop", v) for v in fleet.store.versions("shop")]
        assert version_hash(old) in {version_hash(v) for v in kept if v is not None}  # history, not current
        assert len(kept) == versions_before + 1
        assert fleet.journal.get_state("shop") == state
    finally:
        fleet.close()
    listed = joiner.run("list", "--json", check=True).stdout
    assert newest.meta["serial"] in listed and old.meta["serial"] not in listed
    again = joiner.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--host-id", "web-2", "--key-file",
                       str(key_file))
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stderr


def test_leaving_a_fleet_is_refused_while_another_host_orders_one_of_its_certificates(
    local_home: Home, pebble: PebbleServer, pg_dsn: str,  # noqa: F811
) -> None:
    home = local_home
    for name in ("shop", "blog"):
        add_cert(home, pebble, name)
        home.run("issue", name, check=True)
    key_file = home.root / "fleet.key"
    joined = home.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--key-file", str(key_file))
    assert joined.returncode == 0, joined.stderr
    settings = home.config.read_bytes()
    other = database_of(pg_dsn, key_file)
    order = other.locker.certificate("shop")  # another host of the fleet is ordering shop
    assert order.try_acquire()
    try:
        line = refused(home.run("storage", "use", "filesystem"))
        assert "an order for shop is running" in line
        assert home.config.read_bytes() == settings
        blog = other.locker.certificate("blog")
        assert blog.try_acquire()  # the refused switch left no lock of its own behind
        blog.release()
    finally:
        order.release()
        other.close()
    left = home.run("storage", "use", "filesystem")
    assert left.returncode == 0, left.stderr
    assert 'backend = "postgresql"' not in home.config.read_text()
