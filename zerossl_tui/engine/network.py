"""ACME plumbing: a signing HTTP client that survives bad nonces, and the one place where library and
network errors become the product's typed errors.

``AcmeNetwork`` is ``acme.client.ClientNetwork`` with: a bounded retry over fresh nonces (the library
retries ``badNonce`` once, and CAs reject good nonces now and then: Pebble 5% by default), the JWS
algorithm picked from the account key, TLS verification always on (a private CA is trusted through a
``ca_bundle`` file, never by switching checks off), a timeout on every request, and the HTTP status and
Retry-After of every problem document kept on the raised error.
"""

from __future__ import annotations

import os
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import josepy as jose
import requests
from acme import client as acme_client
from acme import errors as acme_errors
from acme import messages

from ..core.clock import SYSTEM_CLOCK, Clock
from ..core.errors import (
    AccountDoesNotExist,
    AcmeProblem,
    CaUnreachable,
    EabRequired,
    OperationError,
    RateLimited,
    Subproblem,
    UsageError,
    ZtError,
)
from .keys import key_type_of

REQUEST_TIMEOUT = 30
NONCE_TRIES = 20  # at 50% rejection, 10 tries still lost ~1 order in 5 of 10 names
USER_AGENT = "zerossl-tui (+acme-python)"
_ALGORITHMS = {"ec256": jose.ES256, "ec384": jose.ES384}


def signing_key(key_pem: bytes) -> tuple[jose.JWK, jose.JWASignature]:
    """The JWK of an account key and the JWS algorithm that goes with it (ES256, ES384 or RS256)."""
    return jose.JWK.load(key_pem), _ALGORITHMS.get(key_type_of(key_pem), jose.RS256)


def tls_verify(ca_bundle: str) -> str | bool:
    """What requests' ``verify`` gets: the bundle path when one is set (it must exist), else True."""
    if not ca_bundle:
        return True
    if not os.path.isfile(ca_bundle):
        raise UsageError(f"ca_bundle {ca_bundle} is not a file: give the PEM file of the CA to trust")
    return ca_bundle


class AcmeNetwork(acme_client.ClientNetwork):
    """A ClientNetwork that retries bad nonces, signs with the right algorithm and keeps Retry-After."""

    def __init__(
        self,
        key_pem: bytes | None,
        *,
        verify: str | bool = True,
        timeout: int = REQUEST_TIMEOUT,
        nonce_tries: int = NONCE_TRIES,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(user_agent=USER_AGENT, timeout=timeout)
        self.verify_ssl = verify  # type: ignore[assignment]  # requests takes a bundle path too
        self.nonce_tries = max(1, nonce_tries)
        self.nonce_retries = 0
        self.clock = clock
        if key_pem is not None:
            self.use_key(key_pem)

    def use_key(self, key_pem: bytes) -> None:
        """Sign from now on with ``key_pem`` (after a key rollover, or for a revocation by cert key)."""
        self.key, self.alg = signing_key(key_pem)

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        """POST a signed request; on ``badNonce`` try again with a fresh nonce, up to ``nonce_tries``."""
        for attempt in range(1, self.nonce_tries + 1):
            try:
                return self._post_once(*args, **kwargs)
            except messages.Error as error:
                if error.code != "badNonce" or attempt == self.nonce_tries:
                    raise
                self.nonce_retries += 1
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_response(  # type: ignore[override]
        self, response: requests.Response, content_type: str | None = None
    ) -> requests.Response:
        """The library's check, plus: keep the nonce of an error answer (saves a round trip on the
        retry) and put the HTTP status and Retry-After seconds on a raised problem document."""
        if not response.ok and self.REPLAY_NONCE_HEADER in response.headers:
            try:
                self._add_nonce(response)
            except acme_errors.NonceError:
                pass
        try:
            if response.status_code == 409 and "Location" not in response.headers:
                _raise_problem(response)  # e.g. alreadyReplaced; the library would drop the document
            return super()._check_response(response, content_type=content_type)
        except messages.Error as error:
            error.http_status = response.status_code
            error.retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock.now())
            raise


def _raise_problem(response: requests.Response) -> None:
    """Raise the problem document of an error answer, when it is one."""
    try:
        body = response.json()
    except ValueError:
        return
    if isinstance(body, dict) and isinstance(body.get("type"), str):
        try:
            problem = messages.Error.from_json(body)
        except jose.DeserializationError:
            return
        raise problem


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def host_of(url: str) -> str:
    """``host[:port]`` of a URL: enough to name the server, never a path or query that may hold secrets."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the CA"
    return f"{parts.hostname}{port}" if parts.hostname else "the CA"


def problem_from(error: messages.Error, prefix: str = "") -> AcmeProblem:
    """A problem document as the right AcmeProblem subclass; ``prefix`` goes before the detail."""
    typ = str(error.typ or "about:blank")
    detail = prefix + (error.detail or error.title or "")
    status = int(getattr(error, "http_status", 0) or 0)
    name = typ.rsplit(":", 1)[-1]
    if name == "rateLimited":
        return RateLimited(detail, getattr(error, "retry_after", None), status or 429)
    subproblems = tuple(_subproblem(sp) for sp in error.subproblems or ())
    kind = {"externalAccountRequired": EabRequired, "accountDoesNotExist": AccountDoesNotExist}
    return kind.get(name, AcmeProblem)(typ, detail, subproblems, status)


def _subproblem(error: messages.Error) -> Subproblem:
    identifier = error.identifier.value if error.identifier is not None else ""
    return Subproblem(str(error.typ or ""), error.detail or "", identifier)


def translate_error(exc: BaseException, url: str = "") -> ZtError:
    """The product error for anything the ACME library or the network raised; ``url`` names the server
    when the exception does not. Messages name the host only, never a full URL, key or token."""
    if isinstance(exc, ZtError):
        return exc
    if isinstance(exc, messages.Error):
        return problem_from(exc)
    host = host_of(_url_of(exc) or url)
    if isinstance(exc, requests.exceptions.SSLError):
        return CaUnreachable(
            f"TLS check of {host} failed (its certificate is not trusted): "
            "for a private CA set ca_bundle to its PEM file; otherwise check the system clock and CA store"
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return CaUnreachable(f"{host} did not answer in time: check the network, or try again later")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return CaUnreachable(f"cannot connect to {host}: check the directory URL, DNS, proxy and firewall")
    if isinstance(exc, acme_errors.ConflictError):
        return OperationError(f"{host} reported a conflict with an existing resource")
    if isinstance(exc, acme_errors.ClientError):
        return CaUnreachable(_not_acme_message(exc, host))
    if isinstance(exc, requests.exceptions.RequestException | jose.DeserializationError | acme_errors.Error):
        return CaUnreachable(f"{host} answered with something that is not ACME: check the directory URL")
    return OperationError(f"unexpected {type(exc).__name__} talking to {host}")


def _url_of(exc: BaseException) -> str:
    request = getattr(exc, "request", None)
    response = getattr(exc, "response", None)
    if response is None and exc.args and isinstance(exc.args[0], requests.Response):
        response = exc.args[0]
    if response is not None and getattr(response, "url", None):
        return str(response.url)
    return str(getattr(request, "url", "") or "")


def _not_acme_message(exc: BaseException, host: str) -> str:
    response = exc.args[0] if exc.args and isinstance(exc.args[0], requests.Response) else None
    if response is None:
        return f"{host} answered with something that is not ACME: check the directory URL"
    if response.status_code >= 500:
        return f"{host} answered HTTP {response.status_code}: the CA may be down, try again later"
    status = response.status_code
    return f"{host} answered HTTP {status} with something that is not ACME: check the directory URL"
