"""A fault-injecting HTTPS reverse proxy in front of Pebble: the CA faults that Pebble cannot make itself.

It serves TLS with Pebble's own certificate and key (``pebble-tls.pem`` / ``pebble-tls.key`` in the Pebble
workdir), so the provider's ``ca_bundle`` trusts it unchanged. Every request goes on to Pebble with the
client's ``Host`` header (Pebble checks each JWS ``url`` against it and builds its URLs from it); Pebble's own
``host:port`` is rewritten to the proxy's in bodies and in Location and Link headers all the same. A rule
table answers instead of Pebble, or changes Pebble's answer, per method, path and count:

    proxy.add(Rule("POST", r"^/finalize-order/", answer=respond(500, problem("serverInternal", "boom"))))
    proxy.add(Rule("POST", r"^/my-order/", times=2, answer=respond(503, b"", **{"Retry-After": "1"})))
    proxy.add(Rule("POST", r"^/my-order/", action="reset", times=None))

Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from zerossl_tui.devtools.pebble import PebbleServer

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host",
               "accept-encoding", "proxy-connection", "te", "upgrade"}


@dataclass
class Answer:
    """An HTTP answer: from Pebble (then maybe rewritten by a rule) or made up by a rule."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def with_json(self, data: Any, **headers: str) -> Answer:
        """The same answer with another JSON body (and extra headers)."""
        return Answer(self.status, {**self.headers, **headers}, json.dumps(data).encode())


def problem(kind: str, detail: str, **extra: Any) -> dict[str, Any]:
    """An RFC 7807 problem document of ACME type ``kind``."""
    return {"type": f"urn:ietf:params:acme:error:{kind}", "detail": detail, **extra}


def respond(status: int, body: Any = b"", **headers: str) -> Answer:
    """A made-up answer; a dict or list body is sent as JSON (a problem document when status >= 400)."""
    if isinstance(body, bytes):
        return Answer(status, {"Content-Type": "text/html", **headers}, body)
    kind = "application/problem+json" if status >= 400 else "application/json"
    return Answer(status, {"Content-Type": kind, **headers}, json.dumps(body).encode())


@dataclass
class Rule:
    """What to do with matching requests instead of forwarding them as they are.

    ``action``: "respond" (send ``answer``), "rewrite" (forward, then ``rewrite(answer) -> answer``),
    "reset" (close the connection with a TCP reset, no answer), "hang" (never answer, until the proxy stops
    or ``hang_for`` seconds pass). The rule applies to the matches after the first ``skip``, ``times`` times
    (None: always).
    """

    method: str
    path: str
    action: str = "respond"
    answer: Answer | None = None
    rewrite: Callable[[Answer], Answer] | None = None
    times: int | None = 1
    skip: int = 0
    hang_for: float = 60.0
    matched: int = 0
    fired: int = 0

    def take(self, method: str, path: str) -> bool:
        """True when this request is one the rule acts on (and count it)."""
        if self.method not in ("*", method) or not re.search(self.path, path):
            return False
        self.matched += 1
        if self.matched <= self.skip or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass
class Exchange:
    """One request the proxy saw, and what became of it (an HTTP status, "reset" or "hang")."""

    method: str
    path: str
    outcome: int | str
    at: float = field(default_factory=time.monotonic)


class FaultProxy:
    """The proxy; ``directory`` is what the provider points at instead of Pebble's."""

    def __init__(self, pebble: PebbleServer) -> None:
        self.pebble = pebble
        self.rules: list[Rule] = []
        self.log: list[Exchange] = []
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._upstream = ssl.create_default_context(cafile=str(pebble.ca_bundle))
        self.port = 0

    @property
    def directory(self) -> str:
        return f"https://localhost:{self.port}/dir"

    def start(self) -> FaultProxy:
        server = _Quiet(("127.0.0.1", 0), _handler_for(self))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pebble.workdir / "pebble-tls.pem", self.pebble.workdir / "pebble-tls.key")
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, rule: Rule) -> Rule:
        """Add a rule (the first matching rule that acts wins)."""
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Forward everything unchanged from now on."""
        with self._lock:
            self.rules.clear()

    def forget(self) -> None:
        """Empty the log (say, after setting up)."""
        with self._lock:
            self.log.clear()

    def seen(self, method: str, path: str) -> list[Exchange]:
        """The requests seen for ``method`` and a path matching the regex ``path``."""
        with self._lock:
            return [e for e in self.log if e.method == method and re.search(path, e.path)]

    def _rule_for(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.take(method, path):
                    return rule
        return None

    def _record(self, method: str, path: str, outcome: int | str) -> None:
        with self._lock:
            self.log.append(Exchange(method, path, outcome))

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Send the request on to Pebble and bring back its answer with Pebble's URLs made ours."""
        conn = http.client.HTTPSConnection("localhost", self.pebble.port, context=self._upstream, timeout=30)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
            out = {k: self._ours(v) for k, v in reply.getheaders() if k.lower() not in HOP_HEADERS}
            return Answer(reply.status, out, self._ours(data.decode()).encode() if data else b"")
        finally:
            conn.close()

    def _ours(self, text: str) -> str:
        for host in ("localhost", "127.0.0.1"):
            text = text.replace(f"{host}:{self.pebble.port}", f"localhost:{self.port}")
        return text


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = -1  # one write per answer (flushed by http.server): no Nagle/delayed-ACK stalls

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            """Quiet."""

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._handle()

        def do_POST(self) -> None:  # noqa: N802
            self._handle()

        def do_HEAD(self) -> None:  # noqa: N802
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            rule = proxy._rule_for(self.command, self.path)
            action = rule.action if rule else "forward"
            if action == "reset":
                proxy._record(self.command, self.path, "reset")
                self._reset()
                return
            if action == "hang":
                proxy._record(self.command, self.path, "hang")
                proxy.released.wait(rule.hang_for if rule else 0)
                self.close_connection = True
                return
            if rule is not None and action == "respond":
                assert rule.answer is not None
                answer = rule.answer
            else:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                headers["Host"] = self.headers.get("Host", f"localhost:{proxy.port}")
                answer = proxy.forward(self.command, self.path, headers, body)
                if rule is not None and rule.rewrite is not None:
                    answer = rule.rewrite(answer)
            proxy._record(self.command, self.path, answer.status)
            self._send(answer)

        def _send(self, answer: Answer) -> None:
            self.send_response(answer.status)
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

        def _reset(self) -> None:
            """Close with SO_LINGER 0: the client gets a TCP reset instead of an answer."""
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # The file objects hold the socket open: close them too, so the RST goes out now, before
                # http.server's own shutdown(SHUT_WR) would send a polite FIN.
                self.rfile.close()
                self.wfile.close()
                self.connection.close()
            except OSError:
                pass

    return Handler


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (after a reset, a hang) is not news."""
