"""One built-in http-01 responder per (address, port), shared by every order running in this process.

Renewing twenty certificates at once that all answer on port 80 must not make twenty listeners fight for the
port: each order borrows the shared listener, presents its own tokens, and the last one out closes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.errors import StorageError

if TYPE_CHECKING:
    from ..core.interfaces import ChallengeStore
    from ..engine.solvers import Http01Responder, Solver

_lock = threading.Lock()
_shared: dict[tuple[str, int], tuple[Http01Responder, int]] = {}
# Token lookups (a fleet daemon's challenge store) that the listener on (bind, port) consults for tokens it
# was not given itself: the CA's request may reach this host for an order another host runs.
_lookups: dict[tuple[str, int], list[Callable[[str], str | None]]] = {}


def _find(key: tuple[str, int], token: str) -> str | None:
    with _lock:
        lookups = list(_lookups.get(key, ()))
    for lookup in lookups:
        try:
            found = lookup(token)
        except StorageError:
            continue  # the database is away: this token is unknown here for now
        if found:
            return found
    return None


class SharedResponder:
    """A Solver that borrows the process-wide responder for (bind, port) between start() and stop()."""

    def __init__(self, port: int, bind: str = "", lookup: Callable[[str], str | None] | None = None) -> None:
        self.key = (bind, port)
        self.lookup = lookup
        self._responder: Http01Responder | None = None
        self._tokens: list[tuple[str, str]] = []

    def start(self) -> None:
        """Borrow (and, if first, open) the listener."""
        from ..engine.solvers import Http01Responder

        with _lock:
            responder, users = _shared.get(self.key, (None, 0))
            if responder is None:
                key = self.key
                responder = Http01Responder(key[1], key[0], lookup=lambda token: _find(key, token))
                responder.start()
            _shared[self.key] = (responder, users + 1)
            if self.lookup is not None:
                _lookups.setdefault(self.key, []).append(self.lookup)
            self._responder = responder

    def stop(self) -> None:
        """Withdraw this order's tokens and give the listener back (the last user closes it)."""
        for domain, token in list(self._tokens):
            self.cleanup(domain, token)
        with _lock:
            if self.lookup is not None and self.lookup in _lookups.get(self.key, []):
                _lookups[self.key].remove(self.lookup)
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


class PublishedTokens:
    """A solver whose tokens are also put in the challenge store before the CA is told to look: in a fleet
    every host's responder answers them, and webroot hosts write them into their own web root."""

    def __init__(self, inner: Solver | SharedResponder, store: ChallengeStore, order_id: int = 0) -> None:
        self.inner = inner
        self.store = store
        self.order_id = order_id  # a fleet prunes the tokens of finished orders that a dead host left behind

    def start(self) -> None:
        """Start the inner solver."""
        self.inner.start()

    def stop(self) -> None:
        """Stop the inner solver."""
        self.inner.stop()

    def present(self, domain: str, token: str, key_authorization: str) -> None:
        """Publish the token, then present it locally."""
        self.store.present_token(token, key_authorization, self.order_id)
        self.inner.present(domain, token, key_authorization)

    def cleanup(self, domain: str, token: str) -> None:
        """Withdraw the token locally and from the store (a store that is away forgets it later)."""
        self.inner.cleanup(domain, token)
        try:
            self.store.remove_token(token)
        except StorageError:
            pass  # a stale token answers nothing the CA still asks for
