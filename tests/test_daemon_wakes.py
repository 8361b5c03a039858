"""A running daemon notices what another process changed in the store: a certificate revoked with the CLI
is replaced within seconds, not at the daemon's next hourly look. Real processes, real Pebble."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from conftest import Home
from helpers import poll

from zerossl_tui.devtools.pebble import PebbleServer

pytestmark = pytest.mark.pebble


@pytest.fixture
def daemon(local_home: Home, pebble: PebbleServer) -> Iterator[subprocess.Popen[str]]:
    """`zerossl-tui daemon` with one issued certificate (`site`, valid for years: nothing is due)."""
    local_home.run("add", "site", "-d", "site.example.test", "--provider", "local", "--http-port",
                   str(pebble.http_port), "--http-bind", "127.0.0.1", check=True)
    local_home.run("issue", "site", check=True)
    process = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon"], env=local_home.env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    assert "daemon started" in process.stderr.readline()
    yield process
    process.terminate()
    process.communicate(timeout=60)


def row(home: Home) -> dict[str, str]:
    return dict(json.loads(home.run("list", "--json", check=True).stdout)[0])


def test_daemon_replaces_a_certificate_revoked_from_the_cli_within_seconds(
        local_home: Home, daemon: subprocess.Popen[str]) -> None:
    before = local_home.run("log", "site", "--json", check=True).stdout
    revoked = local_home.run("revoke", "site", "--reason", "superseded")
    assert revoked.returncode == 0, revoked.stderr
    assert row(local_home)["status"] in ("revoked", "issuing", "valid")

    def replaced() -> bool:
        now = row(local_home)
        return now["status"] == "valid" and now["last_result"] == "issued"

    assert poll(replaced, timeout=45), f"the daemon did not replace it: {row(local_home)}"
    orders = json.loads(local_home.run("log", "site", "--json", check=True).stdout)
    assert len(orders) == len(json.loads(before)) + 2  # the revocation, then the daemon's new order
    assert daemon.poll() is None
