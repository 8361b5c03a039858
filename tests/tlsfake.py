"""An HTTPS stand-in server for tests of clients that refuse plain HTTP (the ZeroSSL API fetch)."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from zerossl_tui.devtools.pebble import _write_tls_files


def serve_https(handler: type[BaseHTTPRequestHandler], folder: Path) -> tuple[ThreadingHTTPServer, str, Path]:
    """(server, ``https://127.0.0.1:PORT``, the CA file that trusts it), serving in a daemon thread; the
    caller shuts the server down."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_tls_files(folder)  # a throw-away CA and a leaf for 127.0.0.1, as Pebble's own HTTPS uses
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "pebble-tls.pem", folder / "pebble-tls.key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"https://127.0.0.1:{server.server_address[1]}", folder / "pebble-ca.pem"
