"""ACME plumbing: a signing HTTP client that survives bad nonces, and the one place where library and
network errors become the product's typed errors.

``AcmeNetwork`` is ``acme.client.ClientNetwork`` with: a bounded retry over fresh nonces (the library
retries ``badNonce`` once, and CAs reject good nonces now and then: Pebble 5% by default), the JWS
algorithm picked from the account key, TLS verification always on (a private CA is trusted through a
``ca_bundle`` file, never by switching checks off), a timeout on every request, and the HTTP status and
Retry-After of every problem document kept on the raised error.

It also rides out passing trouble: a busy answer (HTTP 502, 503, 504) is sent again after the CA's
Retry-After (or a growing wait), and a broken connection (reset, refused) is sent again when doing so cannot
change anything at the CA (GET, HEAD, POST-as-GET). Every such wait goes through ``pause``, which the session
cuts short on cancel and refuses past the order's deadline.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, cast
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
    DeadlineExceeded,
    EabRequired,
    OperationError,
    RateLimited,
    Subproblem,
    UsageError,
    ZtError,
)
from .keys import key_type_of
from .transport import kid_jws

REQUEST_TIMEOUT = 30
NONCE_TRIES = 20  # at 50% rejection, 10 tries still lost ~1 order in 5 of 10 names
BUSY_STATUSES = frozenset({502, 503, 504})
BUSY_TRIES = 5  # busy answers in a row before giving up on a request
BUSY_WAIT = 1.0  # first wait when a busy CA gives no Retry-After; doubles each time
MAX_PAUSE = 120.0  # longest wait outside an order (an order's own deadline bounds it otherwise)
RESET_WAITS = (0.5, 1.0)  # before sending a safe request again over a new connection

Pause = Callable[[float, str], bool]  # (seconds, why) -> True once it waited, False to give up (raise)
USER_AGENT = "zerossl-tui (+acme-python)"
RATE_LIMITED = "urn:ietf:params:acme:error:rateLimited"
_ALGORITHMS = {"ec256": jose.ES256, "ec384": jose.ES384}


@functools.lru_cache(maxsize=16)
def signing_key(key_pem: bytes) -> tuple[jose.JWK, jose.JWASignature]:
    """An account key's JWK and JWS algorithm (ES256, ES384, RS256), kept for the run's next order."""
    return jose.JWK.load(key_pem), _ALGORITHMS.get(key_type_of(key_pem), jose.RS256)


def tls_verify(ca_bundle: str) -> str | bool:
    """What requests' ``verify`` gets: the bundle path when one is set (it must exist), else True."""
    if not ca_bundle:
        return True
    if not os.path.isfile(ca_bundle):
        raise UsageError(f"ca_bundle {ca_bundle} is not a file: give the PEM file of the CA to trust")
    return ca_bundle


class CaBusy(acme_errors.ClientError):
    """A 502, 503 or 504 answer: the CA cannot serve now; it may say when to come back (``retry_after`` s)."""

    def __init__(self, response: requests.Response, retry_after: float | None, detail: str) -> None:
        super().__init__(response)
        self.status = response.status_code
        self.retry_after = retry_after
        self.detail = detail
        self.url = str(response.url or "")

    def describe(self, host: str) -> str:
        """One line: who answered what, and when it asked us to come back."""
        detail = f": {self.detail}" if self.detail else ""
        later = f" and asked to come back in {self.retry_after:.0f} s" if self.retry_after else ""
        return f"{host} answered HTTP {self.status} (unavailable{detail}){later}"


def _default_pause(seconds: float, why: str) -> bool:
    """Outside a session: wait (up to MAX_PAUSE) and send again."""
    return seconds <= MAX_PAUSE and not threading.Event().wait(seconds)


class AcmeNetwork(acme_client.ClientNetwork):
    """A ClientNetwork that retries bad nonces, busy answers and broken connections; keeps Retry-After."""

    def __init__(
        self,
        key_pem: bytes | None,
        *,
        verify: str | bool = True,
        timeout: float = REQUEST_TIMEOUT,
        nonce_tries: int = NONCE_TRIES,
        clock: Clock = SYSTEM_CLOCK,
        pause: Pause = _default_pause,
        remaining: Callable[[], float | None] = lambda: None,
        session: requests.Session | None = None,
    ) -> None:
        if session is None:
            super().__init__(user_agent=USER_AGENT, timeout=timeout)  # type: ignore[arg-type]  # float works
        else:  # the library's attributes without a Session of its own (~1 ms per order of a bulk renew)
            self.key, self.account, self.alg, self._nonces = None, None, jose.RS256, set()
            self.user_agent, self.session, self._default_timeout = USER_AGENT, session, timeout  # type: ignore[assignment]
        self.remaining = remaining
        self.verify_ssl = verify  # type: ignore[assignment]  # requests takes a bundle path too
        self.nonce_tries = max(1, nonce_tries)
        self.nonce_retries = 0
        self.clock = clock
        self.pause = pause
        if key_pem is not None:
            self.use_key(key_pem)

    def use_key(self, key_pem: bytes) -> None:
        """Sign from now on with ``key_pem`` (after a key rollover, or for a revocation by cert key)."""
        self.key, self.alg = signing_key(key_pem)

    def post(self, url: str, obj: Any, *args: Any, **kwargs: Any) -> requests.Response:
        """POST a signed request, each try with a fresh nonce: again on ``badNonce`` (up to ``nonce_tries``),
        after a busy answer, and after a broken connection when ``obj`` is None (POST-as-GET)."""
        return self._retrying(lambda: self._post_once(url, obj, *args, **kwargs), safe=obj is None)

    def get(self, url: str, content_type: str = acme_client.ClientNetwork.JSON_CONTENT_TYPE,
            **kwargs: Any) -> requests.Response:
        """GET and check the answer, again after a busy answer or a broken connection."""
        send = super().get
        return self._retrying(lambda: send(url, content_type=content_type, **kwargs), safe=True)

    def _send_request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        """Send one request, never waiting past the order's deadline: the timeout is the smaller of the
        request timeout and the time the order has left, so the deadline is hard."""
        left = self.remaining()
        if left is None or left >= self._default_timeout:
            return self._transmit(method, url, *args, **kwargs)
        if left <= 0:
            raise DeadlineExceeded(f"gave up talking to {host_of(url)}: the per-order deadline passed "
                                   "(renewal order_timeout)")
        try:
            return self._transmit(method, url, *args, timeout=left, **kwargs)
        except requests.exceptions.Timeout:
            raise DeadlineExceeded(f"{host_of(url)} did not answer before the per-order deadline "
                                   "(renewal order_timeout)") from None

    def _transmit(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        """Hand one request to the HTTP layer (``SharedNetwork`` has a cheaper path for POSTs)."""
        return super()._send_request(method, url, *args, **kwargs)

    def _wrap_in_jws(self, obj: jose.JSONDeSerializable, nonce: str, url: str) -> str:
        """The signed body: built here when signed by the account (``kid``), else by the library (a new
        account, a revocation by the certificate's key: a ``jwk`` header). ``nonce`` is really bytes."""
        if self.account is None or self.key is None:
            return super()._wrap_in_jws(obj, nonce, url)
        return kid_jws(self.key, self.alg, str(self.account.uri), cast(bytes, nonce), url, obj)

    def _retrying(self, send: Callable[[], requests.Response], safe: bool) -> requests.Response:
        bad_nonces = troubles = 0
        while True:
            try:
                return send()
            except messages.Error as error:
                if error.code != "badNonce" or bad_nonces + 1 >= self.nonce_tries:
                    raise
                bad_nonces += 1
                self.nonce_retries += 1
            except (CaBusy, requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
                troubles += 1
                wait = _retry_wait(error, troubles, safe)
                if wait is None or not self.pause(wait, _retry_reason(error, wait)):
                    raise

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
        if response.status_code in BUSY_STATUSES:
            raise CaBusy(response, parse_retry_after(response.headers.get("Retry-After"), self.clock.now()),
                         _problem_detail(response))
        try:
            if response.status_code == 409 and "Location" not in response.headers:
                _raise_problem(response)  # e.g. alreadyReplaced; the library would drop the document
            if response.status_code == 429:  # a gateway's page rather than the CA's problem: still a limit
                _raise_problem(response)
                raise messages.Error(typ=RATE_LIMITED, detail=f"{host_of(str(response.url or ''))} answered "
                                     "HTTP 429 (too many requests)")
            return super()._check_response(response, content_type=content_type)
        except messages.Error as error:
            error.http_status = response.status_code
            error.retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock.now())
            raise


def _retry_wait(error: Exception, troubles: int, safe: bool) -> float | None:
    """Seconds to wait before sending again after ``error`` (the ``troubles``-th in a row); None: give up.

    A busy answer is sent again whatever the request: a 503 was not served, and a gateway's 502/504 that was
    can be repeated in ACME (a second order, an answered challenge, ``orderNotReady`` on finalize). A broken
    connection leaves no way to know, so only requests that change nothing are sent again."""
    if isinstance(error, CaBusy):
        if troubles >= BUSY_TRIES:
            return None
        return error.retry_after if error.retry_after is not None else BUSY_WAIT * 2 ** (troubles - 1)
    if isinstance(error, requests.exceptions.SSLError | requests.exceptions.ConnectTimeout):
        return None  # a trust problem does not pass, and a connect timeout already waited long
    request = getattr(error, "request", None)
    resendable = safe or getattr(request, "method", "") in ("GET", "HEAD")  # e.g. the newNonce HEAD
    if not resendable or troubles > len(RESET_WAITS):
        return None
    return RESET_WAITS[troubles - 1]


def _retry_reason(error: Exception, wait: float) -> str:
    """What the journal says about a retry."""
    host = host_of(_url_of(error))
    if isinstance(error, CaBusy):
        detail = f": {error.detail}" if error.detail else ""
        asked = " as it asked" if error.retry_after is not None else ""
        return f"{host} answered HTTP {error.status} (unavailable{detail}): sending again in {wait:g} s{asked}"
    return f"the connection to {host} was {_cause(error)}: sending again in {wait:g} s"


_CAUSES = (("connection reset", "reset"), ("connection refused", "refused"),
           ("remote end closed", "closed"), ("connection aborted", "aborted"), ("connection broken", "broken"))


def _cause(error: BaseException) -> str:
    """What happened to the connection, in one word: reset, refused, closed, aborted, broken; "" if unknown.
    (Over TLS a TCP reset usually reads as ``closed``: Python's ssl takes it for an end of stream.)"""
    text = str(error).lower()
    return next((word for marker, word in _CAUSES if marker in text), "")


def _problem_detail(response: requests.Response) -> str:
    """The detail of a problem document in an error answer, or ""."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return " ".join(body["detail"].split())[:200]
    return ""


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
        wait = getattr(error, "retry_after", None)
        if wait:
            detail = f"{detail.rstrip('.')} (the CA asks to wait {duration(wait)} before trying again)"
        return RateLimited(detail, wait, status or 429)
    subproblems = tuple(_subproblem(sp) for sp in error.subproblems or ())
    kind = {"externalAccountRequired": EabRequired, "accountDoesNotExist": AccountDoesNotExist}
    return kind.get(name, AcmeProblem)(typ, detail, subproblems, status)


def duration(seconds: float) -> str:
    """A wait in the unit people use for it: ``45 s``, ``12 min``, ``3 h``, ``2 days``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _subproblem(error: messages.Error) -> Subproblem:
    identifier = error.identifier.value if error.identifier is not None else ""
    return Subproblem(str(error.typ or ""), error.detail or "", identifier)


def translate_error(exc: BaseException, url: str = "", *, reached: bool = False) -> ZtError:
    """The product error for anything the ACME library or the network raised; ``url`` names the server
    when the exception does not; ``reached``: the CA answered earlier in this session (so a refused
    connection means it went down, not a wrong URL). Messages name the host only, never a full URL, key or
    token."""
    if isinstance(exc, ZtError):
        return exc
    if isinstance(exc, messages.Error):
        return problem_from(exc)
    host = host_of(_url_of(exc) or url)
    if isinstance(exc, CaBusy):
        return CaUnreachable(f"{exc.describe(host)}: the CA is down or overloaded, try again later")
    if isinstance(exc, requests.exceptions.SSLError):
        return CaUnreachable(
            f"TLS check of {host} failed (its certificate is not trusted): "
            "for a private CA set ca_bundle to its PEM file; otherwise check the system clock and CA store"
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return CaUnreachable(f"cannot connect to {host} in time: check the network, proxy and firewall")
    if isinstance(exc, requests.exceptions.Timeout):
        return CaUnreachable(f"{host} did not answer in time (renewal request_timeout): the CA may be "
                             "overloaded, try again later")
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return _broken_connection(exc, host, reached)
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        return CaUnreachable(f"{host} sent a malformed answer (not valid JSON): the CA may be having trouble, "
                             "try again later")
    if isinstance(exc, acme_errors.ConflictError):
        return OperationError(f"{host} reported a conflict with an existing resource")
    if isinstance(exc, acme_errors.ClientError):
        return CaUnreachable(_not_acme_message(exc, host))
    if isinstance(exc, requests.exceptions.RequestException | jose.DeserializationError | acme_errors.Error):
        return CaUnreachable(f"{host} answered with something that is not ACME: check the directory URL")
    return OperationError(f"unexpected {type(exc).__name__} talking to {host}")


def _broken_connection(exc: BaseException, host: str, reached: bool) -> CaUnreachable:
    cause = _cause(exc)
    if reached and cause == "refused":
        return CaUnreachable(f"cannot connect to {host} any more (it answered a moment ago): "
                             "the CA went down, try again later")
    if cause in ("refused", ""):
        return CaUnreachable(f"cannot connect to {host}: check the directory URL, DNS, proxy and firewall")
    return CaUnreachable(f"the connection to {host} was {cause} before the CA answered: "
                         "the CA or the network is having trouble, try again later")


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
