"""A refused validation says, in its one line, where the CA looked for the proof: the most common first
failure (port 80 not reaching the responder) names the port to check. Against a real Pebble, whose
validation connects to the port it was started with; the certificate's responder listens elsewhere."""

from __future__ import annotations

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleServer, free_port

pytestmark = pytest.mark.pebble


def test_a_refused_http01_validation_names_the_responder_port_to_check(local_home: Home, pebble: PebbleServer
                                                                     ) -> None:
    port = free_port()  # not the port Pebble validates on: nothing answers there
    local_home.run("add", "shop", "-d", "shop.example.test", "--provider", "local", "--http-port", str(port),
                   "--http-bind", "127.0.0.1", check=True)
    done = local_home.run("issue", "shop")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "shop.example.test" in lines[0] and "connection" in lines[0]
    assert f"port 80 is forwarded to the built-in responder on port {port}" in lines[0]
    log = local_home.run("log", "shop", check=True).stdout  # the order log keeps the same advice
    assert f"responder on port {port}" in log


def test_a_webroot_certificate_is_told_to_check_its_web_root(local_home: Home, pebble: PebbleServer) -> None:
    root = local_home.root / "www"
    root.mkdir()
    local_home.run("add", "blog", "-d", "blog.example.test", "--provider", "local", "--webroot", str(root),
                   check=True)
    done = local_home.run("issue", "blog")
    assert done.returncode != 0
    assert f"serves {root}/.well-known/acme-challenge/" in done.stderr
