"""Alternate certificate chains (RFC 8555 section 7.4.2): a CA may offer the same certificate under several
chains, as ``Link: <URL>;rel="alternate"`` on the certificate URL. A chain is named, as certbot, lego and
acme.sh name it, by the common name of its topmost issuer: the root (or cross-signer) the chain leads to.

Pure helpers for ``issue.IssueFlow``; nothing here talks to the network.
"""

from __future__ import annotations

import requests
from requests.utils import parse_header_links

from . import keys


def alternate_urls(response: requests.Response) -> list[str]:
    """The URLs of the alternate chains a certificate download offers, in the CA's order."""
    # requests' ``response.links`` keeps one link per rel: several alternates would overwrite each other.
    header = response.headers.get("Link", "")
    if not header:
        return []
    links = parse_header_links(header)
    return [link["url"] for link in links if link.get("rel") == "alternate" and link.get("url")]


def top_issuer(fullchain_pem: bytes) -> str:
    """The common name of the issuer of the chain's topmost certificate ("" when it has none)."""
    blocks = keys.split_pem_certs(fullchain_pem)
    if not blocks:
        return ""
    return keys.issuer_of(blocks[-1])


def matches(issuer: str, preferred: str) -> bool:
    """True when a chain's topmost issuer is the preferred one (case and outer spaces do not matter)."""
    return bool(preferred) and issuer.strip().casefold() == preferred.strip().casefold()
