"""Helpers shared by the importers: reading files read-only, checking a key against its certificate."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...core.domains import normalize_domains
from ...core.errors import OperationError, UsageError
from ...core.imported import DNS_HINT as DNS_HINT
from ..keys import key_matches_cert, key_type_of, parse_cert, split_fullchain

# When the other client's account cannot be taken over, the provider's account here signs the renewals.
NO_ACCOUNT = "the provider's own account is used (one is registered if it has none)"


class Unreadable(Exception):
    """A certificate of the other client that cannot be imported; the message says why."""


MAX_FILE = 1 << 20  # no key, certificate, account or renewal file of another client comes near 1 MiB


def read(path: Path) -> bytes:
    """The bytes of ``path`` (symlinks followed), or Unreadable naming it. Only a regular file of at most
    MAX_FILE bytes is read: a renewal file naming a FIFO or /dev/zero must not hang or fill memory."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"cannot read {path}: not a regular file")
        if info.st_size > MAX_FILE:
            raise Unreadable(f"cannot read {path}: {info.st_size} bytes is too large for a key, certificate or "
                             "settings file")
        with path.open("rb") as handle:
            return handle.read(MAX_FILE)
    except OSError as exc:
        raise Unreadable(f"cannot read {path}: {exc.strerror or exc}") from None


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or Unreadable."""
    try:
        data = json.loads(read(path))
    except ValueError:
        raise Unreadable(f"{path} is not valid JSON") from None
    if not isinstance(data, dict):
        raise Unreadable(f"{path} does not hold a JSON object")
    return data


def pair(key_pem: bytes, fullchain_pem: bytes) -> dict[str, Any]:
    """Key type, names, leaf, chain and full chain of a key and its certificate; Unreadable when the key is
    not supported here or does not belong to the certificate."""
    try:
        key_type = key_type_of(key_pem)
        leaf, chain = split_fullchain(fullchain_pem)
        info = parse_cert(leaf)
        matches = key_matches_cert(key_pem, leaf)
        domains = normalize_domains(list(info.domains), allow_wildcard=True)  # dns-01 is decided later
    except (OperationError, UsageError) as exc:
        raise Unreadable(exc.message) from None
    if not matches:
        raise Unreadable("its private key does not belong to its certificate")
    return {"key_type": key_type, "domains": domains, "key_pem": key_pem, "cert_pem": leaf,
            "chain_pem": chain, "fullchain_pem": leaf + chain}


def port_of(value: str, what: str) -> int:
    """A port number recorded by the other client (``what`` names where), or Unreadable: a renewal file
    edited by hand may hold anything there."""
    try:
        return int(value)
    except ValueError:
        raise Unreadable(f"{what} {value[:60]!r} is not a port number: fix it there, then import again") from None


def host_of(url: str) -> str:
    """``host[:port]`` of a URL ("" when it has none)."""
    return urlsplit(url).netloc


def entry_name(candidate: str) -> str:
    """A certificate name usable here, made from the other client's name: a wildcard's ``*.`` (lego writes
    ``_.``) becomes ``wildcard.``, as names start with a letter or digit, and other characters a name cannot
    hold (spaces, markup, controls) become ``-``."""
    name = candidate.strip()
    name = "wildcard." + name[2:] if name.startswith(("*.", "_.")) else name
    # certbot allows any --cert-name ("my site"): the characters a name cannot hold here become "-", so the
    # lineage is imported under a close name instead of refused with no way to rename it on either side
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-_.")[:64] or name
