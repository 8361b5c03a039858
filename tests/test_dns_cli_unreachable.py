"""`dns test` through a lexicon provider whose API cannot be reached: the user reads one clear error line,
not a removal failure of a record that was never added, and nothing is left for a later start to clean."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from conftest import Home

pytestmark = pytest.mark.dns


def free_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def hang_up() -> Iterator[int]:
    """A loopback server that reads each request and closes the connection without an answer."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    server.close()


def add_powerdns(home: Home, port: int) -> None:
    home.run("dns", "add", "pd", "--type", "lexicon", "--lexicon-provider", "powerdns", "--option",
             f"pdns_server=http://127.0.0.1:{port}", "--option", "auth_token=secret-token", "--option",
             "pdns_server_id=localhost", "--zone", "example.com",
             check=True)


def test_dns_test_against_a_refused_api_says_one_line(home: Home) -> None:
    port = free_port()
    add_powerdns(home, port)
    for _ in range(2):  # the second run finds no leftover of the first to remove
        done = home.run("dns", "test", "pd", "example.com")
        assert done.returncode == 1
        assert done.stderr.splitlines() == [
            f"zerossl-tui: error: DNS provider 'pd' (lexicon powerdns): cannot connect to 127.0.0.1:{port}: "
            "check its address and the network"]
        assert "cleanup" not in done.stdout + done.stderr


def test_dns_test_against_an_api_that_hangs_up_says_one_line(home: Home, hang_up: int) -> None:
    add_powerdns(home, hang_up)
    done = home.run("dns", "test", "pd", "example.com")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("zerossl-tui: error: DNS provider 'pd'"), done.stderr
    assert lines[0].endswith("its test record may remain in the zone: the next renew or daemon start removes it")
    assert "secret-token" not in done.stdout + done.stderr
