"""The cheap path of a signed ACME request: the JWS built with the C JSON encoder, and the POST handed
straight to the connection pool's adapter; GETs too (an ARI pass sends thousands of them).

Measured on a bulk ``renew`` (bench/README.md, issue 14): per order, about a third of our CPU went to
``requests.Session.request`` around the socket work (merging session and request settings, cookie jars,
hooks, redirect checks: the same answer every time for a POST to the CA) and to josepy building each JWS
through its field machinery with ``indent=2`` (which forces Python's pure-Python JSON encoder). What is sent
is the same: the same headers, a JWS with the same protected header (alg, kid, nonce, url), signed by the
same josepy algorithm; the answer is the same ``requests.Response``, and connection errors are the same
``requests`` exceptions (the adapter raises them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import josepy as jose
import requests
from requests.cookies import extract_cookies_to_jar, get_cookie_header
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict


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
         timeout: float, verify: str | bool, proxies: Mapping[str, str]) -> requests.Response:
    """POST ``data`` to ``url`` over ``session``'s adapter: ``Session.request`` without its per-request
    settings merge (the session's headers and cookies are still sent, cookies the CA sets are still kept).
    Redirects are not followed: a signed POST names its URL in the JWS, so a CA cannot redirect one."""
    body = data.encode() if isinstance(data, str) else data
    request = _prepared(session, "POST", url, headers, body)
    request.headers["Content-Length"] = str(len(body))
    return _send(session, request, timeout=timeout, verify=verify, proxies=proxies)


def get(session: requests.Session, url: str, headers: Mapping[str, str], *,
        timeout: float, verify: str | bool, proxies: Mapping[str, str]) -> requests.Response | None:
    """GET ``url`` the same way (the ARI look-ups of a pass over thousands of certificates); None when the
    answer is a redirect, which the caller then sends the usual way (``requests`` follows it)."""
    response = _send(session, _prepared(session, "GET", url, headers, None), timeout=timeout, verify=verify,
                     proxies=proxies)
    return None if response.is_redirect else response


def _prepared(session: requests.Session, method: str, url: str, headers: Mapping[str, str], body: bytes | None
              ) -> PreparedRequest:
    request = PreparedRequest()
    request.method, request.url, request.body = method, url, body
    request.headers = CaseInsensitiveDict(session.headers)  # type: ignore[arg-type]  # str values here
    request.headers.update(headers)
    jar = session.cookies
    if jar and (cookie := get_cookie_header(jar, request)):
        request.headers["Cookie"] = cookie
    return request


def _send(session: requests.Session, request: PreparedRequest, *, timeout: float, verify: str | bool,
          proxies: Mapping[str, str]) -> requests.Response:
    adapter = session.get_adapter(str(request.url))
    response: requests.Response = adapter.send(request, stream=False, timeout=timeout, verify=verify,
                                               cert=None, proxies=dict(proxies))
    if "set-cookie" in response.headers:
        extract_cookies_to_jar(session.cookies, request, response.raw)
    _ = response.content  # read the body now, as Session.send does without stream
    return response
