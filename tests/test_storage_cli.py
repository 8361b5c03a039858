"""`zerossl-tui storage use|status` through the real CLI, against a real PostgreSQL and Pebble: a round trip
filesystem -> PostgreSQL -> filesystem keeps every version, key and journal row; a second run changes
nothing; the DSN's password lands in secrets.toml only; failures are one line and switch nothing."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import Home
from pgserver import PgServer, free_port, pg_dsn, pg_server  # noqa: F401

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.engine.keys import key_matches_cert, parse_cert
from zerossl_tui.storage.backend import Backend, open_filesystem
from zerossl_tui.storage.journal import MAX_LIMIT
from zerossl_tui.storage.migrate import version_hash
from zerossl_tui.storage.paths import resolve_paths
from zerossl_tui.storage.postgres import open_postgresql

pytestmark = pytest.mark.pebble
NAMES = ("shop", "blog")
PASSWORD = "s3cret-db-pw"


def add_cert(home: Home, pebble: PebbleServer, name: str) -> tuple[Path, Path]:
    cert, key = home.root / "srv" / name / "fullchain.pem", home.root / "srv" / name / "privkey.pem"
    home.run("add", name, "-d", f"{name}.example.test", "--provider", "local", "--http-port", str(pebble.http_port),
             "--http-bind", "127.0.0.1", "--certfile", str(cert), "--keyfile", str(key), check=True)
    return cert, key


def snapshot(backend: Backend) -> dict[str, object]:
    """Every version (hash, with its key), the current one, every order with its events, every state."""
    out: dict[str, object] = {}
    for name in NAMES:
        versions = [backend.store.load_version(name, v) for v in backend.store.versions(name)]
        current = backend.store.current(name)
        orders = [(o.started.astimezone(UTC), o.result, o.serial, o.order_url, [e.message for e in o.events])
                  for o in backend.journal.orders(name, MAX_LIMIT)]
        out[name] = (sorted(version_hash(v) for v in versions if v), version_hash(current) if current else "",
                     sorted(orders, key=repr))
    out["states"] = backend.journal.all_states()
    return out


def filesystem_of(home: Home) -> Backend:
    return open_filesystem(resolve_paths(str(home.config), str(home.data)), datetime.now(UTC))


def database_of(dsn: str, key_file: Path) -> Backend:
    return open_postgresql(dsn, "probe", key_file, datetime.now(UTC))


def with_password(dsn: str) -> str:
    return dsn.replace("zt@", f"zt:{PASSWORD}@", 1)


def database_name(dsn: str) -> str:
    return dsn.rsplit("/", 1)[1]


def test_storage_use_round_trip_keeps_every_version_key_and_journal_row(
    local_home: Home, pebble: PebbleServer, pg_server: PgServer, pg_dsn: str,  # noqa: F811
) -> None:
    home, key_file = local_home, local_home.root / "keys" / "storage.key"
    served = {name: add_cert(home, pebble, name) for name in NAMES}
    home.run("issue", "shop", check=True)
    home.run("issue", "blog", check=True)
    home.run("renew", "shop", "--force", check=True)
    before = snapshot(filesystem_of(home))

    done = home.run("storage", "use", "postgresql", "--dsn", with_password(pg_dsn), "--host-id", "web-1",
                    "--key-file", str(key_file))
    assert done.returncode == 0, done.stderr
    assert "now using postgresql" in done.stdout and "verified" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr + home.config.read_text()
    assert PASSWORD in (home.config.parent / "secrets.toml").read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert snapshot(database_of(pg_dsn, key_file)) == before
    assert b"PRIVATE KEY" not in pg_server.pg_dump(database_name(pg_dsn))

    settings_before = home.config.read_bytes()
    again = home.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--host-id", "web-1",
                     "--key-file", str(key_file))
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout
    assert home.config.read_bytes() == settings_before
    assert snapshot(database_of(pg_dsn, key_file)) == before

    # Work done in fleet mode (a new version in PostgreSQL only) comes back with `storage use filesystem`.
    home.run("renew", "blog", "--force", check=True)
    rows = json.loads(home.run("list", "--json", check=True).stdout)
    blog_serial = parse_cert(served["blog"][0].read_bytes()).serial
    assert {r["name"]: r["served_by"] for r in rows}["blog"] == {"web-1": blog_serial}
    in_database = snapshot(database_of(pg_dsn, key_file))
    back = home.run("storage", "use", "filesystem")
    assert back.returncode == 0, back.stderr
    assert snapshot(filesystem_of(home)) == in_database
    assert "backend" not in home.config.read_text() or 'backend = "filesystem"' in home.config.read_text()
    rows = json.loads(home.run("list", "--json", check=True).stdout)
    assert all("served_by" not in r for r in rows)
    assert {r["name"]: r["serial"] for r in rows}["blog"] == blog_serial
    assert home.run("storage", "use", "filesystem", check=True).stdout.strip().endswith("nothing changed")
    for cert, key in served.values():
        assert key_matches_cert(key.read_bytes(), cert.read_bytes())


def test_storage_status_json_shows_hosts_heartbeats_served_serials_and_schema(
    local_home: Home, pebble: PebbleServer, pg_dsn: str,  # noqa: F811
) -> None:
    home = local_home
    cert, _ = add_cert(home, pebble, "shop")
    home.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--host-id", "web-1", check=True)
    home.run("issue", "shop", check=True)
    status = json.loads(home.run("storage", "status", "--json", check=True).stdout)
    assert status["backend"] == "postgresql" and status["schema_version"] >= 1
    host = next(h for h in status["hosts"] if h["host_id"] == "web-1")
    assert host["served"] == {"shop": parse_cert(cert.read_bytes()).serial}
    assert host["heartbeat_age_seconds"] is not None and host["heartbeat_age_seconds"] < 600
    assert status["locks"] == []
    text = home.run("storage", "status", check=True).stdout
    assert "host web-1: heartbeat" in text and "no locks held" in text
    assert (home.config.parent / "storage.key").is_file()  # the default key file, made by `storage use`


def test_storage_status_on_the_filesystem(home: Home) -> None:
    status = json.loads(home.run("storage", "status", "--json", check=True).stdout)
    assert status["backend"] == "filesystem" and status["hosts"] == [] and status["locks"] == []


def one_error_line(done: object) -> str:
    stderr = done.stderr  # type: ignore[attr-defined]
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert PASSWORD not in stderr
    return str(stderr)


def test_postgresql_down_is_one_line_and_switches_nothing(home: Home) -> None:
    dsn = f"postgresql://zt:{PASSWORD}@127.0.0.1:{free_port()}/fleet"
    done = home.run("storage", "use", "postgresql", "--dsn", dsn, "--key-file", str(home.root / "k"))
    assert done.returncode == 1
    assert "unreachable" in one_error_line(done)
    assert not home.config.exists() or "postgresql" not in home.config.read_text()


def test_bad_dsn_is_one_line_usage_error(home: Home) -> None:
    done = home.run("storage", "use", "postgresql", "--dsn", f"host=x password={PASSWORD} port=notaport ==")
    assert done.returncode == 2
    assert "not a valid PostgreSQL connection string" in one_error_line(done)


def test_wrong_key_file_is_one_line_and_switches_nothing(
    local_home: Home, pebble: PebbleServer, pg_dsn: str, tmp_path: Path,  # noqa: F811
) -> None:
    local_home.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--key-file", str(tmp_path / "a.key"),
                   check=True)
    other = Home(tmp_path / "other", tmp_path / "other" / "config" / "settings.toml", tmp_path / "other" / "data")
    done = other.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--key-file", str(tmp_path / "b.key"))
    assert done.returncode == 2
    assert "does not match the key" in one_error_line(done)
    assert not other.config.exists()
    status = local_home.run("storage", "status")  # the first host is unaffected
    assert status.returncode == 0, status.stderr
