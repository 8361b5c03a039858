"""A round-robin TCP balancer on loopback, in front of a fleet's http-01 responders: each connection goes to
the next host that accepts it, as a health-checking load balancer would. Used by the fleet tests and by
bench/fleet.py."""

from __future__ import annotations

import socket
import threading
from collections import Counter


class Balancer:
    """Round-robin TCP balancer: each connection goes to the next backend that accepts it."""

    def __init__(self, port: int, backends: list[int]) -> None:
        self.backends = backends
        self.sent: Counter[int] = Counter()
        self._next = 0
        self._sock = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Balancer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Balancer:
        """Start accepting (``with`` does it too)."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting and close the listening socket."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        start, self._next = self._next, self._next + 1
        for offset in range(len(self.backends)):  # each backend once, from this connection's turn on
            port = self.backends[(start + offset) % len(self.backends)]
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                continue  # that host is down: like a health-checking balancer, try the next one
            self.sent[port] += 1
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
            _pipe(client, upstream)
            return
        client.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
