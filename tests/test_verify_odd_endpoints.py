"""`verify` against endpoints that are not what the settings expect: a plain HTTP port, a server that
refuses the server name sent (SNI), one that says nothing. Each is `unreachable` with a reason a person can
act on, never OpenSSL's internal names and source lines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleServer, free_port

pytestmark = pytest.mark.pebble


def listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def servers(local_home: Home, pebble: PebbleServer) -> Iterator[tuple[int, int]]:
    """(a plain HTTP server's port, an openssl s_server's that refuses any name but other.example)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    local_home.run("add", "site", "-d", "site.example.test", "--provider", "local", "--http-port",
                   str(pebble.http_port), "--http-bind", "127.0.0.1", check=True)
    local_home.run("issue", "site", check=True)
    version = next((local_home.data / "certificates" / "site").glob("versions/*"))
    http_port, tls_port = free_port(), free_port()
    cert, key = str(version / "fullchain.pem"), str(version / "privkey.pem")
    procs = [
        subprocess.Popen([sys.executable, "-m", "http.server", str(http_port), "--bind", "127.0.0.1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{tls_port}", "-cert", cert, "-key", key,
                          "-servername", "other.example", "-cert2", cert, "-key2", key, "-servername_fatal",
                          "-quiet"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL),
    ]
    try:
        listening(http_port, procs[0])
        listening(tls_port, procs[1])
        yield http_port, tls_port
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def test_plain_http_and_a_refused_server_name_are_said_in_words(local_home: Home, servers: tuple[int, int]
                                                                 ) -> None:
    http_port, tls_port = servers
    local_home.run("edit", "site", "--verify", f"127.0.0.1:{http_port}", "--verify", f"127.0.0.1:{tls_port}",
                   check=True)
    done = local_home.run("verify", "--json")
    assert done.returncode == 1, done.stderr
    errors = {c["endpoint"]: c["error"] for c in json.loads(done.stdout)}
    assert "does not speak TLS" in errors[f"127.0.0.1:{http_port}"]
    assert "has no site for site.example.test" in errors[f"127.0.0.1:{tls_port}"]
    plain = local_home.run("verify")
    assert "_ssl.c" not in plain.stdout and "[SSL:" not in plain.stdout, plain.stdout
