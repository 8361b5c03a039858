"""The http-01 solvers face the internet: hostile requests to the built-in responder and hostile tokens or
folders for the webroot solver. Extends tests/test_engine_solvers.py (which covers the basic 404s, POST/PUT/
DELETE, a `../` token and a symlinked acme-challenge folder) with raw requests and more escapes.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from zerossl_tui.core.errors import OperationError
from zerossl_tui.devtools.pebble import free_port
from zerossl_tui.engine.solvers import Http01Responder, WebrootSolver

TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
KEY_AUTH = TOKEN + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
SECRET_FILE_TEXT = "not for the internet"


@pytest.fixture
def responder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Http01Responder]:
    solver = Http01Responder(free_port(), "127.0.0.1")
    monkeypatch.chdir(tmp_path)  # a file server would serve from here: make sure there is something to steal
    (tmp_path / "secret.txt").write_text(SECRET_FILE_TEXT)
    with solver:
        solver.present("a.example.test", TOKEN, KEY_AUTH)
        yield solver


def raw(port: int, request: bytes) -> tuple[int, bytes]:
    """Send ``request`` byte for byte (no client normalises the path) and return (status, whole answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer


def get(port: int, target: str, method: str = "GET") -> tuple[int, bytes]:
    return raw(port, f"{method} {target} HTTP/1.1\r\nHost: a.example.test\r\nConnection: close\r\n\r\n".encode())


@pytest.mark.parametrize("target", [
    f"/.well-known/acme-challenge/%2e%2e/acme-challenge/{TOKEN}",
    f"/.well-known/acme-challenge/%2E%2E/acme-challenge/{TOKEN}",
    "/.well-known/acme-challenge/%2e%2e/%2e%2e/secret.txt",
    "/.well-known/acme-challenge/..%2f..%2fsecret.txt",
    "/.well-known/acme-challenge/%252e%252e/secret.txt",
    "/.well-known/acme-challenge/..\\..\\secret.txt",
    "/.well-known/acme-challenge/../../secret.txt",
    "/secret.txt",
    "//secret.txt",
    "/.well-known/acme-challenge/.",
    "/.well-known/acme-challenge/..",
    f"/.well-known/acme-challenge/{TOKEN}%00",
    f"/.well-known/acme-challenge/{TOKEN}/",
    f"/.well-known/acme-challenge/{TOKEN[:-1]}",
    "/.well-known/",
    "/.well-known/acme-challenge",
    "http://a.example.test/secret.txt",
])
def test_raw_traversal_and_listing_attempts_get_404_and_nothing_else(responder: Http01Responder,
                                                                      target: str) -> None:
    status, answer = get(responder.port, target)
    assert status == 404, answer
    assert SECRET_FILE_TEXT.encode() not in answer and KEY_AUTH.encode() not in answer
    assert answer.endswith(b"\r\n\r\nnot found\n")  # no listing, no echo of the path


@pytest.mark.parametrize("method", ["PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "FOO"])
def test_methods_other_than_get_and_head_are_refused(responder: Http01Responder, method: str) -> None:
    status, answer = get(responder.port, f"/.well-known/acme-challenge/{TOKEN}", method)
    assert status in (405, 501), answer
    assert KEY_AUTH.encode() not in answer


def test_garbage_and_oversized_requests_get_an_error_not_a_crash(responder: Http01Responder) -> None:
    for request in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",  # TLS hello
                    b"GET " + b"/a" * 40_000 + b" HTTP/1.1\r\n\r\n",
                    b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n"):
        status, _ = raw(responder.port, request)
        assert status in (0, 400, 414, 431)
    assert get(responder.port, f"/.well-known/acme-challenge/{TOKEN}")[0] == 200  # still serving


def test_idle_connections_do_not_block_validation(responder: Http01Responder) -> None:
    """A few clients that connect and say nothing (slowloris) must not stop the CA's request."""
    idle = [socket.create_connection(("127.0.0.1", responder.port), timeout=5) for _ in range(30)]
    try:  # a responder stuck on the idle ones would leave this GET unanswered past raw()'s 5 s
        status, answer = get(responder.port, f"/.well-known/acme-challenge/{TOKEN}")
        assert status == 200 and answer.endswith(KEY_AUTH.encode())
    finally:
        for sock in idle:
            sock.close()


# -- webroot ----------------------------------------------------------------------------------------------

def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every path under ``folder`` with its content (or link target)."""
    out: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        out[key] = os.readlink(path) if path.is_symlink() else path.read_bytes() if path.is_file() else "dir"
    return out


@pytest.mark.parametrize("token", ["a/b", "../x", "..", ".", "", "a\\b", "a b", "tok\x00en", "t\u00f6ken",
                                   "%2e%2e", "/etc/passwd", "a\nb", "~root", "$(touch x)"])
def test_webroot_refuses_tokens_that_are_not_base64url_and_writes_nothing(tmp_path: Path, token: str) -> None:
    root = tmp_path / "www"
    root.mkdir()
    before = snapshot(tmp_path)
    with pytest.raises(OperationError, match="base64url"):
        WebrootSolver(str(root)).present("a.example.test", token, "x")
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k not in before} in ({}, {"www/.well-known": "dir",
                                                                       "www/.well-known/acme-challenge": "dir"})


def test_webroot_refuses_a_symlinked_well_known_folder_outside_the_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "www", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / ".well-known").symlink_to(outside)
    with pytest.raises(OperationError, match="outside the webroot"):
        WebrootSolver(str(root)).present("a.example.test", TOKEN, KEY_AUTH)
    assert snapshot(outside) in ({}, {"acme-challenge": "dir"})
    assert not list(outside.rglob(TOKEN))


def test_webroot_replaces_a_planted_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    """Someone who can write the challenge folder plants TOKEN -> a file of ours: it must not be touched."""
    root, victim = tmp_path / "www", tmp_path / "victim.conf"
    folder = root / ".well-known" / "acme-challenge"
    folder.mkdir(parents=True)
    victim.write_text("precious")
    (folder / TOKEN).symlink_to(victim)
    solver = WebrootSolver(str(root))
    solver.present("a.example.test", TOKEN, KEY_AUTH)
    assert victim.read_text() == "precious"
    assert not (folder / TOKEN).is_symlink() and (folder / TOKEN).read_text() == KEY_AUTH
    (folder / TOKEN).unlink()
    (folder / TOKEN).symlink_to(victim)
    solver.cleanup("a.example.test", TOKEN)
    assert victim.read_text() == "precious"


def test_webroot_cleanup_ignores_hostile_tokens(tmp_path: Path) -> None:
    root = tmp_path / "www"
    (root / ".well-known" / "acme-challenge").mkdir(parents=True)
    keep = tmp_path / "keep.txt"
    keep.write_text("x")
    for token in ("../../../keep.txt", "/" + str(keep), "..", ""):
        WebrootSolver(str(root)).cleanup("a.example.test", token)
    assert keep.read_text() == "x"
