"""Readers of other ACME clients' stores (certbot, lego, acme.sh), producing ``core.imported`` data.

They only read: nothing in the other client's folder is ever changed.
"""

from __future__ import annotations

from pathlib import Path

from ...core.errors import UsageError
from ...core.imported import ForeignStore
from .common import Unreadable

CLIENTS = ("certbot", "lego", "acme.sh")
DEFAULT_PATHS = {"certbot": "/etc/letsencrypt", "lego": "~/.lego", "acme.sh": "~/.acme.sh"}


def read_store(client: str, path: str = "") -> ForeignStore:
    """What ``client``'s store at ``path`` (default: the client's usual folder) holds; UsageError when the
    folder is not such a store."""
    from . import acmesh, certbot, lego

    readers = {"certbot": certbot.read_store, "lego": lego.read_store, "acme.sh": acmesh.read_store}
    if client not in readers:
        raise UsageError(f"cannot import from {client!r}: give one of {', '.join(CLIENTS)}")
    folder = Path(path or DEFAULT_PATHS[client]).expanduser()
    try:
        return readers[client](folder)
    except Unreadable as exc:
        raise UsageError(str(exc)) from None
