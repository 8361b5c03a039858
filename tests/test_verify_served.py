"""`verify` against a real local TLS server that is, or is not, reloaded after a renewal."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleServer, free_port
from zerossl_tui.engine.keys import parse_cert

pytestmark = pytest.mark.pebble


class TlsServer:
    """A TLS server (python ssl) presenting the certificate files as they were at its last (re)load."""

    def __init__(self, certfile: Path, keyfile: Path) -> None:
        self.certfile, self.keyfile = certfile, keyfile
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.reload()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def reload(self) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certfile, self.keyfile)
        self.context = context

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def site(local_home: Home, pebble: PebbleServer) -> Iterator[tuple[Home, TlsServer, Path]]:
    """Certificate `site` issued on Pebble, served by a TLS server from its certfile/keyfile."""
    cert, key = local_home.root / "srv" / "fullchain.pem", local_home.root / "srv" / "privkey.pem"
    local_home.run("add", "site", "-d", "site.example.test", "--provider", "local", "--http-port",
                   str(pebble.http_port), "--http-bind", "127.0.0.1", "--certfile", str(cert), "--keyfile", str(key),
                   check=True)
    local_home.run("issue", "site", check=True)
    server = TlsServer(cert, key)
    local_home.run("edit", "site", "--verify", f"127.0.0.1:{server.port}", check=True)
    yield local_home, server, cert
    server.stop()


def verify_json(home: Home) -> tuple[int, list[dict[str, str]]]:
    done = home.run("verify", "--json")
    return done.returncode, json.loads(done.stdout)


def test_verify_tells_a_reloaded_server_from_a_stale_one(site: tuple[Home, TlsServer, Path]) -> None:
    home, server, cert = site
    code, rows = verify_json(home)
    assert code == 0 and [r["state"] for r in rows] == ["ok"]
    old = parse_cert(cert.read_bytes()).serial

    renewed = home.run("renew", "--force", "site", check=True)
    assert f"verify site 127.0.0.1:{server.port}: stale {old}" in renewed.stderr, "checked after the deploy"
    new = parse_cert(cert.read_bytes()).serial
    code, rows = verify_json(home)
    assert code == 1
    assert rows[0]["state"] == "stale" and rows[0]["served_serial"] == old and rows[0]["expected_serial"] == new
    text = home.run("verify", "site")
    assert text.returncode == 1 and f"serves serial {old}" in text.stdout and "reload the web server" in text.stdout

    server.reload()
    code, rows = verify_json(home)
    assert code == 0 and rows[0]["state"] == "ok" and rows[0]["served_serial"] == new


def test_unreachable_endpoint_fails_with_the_reason(site: tuple[Home, TlsServer, Path]) -> None:
    home, _, _ = site
    home.run("edit", "site", "--verify", f"127.0.0.1:{free_port()}", check=True)
    code, rows = verify_json(home)
    assert code == 1 and rows[0]["state"] == "unreachable"
    assert "refused" in rows[0]["error"].lower()


def test_bad_endpoint_is_one_line_and_nothing_is_saved(site: tuple[Home, TlsServer, Path]) -> None:
    home, server, _ = site
    done = home.run("edit", "site", "--verify", "no-port-here")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "HOST:PORT" in done.stderr
    assert f"127.0.0.1:{server.port}" in home.config.read_text()
    home.run("edit", "site", "--no-verify", check=True)
    assert "verify" not in home.config.read_text()


def test_renew_checks_after_deploy_and_waits_for_the_reload(site: tuple[Home, TlsServer, Path]) -> None:
    home, server, cert = site
    before = cert.read_bytes()
    stop = threading.Event()

    def reload_when_deployed() -> None:  # the web server's reload, a moment after the files changed
        while not stop.wait(0.05):
            if cert.read_bytes() != before:
                stop.wait(0.5)
                server.reload()
                return

    watcher = threading.Thread(target=reload_when_deployed)
    watcher.start()
    try:
        renewed = home.run("renew", "--force", "site", check=True)
    finally:
        stop.set()
        watcher.join()
    assert "stale" not in renewed.stderr
    served = json.loads((home.data / "served.json").read_text())
    check = served["site"][f"127.0.0.1:{server.port}"]
    assert check["state"] == "ok" and check["served_serial"] == parse_cert(cert.read_bytes()).serial

