"""One built-in http-01 responder per (address, port), shared by every order running in this process.

Renewing twenty certificates at once that all answer on port 80 must not make twenty listeners fight for the
port: each order borrows the shared listener, presents its own tokens, and the last one out closes it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine.solvers import Http01Responder

_lock = threading.Lock()
_shared: dict[tuple[str, int], tuple[Http01Responder, int]] = {}


class SharedResponder:
    """A Solver that borrows the process-wide responder for (bind, port) between start() and stop()."""

    def __init__(self, port: int, bind: str = "") -> None:
        self.key = (bind, port)
        self._responder: Http01Responder | None = None
        self._tokens: list[tuple[str, str]] = []

    def start(self) -> None:
        """Borrow (and, if first, open) the listener."""
        from ..engine.solvers import Http01Responder

        with _lock:
            responder, users = _shared.get(self.key, (None, 0))
            if responder is None:
                responder = Http01Responder(self.key[1], self.key[0])
                responder.start()
            _shared[self.key] = (responder, users + 1)
            self._responder = responder

    def stop(self) -> None:
        """Withdraw this order's tokens and give the listener back (the last user closes it)."""
        for domain, token in list(self._tokens):
            self.cleanup(domain, token)
        with _lock:
            responder, users = _shared.get(self.key, (None, 0))
            if responder is None:
                return
            if users <= 1:
                del _shared[self.key]
                responder.stop()
            else:
                _shared[self.key] = (responder, users - 1)
        self._responder = None

    def present(self, domain: str, token: str, key_authorization: str) -> None:
        """Serve ``key_authorization`` at the token's path."""
        assert self._responder is not None, "start() first"
        self._tokens.append((domain, token))
        self._responder.present(domain, token, key_authorization)

    def cleanup(self, domain: str, token: str) -> None:
        """Stop serving the token."""
        if self._responder is not None:
            self._responder.cleanup(domain, token)
        if (domain, token) in self._tokens:
            self._tokens.remove((domain, token))

    def __enter__(self) -> SharedResponder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
