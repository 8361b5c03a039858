"""The cheap path of a bulk run's requests (engine/transport.py: the request handed straight to the urllib3
pool requests' adapter picked) on the wire: a real server on loopback answers the way CAs and the proxies
in front of them do (kept-alive and closed connections, chunked and gzip bodies, repeated headers, cut-off
answers, redirects), and Pebble's TLS is checked against its bundle. What a user would notice: answers read
whole and right, a connection the CA closed never reused into a failed order, and every failure named as
the requests path named it."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from helpers import started_pebble

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.engine import transport
from zerossl_tui.engine.network import translate_error
from zerossl_tui.engine.pool import SharedCA, SharedNetwork

Handler = Callable[[BaseHTTPRequestHandler], None]
Serve = Callable[[Handler], "Server"]


class Server:
    """An HTTP/1.1 server on loopback whose answers are ``handler``; counts the connections it accepted."""

    def __init__(self, handler: Handler) -> None:
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                handler(self)

            do_POST = do_HEAD = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                """Quiet."""

        class _Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[socket.socket, object]:
                owner.connections += 1
                return super().get_request()

            def shutdown_request(self, request: object) -> None:
                super().shutdown_request(request)  # type: ignore[arg-type]
                owner.closed.set()

        self.connections = 0
        self.closed = threading.Event()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Server]]:
    servers: list[Server] = []

    def start(handler: Handler) -> Server:
        servers.append(Server(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def answer(status: int, body: bytes = b"", **headers: str) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.rfile.read(int(request.headers.get("Content-Length") or 0))
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name.replace("_", "-"), value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)
    return handle


class Client:
    """A run's session (engine/pool.py), sending either through urllib3's pool or over http.client directly."""

    def __init__(self, direct: bool) -> None:
        self.shared = SharedCA(4)
        self.session = self.shared.http
        self.direct = self.shared.direct if direct else None

    def post(self, url: str, data: bytes = b"{}") -> requests.Response:
        return transport.post(self.session, url, data, {"Content-Type": "application/jose+json"}, timeout=5,
                              verify=True, proxies={}, direct=self.direct)

    def get(self, url: str, timeout: float = 5, verify: str | bool = True) -> requests.Response:
        request = transport.prepared(self.session, "GET", url, {}, None)
        return transport.send(self.session, request, timeout=timeout, verify=verify, proxies={}, direct=self.direct)


@pytest.fixture(params=["urllib3", "http.client"])
def client(request: pytest.FixtureRequest) -> Iterator[Client]:
    made = Client(direct=request.param == "http.client")
    yield made
    made.shared.close()


def test_answers_come_back_whole_over_one_kept_alive_connection(serve: Serve, client: Client) -> None:
    server = serve(answer(201, b'{"status": "pending"}', Content_Type="application/json", Replay_Nonce="abc",
                          Location="/order/1"))
    responses = [client.post(f"{server.url}/new-order") for _ in range(5)]
    assert [(r.status_code, r.json(), r.headers["replay-nonce"], r.headers["Location"]) for r in responses] == \
        [(201, {"status": "pending"}, "abc", "/order/1")] * 5
    assert responses[0].url == f"{server.url}/new-order" and responses[0].encoding == "utf-8"
    assert server.connections == 1, "every request opened a connection: nothing was kept alive"


def test_a_connection_the_server_closed_while_idle_is_not_reused(serve: Serve, client: Client) -> None:
    """A CA (or its load balancer) closes idle connections without saying so beforehand: the next request
    must go over a new connection, not fail an order with a 'closed' connection."""
    def then_close(request: BaseHTTPRequestHandler) -> None:
        answer(200, b"{}")(request)
        request.close_connection = True  # no "Connection: close" header: the client learns it from the socket

    server = serve(then_close)
    assert client.post(server.url + "/a").status_code == 200
    assert server.closed.wait(5)
    assert client.post(server.url + "/b").status_code == 200
    assert server.connections == 2


def test_chunked_gzip_body_and_repeated_headers_read_as_requests_reads_them(
        serve: Serve, client: Client) -> None:
    chain = b"-----BEGIN CERTIFICATE-----\n" + b"A" * 5000 + b"\n-----END CERTIFICATE-----\n"

    def chunked(request: BaseHTTPRequestHandler) -> None:
        coded = "gzip" in request.headers.get("Accept-Encoding", "")  # as asked: http.client's way asks for none
        packed = gzip.compress(chain) if coded else chain
        request.send_response(200)
        request.send_header("Content-Type", "application/pem-certificate-chain")
        request.send_header("Content-Encoding", "gzip" if coded else "identity")
        request.send_header("Transfer-Encoding", "chunked")
        request.send_header("Link", '<https://ca.test/cert/1/1>;rel="alternate"')
        request.send_header("Link", '<https://ca.test/dir>;rel="index"')
        request.end_headers()
        for start in range(0, len(packed), 700):
            part = packed[start:start + 700]
            request.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        request.wfile.write(b"0\r\n\r\n")

    server = serve(chunked)
    response = client.post(server.url + "/cert/1")
    assert response.content == chain
    assert response.headers["link"] == '<https://ca.test/cert/1/1>;rel="alternate", <https://ca.test/dir>;rel="index"'
    assert response.links["alternate"]["url"] == "https://ca.test/cert/1/1"


def test_an_answer_cut_off_is_a_broken_connection(serve: Serve, client: Client) -> None:
    def cut(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "100")
        request.end_headers()
        request.wfile.write(b'{"status": ')
        request.close_connection = True

    server = serve(cut)
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        client.post(server.url + "/order/1")
    assert "was broken before the CA answered" in translate_error(caught.value).message


def test_a_refused_connection_is_named_refused(client: Client) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        client.post(f"http://127.0.0.1:{port}/dir")
    assert translate_error(caught.value).message.startswith(f"cannot connect to 127.0.0.1:{port}: check")


def test_no_answer_within_the_timeout_is_a_read_timeout(serve: Serve, client: Client) -> None:
    release = threading.Event()

    def late(request: BaseHTTPRequestHandler) -> None:
        release.wait(10)
        answer(200)(request)

    server = serve(late)
    with pytest.raises(requests.exceptions.ReadTimeout) as caught:
        client.get(server.url + "/dir", timeout=0.3)
    release.set()
    assert "did not answer in time" in translate_error(caught.value).message


def test_a_redirected_get_is_followed_by_requests(serve: Serve) -> None:
    """(The run's network sends a GET the cheap way; on a redirect it sends it again through requests.)"""
    def moved(request: BaseHTTPRequestHandler) -> None:
        if request.path == "/directory":
            answer(301, Location="/dir")(request)
        else:
            answer(200, b'{"newNonce": "x"}', Content_Type="application/json")(request)

    server = serve(moved)
    shared = SharedCA(4, server.url)
    response = SharedNetwork(None, shared).get(server.url + "/directory")
    assert response.json() == {"newNonce": "x"} and response.url == server.url + "/dir"
    shared.close()


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    server = started_pebble(tmp_path_factory.mktemp("pebble-transport"))
    yield server
    server.stop()


def test_tls_is_checked_against_the_bundle(pebble: PebbleServer, client: Client) -> None:
    directory = client.get(pebble.directory, timeout=10, verify=str(pebble.ca_bundle))
    assert "newOrder" in directory.json()
    with pytest.raises(requests.exceptions.SSLError) as caught:
        client.get(pebble.directory, timeout=10)  # the public roots do not know Pebble's CA
    assert "TLS check of" in translate_error(caught.value).message
