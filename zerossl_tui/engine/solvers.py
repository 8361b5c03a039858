"""http-01 challenge solvers: a built-in responder, or files in an existing web server's root.

A solver is started once, then ``present`` and ``cleanup`` are called per token; one started responder
can serve the tokens of several orders at once (they are keyed by token), so concurrent orders on the same
port share it. Both are context managers: ``with Http01Responder(80) as solver: ...``.
"""

from __future__ import annotations

import errno
import io
import os
import re
import socket
import socketserver
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, Self

from ..core.errors import OperationError, UsageError

CHALLENGE_PATH = "/.well-known/acme-challenge/"
MAX_CONNECTIONS = 64  # threads of the built-in responder at most, whatever clients do
REQUEST_DEADLINE = 10.0  # seconds a client may take to send its whole request
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")


class Solver(Protocol):
    """What the order flow needs from an http-01 solver."""

    def start(self) -> None:
        """Get ready to serve tokens (bind the port, check the web root)."""

    def stop(self) -> None:
        """Stop serving and release what ``start`` took."""

    def present(self, domain: str, token: str, key_authorization: str) -> None:
        """Make ``http://DOMAIN/.well-known/acme-challenge/TOKEN`` answer ``key_authorization``."""

    def cleanup(self, domain: str, token: str) -> None:
        """Stop answering for ``token``."""


class _ContextSolver:
    """``with solver:`` starts it and always stops it."""

    def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def check_token(token: str) -> str:
    """Refuse a token that is not base64url (it becomes a file name and a URL path)."""
    if not TOKEN_RE.fullmatch(token or ""):
        raise OperationError("the CA sent a challenge token that is not base64url; refusing to use it")
    return token


TokenLookup = Callable[[str], str | None]


class _Tokens(dict[str, bytes]):
    """Tokens presented here and, on a miss, whatever ``lookup`` finds (tokens that other hosts of a fleet
    presented in the shared database: the CA's request may reach any host)."""

    def __init__(self, lookup: TokenLookup | None = None) -> None:
        super().__init__()
        self.lookup = lookup

    def get(self, token: str, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        found = super().get(token)
        if found is None and self.lookup is not None:
            key_authorization = self.lookup(token)
            found = key_authorization.encode("ascii") if key_authorization else None
        return default if found is None else found


class _Server(ThreadingHTTPServer):
    """One thread per connection, at most MAX_CONNECTIONS of them: when all are taken, the oldest
    connection is dropped for the new one (a validation takes milliseconds, so the oldest is the one
    trickling bytes to hold a thread), and no request may take longer than REQUEST_DEADLINE to arrive."""

    daemon_threads = True
    request_queue_size = 64  # Pebble validates from 3 places at once; a backlog of 5 drops connections
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, tokens: dict[str, bytes]):
        self.address_family = family
        self.tokens = tokens
        self.request_deadline = REQUEST_DEADLINE
        self._active: dict[socket.socket, None] = {}  # in order of arrival
        self._active_lock = threading.Lock()
        super().__init__(address, _ChallengeHandler, bind_and_activate=False)
        try:
            if family == socket.AF_INET6 and not address[0]:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            self.server_bind()
            self.server_activate()
        except BaseException:
            self.server_close()
            raise

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the address (slow where DNS is broken)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        """Start the connection's thread, dropping the oldest connection first when all are taken."""
        with self._active_lock:
            if len(self._active) >= MAX_CONNECTIONS:
                oldest = next(iter(self._active))
                del self._active[oldest]
                _drop(oldest)
            self._active[request] = None
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection, then give its place back."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._active_lock:
                self._active.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that hangs up or times out is no error of ours, and the engine never prints."""


def _drop(conn: socket.socket) -> None:
    """End a connection from outside its thread: its blocked read returns at once."""
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _DeadlineReader(io.RawIOBase):
    """A socket's input that ends with TimeoutError at ``deadline`` however slowly bytes trickle in (a
    per-read timeout alone lets one byte every few seconds hold a connection forever)."""

    def __init__(self, conn: socket.socket, deadline: float) -> None:
        self._conn = conn
        self._deadline = deadline

    def readable(self) -> bool:
        """Yes."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Read what has arrived, waiting no later than the deadline."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request did not arrive in time")
        self._conn.settimeout(left)
        return self._conn.recv_into(buffer)


class _ChallengeHandler(BaseHTTPRequestHandler):
    """Answers GET/HEAD for presented tokens; 404 for everything else, 405 for other methods."""

    server: _Server
    server_version = "zerossl-tui"
    sys_version = ""
    timeout = 10  # a client that stalls must not hold a thread forever

    def setup(self) -> None:
        """Read the request through a reader with the server's deadline."""
        super().setup()
        self.rfile.close()  # the plain reader: closed, or the socket would stay open after the request
        deadline = time.monotonic() + self.server.request_deadline
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, deadline))

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        token = path[len(CHALLENGE_PATH):] if path.startswith(CHALLENGE_PATH) else ""
        body = self.server.tokens.get(token) if TOKEN_RE.fullmatch(token) else None
        if body is None:
            self._send(404, b"not found\n", with_body)
        else:
            self._send(200, body, with_body)

    def _send(self, status: int, body: bytes, with_body: bool) -> None:
        self.connection.settimeout(self.timeout)  # the read deadline may have left only an instant
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _refuse(self) -> None:
        self.connection.settimeout(self.timeout)
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base class signature
        """Quiet: the engine never writes to stderr."""


class Http01Responder(_ContextSolver):
    """The built-in http-01 responder on ``port`` (all addresses, IPv6 and IPv4, when ``bind`` is empty)."""

    def __init__(self, port: int, bind: str = "", lookup: TokenLookup | None = None) -> None:
        self.port = port
        self.bind = bind
        self._tokens: dict[str, bytes] = _Tokens(lookup)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen on the port and serve in a background thread; a second call does nothing."""
        if self._server is not None:
            return
        self._server = self._listen()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"http-01 responder :{self.port}", daemon=True,
        )
        self._thread.start()

    def _listen(self) -> _Server:
        try:
            return self._bind_server()
        except PermissionError:
            raise OperationError(
                f"no permission to listen on port {self.port}: run as root (or grant "
                "CAP_NET_BIND_SERVICE), set http_port to a port above 1023 that port 80 is forwarded to, "
                "or use webroot with your web server"
            ) from None
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OperationError(
                    f"port {self.port} is in use by another program (a web server?): stop it, set http_port "
                    "to a free port that port 80 is forwarded to, or use webroot with that web server"
                ) from None
            where = f"{self.bind}:{self.port}" if self.bind else f"port {self.port}"
            raise OperationError(f"cannot listen on {where}: {exc.strerror or exc}") from None

    def _bind_server(self) -> _Server:
        if self.bind and ":" not in self.bind:
            return _Server((self.bind, self.port), socket.AF_INET, self._tokens)
        if not socket.has_ipv6:
            return _Server(("", self.port), socket.AF_INET, self._tokens)
        try:
            return _Server((self.bind, self.port), socket.AF_INET6, self._tokens)
        except OSError as exc:
            if self.bind or exc.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                raise
            return _Server(("", self.port), socket.AF_INET, self._tokens)

    def stop(self) -> None:
        """Stop serving and close the socket (the port is free again when this returns)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=2)

    @property
    def running(self) -> bool:
        """True between ``start`` and ``stop``."""
        return self._server is not None

    def present(self, domain: str, token: str, key_authorization: str) -> None:
        """Answer ``key_authorization`` for ``token`` (on any host name)."""
        self._tokens[check_token(token)] = key_authorization.encode("ascii")

    def cleanup(self, domain: str, token: str) -> None:
        """Forget ``token``."""
        self._tokens.pop(token, None)


class WebrootSolver(_ContextSolver):
    """Writes tokens to ``<webroot>/.well-known/acme-challenge/`` for a web server that is already running.

    Token files are removed in ``cleanup``; the folders stay, because other orders sharing the web root may
    be writing into them at the same moment."""

    def __init__(self, webroot: str) -> None:
        self.webroot = webroot

    def start(self) -> None:
        """Check that the web root exists."""
        self._root()

    def stop(self) -> None:
        """Nothing to release."""

    def present(self, domain: str, token: str, key_authorization: str) -> None:
        """Write the token file (0644) atomically, inside the web root only."""
        target = self._challenge_dir() / check_token(token)
        fd, tmp = tempfile.mkstemp(prefix=".zt-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(key_authorization.encode("ascii"))
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            _unlink(Path(tmp))
            raise

    def cleanup(self, domain: str, token: str) -> None:
        """Remove the token file (only inside the web root)."""
        folder = Path(self.webroot, ".well-known", "acme-challenge").resolve()
        if TOKEN_RE.fullmatch(token or "") and folder.is_relative_to(Path(self.webroot).resolve()):
            _unlink(folder / token)

    def _root(self) -> Path:
        root = Path(self.webroot)
        if not root.is_dir():
            raise UsageError(
                f"webroot {self.webroot} does not exist or is not a folder: create it, or fix the "
                "certificate's webroot setting (the folder your web server serves for this domain)"
            )
        return root.resolve()

    def _challenge_dir(self) -> Path:
        """``.well-known/acme-challenge`` inside the root; each level is checked before the next is made, so
        that nothing is ever created where a symbolic link leads outside the root."""
        root = self._root()
        folder = root
        for part in (".well-known", "acme-challenge"):
            folder = self._inside(root, folder / part)
        return folder

    def _inside(self, root: Path, folder: Path) -> Path:
        if not os.path.lexists(folder):
            folder.mkdir(mode=0o755)
            os.chmod(folder, 0o755)  # whatever the umask: the web server must read it
        real = folder.resolve()
        if not real.is_dir() or not real.is_relative_to(root):
            raise OperationError(
                f"{folder} leads outside the webroot {self.webroot} (a symbolic link?): not writing there"
            )
        return real


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
