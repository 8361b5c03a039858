"""Listeners and outgoing secrets: the http-01 responder holds a bounded number of connections and drops slow
ones, and the ZeroSSL API key is never sent over plain HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import Home

from zerossl_tui.core.errors import EabError
from zerossl_tui.devtools.pebble import PebbleServer, free_port
from zerossl_tui.engine import solvers
from zerossl_tui.engine.eab import fetch_zerossl_eab
from zerossl_tui.engine.solvers import Http01Responder

TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
KEY_AUTH = TOKEN + ".thumbprint"


@pytest.fixture
def responder() -> Iterator[Http01Responder]:
    with Http01Responder(free_port(), "127.0.0.1") as solver:
        solver.present("a.example.test", TOKEN, KEY_AUTH)
        yield solver


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server ended the connection (without waiting)."""
    try:
        return sock.recv(4096, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def get_token(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET /.well-known/acme-challenge/{TOKEN} HTTP/1.0\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_trickling_connections_hold_a_bounded_number_of_threads(responder: Http01Responder) -> None:
    """300 clients sending one byte now and then: threads stay bounded and the CA's request still works."""
    base = threading.active_count()
    clients = [socket.create_connection(("127.0.0.1", responder.port), timeout=5) for _ in range(300)]
    most, deadline = 0, time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            open_ones = [c for c in clients if not closed_by_server(c)]
            for client in open_ones:
                client.send(b"G")  # the request line, one byte at a time
            most = max(most, threading.active_count() - base)
            if len(open_ones) <= solvers.MAX_CONNECTIONS:
                break
            time.sleep(0.2)
        most = max(most, threading.active_count() - base)
        # MAX_CONNECTIONS serving, plus dropped ones not yet scheduled to exit on a busy machine (was: 300).
        assert most <= 2 * solvers.MAX_CONNECTIONS, f"{most} threads for 300 trickling connections"
        assert get_token(responder.port).endswith(KEY_AUTH.encode()), "the CA's request must still get through"
    finally:
        for client in clients:
            client.close()


def test_a_client_that_trickles_its_request_is_dropped_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solvers, "REQUEST_DEADLINE", 2.0)
    with Http01Responder(free_port(), "127.0.0.1") as solver:
        slow = socket.create_connection(("127.0.0.1", solver.port), timeout=5)
        try:
            deadline = time.monotonic() + 30  # far beyond REQUEST_DEADLINE; the old per-read timeout never ends it
            while not closed_by_server(slow):
                assert time.monotonic() < deadline, "a client sending a byte every 0.5 s held its connection"
                slow.send(b"G")
                time.sleep(0.5)
        finally:
            slow.close()


# -- the ZeroSSL API key ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "HTTP://api.zerossl.com", "ftp://api.zerossl.com",
                                 "api.zerossl.com"])
def test_the_zerossl_api_key_is_never_sent_without_https(url: str) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    target = url.replace(":9", f":{port}")
    try:
        with pytest.raises(EabError, match="https") as caught:
            fetch_zerossl_eab(api_key="s3cr3t-access-key", base_url=target, timeout=2)
        assert "s3cr3t" not in caught.value.message
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing was even sent
    finally:
        listener.close()


@pytest.mark.pebble
def test_plain_http_in_zerossl_tui_zerossl_api_fails_the_issue_in_one_line(home: Home, pebble_eab: PebbleServer,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    monkeypatch.setenv("ZEROSSL_TUI_ZEROSSL_API", f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        home.run("provider", "add", "zerossl", "--directory", pebble_eab.directory, "--ca-bundle",
                 str(pebble_eab.ca_bundle), "--api-key", "s3cr3t-access-key", check=True)
        home.run("add", "z", "-d", "z.example.test", "--provider", "zerossl", "--http-port",
                 str(pebble_eab.http_port), "--http-bind", "127.0.0.1", check=True)
        done = home.run("issue", "z")
        assert done.returncode != 0
        assert "https" in done.stderr and "s3cr3t" not in done.stdout + done.stderr, done.stderr
        listener.settimeout(0.5)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
