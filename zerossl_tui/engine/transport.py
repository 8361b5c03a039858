"""The cheap path of an ACME request: the JWS built with the C JSON encoder, and the request sent over
``http.client`` directly (``direct``, kept-alive connections of the run) or, when that does not take it (a
proxy), handed straight to the urllib3 connection pool that requests' adapter picked for the CA.

Measured on a bulk ``renew`` (bench/README.md, issue 14): per order, about a third of our CPU went to
``requests.Session.request`` around the socket work (merging session and request settings, cookie jars,
hooks, redirect checks: the same answer every time for a request to the CA) and to josepy building each JWS
through its field machinery with ``indent=2`` (which forces Python's pure-Python JSON encoder); then, once
that was gone, a third of a request's CPU to the adapter's and urllib3's layers around ``http.client``. What
is sent is the same: the same headers (but ``Accept-Encoding: identity`` on the direct way), a JWS with the
same protected header (alg, kid, nonce, url), signed by the same josepy algorithm; the answer is the same
``requests.Response`` read whole, as ``Session.send`` reads it without ``stream``, and errors become the same
``requests`` exceptions as in ``HTTPAdapter.send``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import josepy as jose
import requests
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar, get_cookie_header
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from urllib3 import exceptions as u3
from urllib3.util import Timeout

from .direct import Connections


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2), as josepy encodes it."""
    return jose.b64.b64encode(data).decode("ascii")


def kid_jws(key: jose.JWK, alg: jose.JWASignature, kid: str, nonce: bytes, url: str,
            obj: jose.JSONDeSerializable | None) -> str:
    """The flattened JWS JSON of a request signed by an account (``kid``), RFC 8555 section 6.2: what
    ``acme.client.ClientNetwork._wrap_in_jws`` sends, without its indentation. ``obj`` None is a
    POST-as-GET (empty payload)."""
    payload = obj.json_dumps().encode() if obj else b""
    header = {"alg": alg.name, "kid": kid, "nonce": b64url(nonce), "url": url}
    protected = b64url(json.dumps(header, separators=(",", ":")).encode())
    encoded = b64url(payload)
    signature = alg.sign(key.key, f"{protected}.{encoded}".encode("ascii"))
    return json.dumps({"protected": protected, "payload": encoded, "signature": b64url(signature)})


def post(session: requests.Session, url: str, data: str | bytes, headers: Mapping[str, str], *,
         timeout: float, verify: str | bool, proxies: Mapping[str, str], direct: Connections | None = None
         ) -> requests.Response:
    """POST ``data`` to ``url`` over ``session``'s adapter (``send``). The session's headers and cookies are
    still sent, cookies the CA sets are still kept. Redirects are not followed: a signed POST names its URL in
    the JWS, so a CA cannot redirect one."""
    body = data.encode() if isinstance(data, str) else data
    request = prepared(session, "POST", url, headers, body)
    request.headers["Content-Length"] = str(len(body))
    return send(session, request, timeout=timeout, verify=verify, proxies=proxies, direct=direct)


def fetch(session: requests.Session, method: str, url: str, headers: Mapping[str, str], *, timeout: float,
          verify: str | bool, proxies: Mapping[str, str], direct: Connections | None = None
          ) -> requests.Response | None:
    """A GET or HEAD (the directory, a fresh nonce, an ARI window) sent the same way; None when the CA
    answers with a redirect: the caller then sends it through requests, which follows redirects for these."""
    response = send(session, prepared(session, method, url, headers, None), timeout=timeout, verify=verify,
                    proxies=proxies, direct=direct)
    return None if response.is_redirect else response


def prepared(session: requests.Session, method: str, url: str, headers: Mapping[str, str], body: bytes | None
             ) -> PreparedRequest:
    """The request as requests would prepare it: the session's headers, then ``headers``, then cookies."""
    request = PreparedRequest()
    request.method, request.url, request.body = method, url, body
    request.headers = CaseInsensitiveDict(session.headers)  # type: ignore[arg-type]  # str values here
    request.headers.update(headers)
    jar = session.cookies
    if jar and (cookie := get_cookie_header(jar, request)):
        request.headers["Cookie"] = cookie
    return request


def send(session: requests.Session, request: PreparedRequest, *, timeout: float, verify: str | bool,
         proxies: Mapping[str, str], direct: Connections | None = None) -> requests.Response:
    """``request`` (its body bytes or None) over ``direct`` when given and it takes the request, else as
    ``HTTPAdapter.send`` sends it; the answer read whole, the cookies it sets kept in the session's jar."""
    response = direct.send(request, timeout=timeout, verify=verify, proxies=proxies) if direct else None
    if response is None:
        response = _adapter_send(session, request, timeout=timeout, verify=verify, proxies=proxies)
    if "set-cookie" in response.headers:
        extract_cookies_to_jar(session.cookies, request, response.raw)
    return response


def _adapter_send(session: requests.Session, request: PreparedRequest, *, timeout: float, verify: str | bool,
                  proxies: Mapping[str, str]) -> requests.Response:
    """``HTTPAdapter.send``, the answer read whole by urllib3."""
    adapter = session.get_adapter(str(request.url))
    assert isinstance(adapter, HTTPAdapter)
    try:
        pool: Any = adapter.get_connection_with_tls_context(request, verify, proxies=dict(proxies), cert=None)
    except u3.LocationValueError as error:
        raise requests.exceptions.InvalidURL(error, request=request) from None
    try:
        raw = pool.urlopen(method=str(request.method), url=_target(adapter, request, proxies), body=request.body,
                           headers=request.headers, redirect=False, assert_same_host=False, preload_content=True,
                           decode_content=True, retries=adapter.max_retries, chunked=False,
                           timeout=Timeout(connect=timeout, read=timeout))
    except (OSError, u3.HTTPError) as error:
        raise as_requests_error(error, request) from None
    response = adapter.build_response(request, raw)
    response._content = raw.data  # what ``Response.content`` would read
    response._content_consumed = True  # type: ignore[attr-defined]
    return response


def _target(adapter: HTTPAdapter, request: PreparedRequest, proxies: Mapping[str, str]) -> str:
    """What goes on the request line (``HTTPAdapter.request_url``; without a proxy, the path and query)."""
    if proxies:
        return adapter.request_url(request, dict(proxies))
    path = request.path_url
    return f"/{path.lstrip('/')}" if path.startswith("//") else path


def as_requests_error(error: Exception, request: PreparedRequest) -> Exception:
    """The ``requests`` exception ``HTTPAdapter.send`` raises for a urllib3 or socket error."""
    exc = requests.exceptions
    if isinstance(error, u3.ProtocolError | OSError | u3.ClosedPoolError):
        return exc.ConnectionError(error, request=request)
    if isinstance(error, u3.MaxRetryError):
        reason = error.reason
        if isinstance(reason, u3.ConnectTimeoutError) and not isinstance(reason, u3.NewConnectionError):
            return exc.ConnectTimeout(error, request=request)
        kinds = ((u3.ResponseError, exc.RetryError), (u3.ProxyError, exc.ProxyError), (u3.SSLError, exc.SSLError))
        kind = next((k for cause, k in kinds if isinstance(reason, cause)), exc.ConnectionError)
        return kind(error, request=request)
    if isinstance(error, u3.ProxyError):
        return exc.ProxyError(error)
    plain: tuple[tuple[type[Exception], type[exc.RequestException]], ...] = (
        (u3.SSLError, exc.SSLError), (u3.ReadTimeoutError, exc.ReadTimeout), (u3.InvalidHeader, exc.InvalidHeader))
    return next((k(error, request=request) for cause, k in plain if isinstance(error, cause)), error)
