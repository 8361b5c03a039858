"""Orders: the messages acme 5.x lacks, and pure readings of what the CA sent back.

Pure helpers for ``session.AcmeSession``; nothing here talks to the network.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

import josepy as jose
import requests
from acme import challenges, messages
from cryptography.hazmat.primitives import hashes

from ..core.domains import is_ip_identifier
from ..core.errors import AcmeProblem, CaUnreachable, OperationError
from ..core.models import CertInfo
from . import keys
from .network import host_of, parse_retry_after, problem_from

FIRST_POLL = 0.02
MAX_POLL = 1.0
POLL_GROWTH = 1.5


@dataclass(frozen=True)
class Issued:
    """A downloaded certificate: the CA's full chain, split into leaf and chain; ``chain_issuer`` is the
    common name of the topmost issuer of the chain that was chosen (see ``chains``)."""

    fullchain_pem: bytes
    cert_pem: bytes
    chain_pem: bytes
    order_url: str
    chain_issuer: str = ""
    info: CertInfo | None = None  # what the leaf says, once checked (``check_issued``)


class RenewalWindow(NamedTuple):
    """An ARI answer: the suggested window, the CA's explanation URL and its Retry-After (seconds)."""

    start: datetime
    end: datetime
    explanation_url: str
    retry_after: float | None


class NewOrderWithReplaces(messages.NewOrder):
    """newOrder with ARI's ``replaces`` (RFC 9773 section 5), which acme 5.x lacks."""

    replaces: str = jose.field("replaces", omitempty=True)


@dataclass(frozen=True)
class Http01Challenge:
    """One pending authorization's http-01 challenge, ready to present and answer."""

    authz_url: str
    domain: str
    token: str
    challenge: messages.ChallengeBody
    response: challenges.ChallengeResponse
    key_authorization: str


def new_order(domains: Sequence[str], profile: str = "", replaces: str = "") -> NewOrderWithReplaces:
    """The newOrder body: DNS identifiers (``ip`` ones for IP addresses, RFC 8738), and
    ``profile``/``replaces`` only when given."""
    identifiers = tuple(identifier(d) for d in domains)
    return NewOrderWithReplaces(identifiers=identifiers, profile=profile, replaces=replaces)


def identifier(name: str) -> messages.Identifier:
    """The ACME identifier of a normalised name: ``ip`` for an IP address, else ``dns``."""
    kind = messages.IDENTIFIER_IP if is_ip_identifier(name) else messages.IDENTIFIER_FQDN
    return messages.Identifier(typ=kind, value=name)


def http01_challenge(authz_url: str, authz: messages.Authorization, account_key: jose.JWK,
                     kind: str = "http-01") -> Http01Challenge:
    """The ``kind`` challenge (http-01, or dns-01 whose ``key_authorization`` is then the TXT value) of an
    authorization; OperationError when the CA offers none."""
    domain = str(authz.identifier.value)
    for challb in authz.challenges:
        if isinstance(challb.chall, challenges.KeyAuthorizationChallenge) and challb.chall.typ == kind:
            response, validation = challb.response_and_validation(cast(jose.JWK, _KnownThumbprint(account_key)))
            token = challb.chall.encode("token")
            return Http01Challenge(authz_url, domain, token, challb, response, str(validation))
    offered = ", ".join(str(c.typ) for c in authz.challenges) or "none"
    raise OperationError(f"{domain}: the CA offers no {kind} challenge (offered: {offered})")


@functools.lru_cache(maxsize=16)
def _thumbprint(key: jose.JWK) -> bytes:
    return bytes(key.thumbprint(hash_function=hashes.SHA256))


class _KnownThumbprint:
    """An account key as the library's challenges use it: only for its thumbprint, which they compute twice
    per challenge (response and validation) and which never changes for one key: computed once here."""

    def __init__(self, key: jose.JWK) -> None:
        self.key = key

    def thumbprint(self, hash_function: Any = hashes.SHA256) -> bytes:
        """The RFC 7638 thumbprint (SHA-256 ones kept)."""
        if hash_function is hashes.SHA256:
            return _thumbprint(self.key)
        return bytes(self.key.thumbprint(hash_function=hash_function))


def refuses_replaces(error: messages.Error) -> bool:
    """True when the CA refused a newOrder because of its ``replaces`` (then order again without it)."""
    # Any refusal of the request itself: the CertID may name a certificate this CA no longer knows
    # (a restarted test CA, another account's order). A real problem recurs on the plain retry.
    kind = str(error.typ or "").rsplit(":", 1)[-1]
    # serverInternal too: Pebble 2.6 cannot find the order of a serial with a leading zero byte.
    return kind in ("alreadyReplaced", "malformed", "unauthorized", "conflict", "serverInternal")


def authorization_problem(domain: str, authz: messages.Authorization) -> AcmeProblem:
    """Why an authorization failed, from its challenge's error, naming the domain."""
    problem = next((problem_from(c.error, prefix=f"{domain}: ") for c in authz.challenges if c.error is not None),
                   None)
    if problem is None:
        status = authz.status.name if authz.status is not None else "unknown"
        problem = AcmeProblem("urn:ietf:params:acme:error:unauthorized", f"{domain}: authorization is {status}")
    problem.validating = domain
    return problem


def order_problem(order: messages.Order) -> AcmeProblem:
    """Why the CA marked an order invalid."""
    if order.error is not None:
        return problem_from(order.error)
    return AcmeProblem("about:blank", "the CA marked the order invalid without saying why")


def retry_after(response: requests.Response, now: datetime) -> float | None:
    """The Retry-After of an answer, in seconds."""
    return parse_retry_after(response.headers.get("Retry-After"), now)


def renewal_window(response: requests.Response, now: datetime) -> RenewalWindow:
    """Read an ARI answer."""
    body = response.json()
    info = messages.RenewalInfo.from_json(body)
    window = info.suggested_window
    return RenewalWindow(window.start, window.end, str(body.get("explanationURL") or ""),
                         retry_after(response, now))


def check_directory(directory: messages.Directory, url: str) -> None:
    """CaUnreachable when what the URL gave is not an ACME directory."""
    body = directory.to_partial_json()
    missing = [k for k in ("newNonce", "newAccount", "newOrder") if not isinstance(body.get(k), str)]
    if missing:
        raise CaUnreachable(f"{host_of(url)} did not answer with an ACME directory (no {missing[0]}): "
                            "check the directory URL")


def check_issued(issued: Issued, public_der: bytes, domains: Sequence[str]) -> CertInfo:
    """Refuse a certificate that is not for our key (``public_der``, its DER SubjectPublicKeyInfo) or does not
    cover our names (DNS names as DNS SANs, IP addresses as IP SANs: ``parse_cert`` reads both, and an IP
    never parses as a DNS name); what the certificate says when it is ours."""
    info = keys.issued_info(issued.cert_pem, public_der)
    if info is None:
        raise OperationError("the CA returned a certificate for a different key: not using it")
    missing = set(domains) - set(info.domains)
    if missing:
        raise OperationError(f"the CA returned a certificate without {', '.join(sorted(missing))}")
    return info
