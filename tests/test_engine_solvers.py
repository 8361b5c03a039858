"""The built-in http-01 responder and the webroot solver (no CA needed)."""

from __future__ import annotations

import http.client
import os
import socket
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from zerossl_tui.core.errors import OperationError, UsageError
from zerossl_tui.devtools.pebble import free_port
from zerossl_tui.engine.solvers import Http01Responder, WebrootSolver

TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
KEY_AUTH = TOKEN + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"


def _get(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, headers={"Host": "a.example.test"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def responder() -> Iterator[Http01Responder]:
    solver = Http01Responder(free_port(), "127.0.0.1")
    with solver:
        solver.present("a.example.test", TOKEN, KEY_AUTH)
        yield solver


def test_presented_token_is_served(responder: Http01Responder) -> None:
    assert _get(responder.port, f"/.well-known/acme-challenge/{TOKEN}") == (200, KEY_AUTH.encode())


def test_head_answers_without_a_body(responder: Http01Responder) -> None:
    assert _get(responder.port, f"/.well-known/acme-challenge/{TOKEN}", "HEAD") == (200, b"")


@pytest.mark.parametrize("path", [
    "/.well-known/acme-challenge/unknown-token",
    "/.well-known/acme-challenge/",
    f"/.well-known/acme-challenge/../acme-challenge/{TOKEN}",
    "/.well-known/acme-challenge/..%2f..%2fetc%2fpasswd",
    "/../../etc/passwd",
    f"/{TOKEN}",
    "/",
])
def test_anything_but_a_presented_token_is_404(responder: Http01Responder, path: str) -> None:
    assert _get(responder.port, path)[0] == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_are_405(responder: Http01Responder, method: str) -> None:
    assert _get(responder.port, f"/.well-known/acme-challenge/{TOKEN}", method)[0] == 405


def test_cleaned_up_token_is_no_longer_served(responder: Http01Responder) -> None:
    responder.cleanup("a.example.test", TOKEN)
    assert _get(responder.port, f"/.well-known/acme-challenge/{TOKEN}")[0] == 404


def test_three_concurrent_validation_requests_all_succeed(responder: Http01Responder) -> None:
    path = f"/.well-known/acme-challenge/{TOKEN}"
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: _get(responder.port, path), range(3)))
    assert results == [(200, KEY_AUTH.encode())] * 3


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_default_bind_answers_over_ipv4_and_ipv6() -> None:
    with Http01Responder(free_port()) as solver:
        solver.present("a.example.test", TOKEN, KEY_AUTH)
        for host in ("127.0.0.1", "::1"):
            conn = http.client.HTTPConnection(host, solver.port, timeout=5)
            conn.request("GET", f"/.well-known/acme-challenge/{TOKEN}")
            assert conn.getresponse().read() == KEY_AUTH.encode()
            conn.close()


def test_port_in_use_names_the_port_and_the_fixes() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(OperationError) as raised:
            Http01Responder(port, "127.0.0.1").start()
    assert f"port {port} is in use" in raised.value.message
    assert "http_port" in raised.value.message and "webroot" in raised.value.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root may bind port 80")
def test_privileged_port_without_permission_says_how_to_fix() -> None:
    with pytest.raises(OperationError, match="root"):
        Http01Responder(80, "127.0.0.1").start()


def test_stop_frees_the_port_and_a_second_stop_is_harmless() -> None:
    solver = Http01Responder(free_port(), "127.0.0.1")
    solver.start()
    solver.stop()
    solver.stop()
    assert not solver.running
    with socket.socket() as again:
        again.bind(("127.0.0.1", solver.port))  # would fail with EADDRINUSE if still listening


def test_token_that_is_not_base64url_is_refused() -> None:
    with pytest.raises(OperationError, match="base64url"):
        Http01Responder(free_port()).present("a.example.test", "../etc/passwd", "x")


def test_webroot_writes_a_world_readable_token_file_and_removes_it(tmp_path: Path) -> None:
    solver = WebrootSolver(str(tmp_path))
    with solver:
        solver.present("a.example.test", TOKEN, KEY_AUTH)
        path = tmp_path / ".well-known" / "acme-challenge" / TOKEN
        assert path.read_text() == KEY_AUTH
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert [p.name for p in path.parent.iterdir()] == [TOKEN]  # no temporary files left
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
        solver.cleanup("a.example.test", TOKEN)
        assert not path.exists()
    assert list(path.parent.iterdir()) == []  # the folder stays for other orders sharing the web root


def test_two_orders_sharing_a_webroot_do_not_disturb_each_other(tmp_path: Path) -> None:
    first, second = WebrootSolver(str(tmp_path)), WebrootSolver(str(tmp_path))
    with first, second:
        first.present("a.example.test", "token-a", "a.key")
        second.present("b.example.test", "token-b", "b.key")
        first.cleanup("a.example.test", "token-a")
        first.stop()
        folder = tmp_path / ".well-known" / "acme-challenge"
        assert [p.name for p in folder.iterdir()] == ["token-b"]


def test_missing_webroot_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="webroot"):
        WebrootSolver(str(tmp_path / "missing")).start()


def test_webroot_refuses_a_token_that_would_escape(tmp_path: Path) -> None:
    with pytest.raises(OperationError):
        WebrootSolver(str(tmp_path)).present("a.example.test", "../../evil", "x")
    assert not (tmp_path.parent / "evil").exists()


def test_webroot_refuses_a_symlinked_challenge_folder_outside_the_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "www", tmp_path / "elsewhere"
    (root / ".well-known").mkdir(parents=True)
    outside.mkdir()
    (root / ".well-known" / "acme-challenge").symlink_to(outside)
    with pytest.raises(OperationError, match="outside the webroot"):
        WebrootSolver(str(root)).present("a.example.test", TOKEN, KEY_AUTH)
    assert list(outside.iterdir()) == []
