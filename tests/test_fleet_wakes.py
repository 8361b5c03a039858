"""A fleet daemon notices what a command changed in the database: a certificate revoked with the CLI of
another host is replaced within seconds, not at the daemon's next look (the certificate is valid for years:
without the notification nothing would renew it before then). Real processes, real PostgreSQL and Pebble;
the fleet's counterpart of test_daemon_wakes.py."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Home
from helpers import poll
from pgserver import PgServer, pg_dsn, pg_server  # noqa: F401

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.engine.keys import parse_cert
from zerossl_tui.storage.postgres import ensure_key_file

pytestmark = pytest.mark.pebble


def fleet_home(root: Path, host_id: str, pebble: PebbleServer, dsn: str, key_file: Path) -> Home:
    """One host of the fleet: certificate `site` served from its own srv folder."""
    home = Home(root, root / "config" / "settings.toml", root / "data")
    home.config.parent.mkdir(parents=True)
    home.config.write_text("\n".join([
        "[storage]", 'backend = "postgresql"', f'dsn = "{dsn}"', f'host_id = "{host_id}"', f'key_file = "{key_file}"',
        "", "[providers.local]", f'directory = "{pebble.directory}"', f'ca_bundle = "{pebble.ca_bundle}"',
        'email = "ops@example.com"', "", "[certificates.site]", 'domains = ["site.fleet.test"]', 'provider = "local"',
        f"http_port = {pebble.http_port}", 'http_bind = "127.0.0.1"', f'certfile = "{root / "srv" / "site.pem"}"',
        f'keyfile = "{root / "srv" / "site.key"}"', ""]))
    return home


@pytest.fixture
def fleet(tmp_path: Path, pebble: PebbleServer, pg_server: PgServer,  # noqa: F811
          pg_dsn: str) -> Iterator[tuple[Home, Home]]:  # noqa: F811
    """Two hosts with `site` issued (valid for years); web-1 runs its daemon, web-2 only runs commands."""
    key_file = tmp_path / "fleet.key"
    ensure_key_file(key_file)
    web1, web2 = (fleet_home(tmp_path / h, h, pebble, pg_dsn, key_file) for h in ("web-1", "web-2"))
    web1.run("issue", "site", check=True)
    process = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon"], env=web1.env(),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    assert "daemon started" in process.stderr.readline()
    assert "joined" in process.stderr.readline()
    database = pg_dsn.rsplit("/", 1)[-1]
    listening = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'zerossl-tui listener'"
                 f" AND datname = '{database}'")
    assert poll(lambda: pg_server.psql(listening).strip() == "1", timeout=30)  # the agent LISTENs now
    yield web1, web2
    process.terminate()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err


def row(home: Home) -> dict[str, str]:
    return dict(json.loads(home.run("list", "--json", check=True).stdout)[0])


def test_fleet_daemon_replaces_a_certificate_revoked_from_another_hosts_cli_within_seconds(
        fleet: tuple[Home, Home]) -> None:
    web1, web2 = fleet
    served = web1.root / "srv" / "site.pem"
    first = parse_cert(served.read_bytes()).serial
    revoked = web2.run("revoke", "site", "--reason", "superseded")
    assert revoked.returncode == 0, revoked.stderr

    def replaced() -> bool:
        now = row(web2)
        return now["status"] == "valid" and now["last_result"] == "issued"

    assert poll(replaced, timeout=45), f"the daemon did not replace it: {row(web2)}"
    assert poll(lambda: parse_cert(served.read_bytes()).serial != first, timeout=15)  # and web-1 serves it
    orders = json.loads(web2.run("log", "site", "--json", check=True).stdout)
    assert [o["result"] for o in orders][:2] == ["issued", "revoked"]  # newest first: the daemon's order
