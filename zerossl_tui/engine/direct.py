"""A run's requests to its CA over ``http.client`` directly: kept-alive connections, nothing around them.

Measured on a bulk ``renew`` (bench/README.md, issue 14): once requests' session layer was skipped, urllib3's
layers around ``http.client`` (its pool bookkeeping, target re-encoding, header and response wrappers) were
still about a third of the CPU of a request to the CA, seven requests per order. ``http.client`` does the
HTTP here, as it does under urllib3: the request line and headers, the status line, the header limits
(count and length), chunked and fixed-length bodies. What this module adds is only what urllib3 added on top
of it: TLS set up by urllib3's own ``create_urllib3_context`` with the same CA bundle and hostname check; a
connection the CA closed while idle is never written to (urllib3's ``wait_for_read`` check); and each failure
becomes the ``requests`` exception the adapter raised for it, with the words ``network`` reads in it.

A request it does not take (through a proxy, without TLS checks) is left to the caller (``send`` returns None).
Answers are asked for without content coding (``Accept-Encoding: identity``), so no body is ever inflated.
"""

from __future__ import annotations

import http.client
import os
import ssl
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_encoding_from_headers
from urllib3.exceptions import ProtocolError
from urllib3.util.ssl_ import create_urllib3_context
from urllib3.util.wait import wait_for_read

Key = tuple[str, str, int, str]  # scheme, host, port, trust


class Connections:
    """The kept-alive connections of one run, per origin and trust; at most ``idle`` idle ones per origin."""

    def __init__(self, idle: int = 16) -> None:
        self.idle = max(1, idle)
        self._idle: dict[Key, list[http.client.HTTPConnection]] = {}
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._guard = threading.Lock()

    def send(self, request: PreparedRequest, *, timeout: float, verify: str | bool,
             proxies: Mapping[str, str]) -> requests.Response | None:
        """Send ``request`` and read the whole answer; None when a proxy is set or TLS is not checked."""
        parts = urlsplit(str(request.url))
        if verify is False or proxies or parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        key = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), str(verify))
        conn = self._take(key) or self._open(key, verify, timeout, request)
        target = parts.path or "/"
        target += f"?{parts.query}" if parts.query else ""
        try:
            answer, body = _exchange(conn, request, target, timeout)
        except BaseException:
            conn.close()
            raise
        self._give_back(key, conn)
        return _response(request, answer, body)

    def close(self) -> None:
        """Close every idle connection."""
        with self._guard:
            idle, self._idle = list(self._idle.values()), {}
        for conns in idle:
            for conn in conns:
                conn.close()

    def _take(self, key: Key) -> http.client.HTTPConnection | None:
        conns = self._idle.get(key)
        while conns:
            try:
                conn = conns.pop()
            except IndexError:  # another thread took the last one
                return None
            if conn.sock is not None and not wait_for_read(conn.sock, timeout=0.0):
                return conn
            conn.close()  # closed by the CA while idle (or it sent something unasked): never written to
        return None

    def _give_back(self, key: Key, conn: http.client.HTTPConnection) -> None:
        conns = self._idle.get(key)
        if conns is None:
            with self._guard:
                conns = self._idle.setdefault(key, [])
        if conn.sock is None or len(conns) >= self.idle:  # the CA closed it (Connection: close), or enough kept
            conn.close()
        else:
            conns.append(conn)

    def _open(self, key: Key, verify: str | bool, timeout: float, request: PreparedRequest
              ) -> http.client.HTTPConnection:
        scheme, host, port, _ = key
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context(verify))
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()
        except BaseException as error:
            conn.close()
            raise _connect_error(error, key, timeout, request) from None
        return conn

    def _context(self, verify: str | bool) -> ssl.SSLContext:
        """urllib3's TLS settings, trusting ``verify`` (a bundle file or folder) or requests' default bundle."""
        where = verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
        context = self._contexts.get(where)
        if context is None:
            context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
            if os.path.isdir(where):
                context.load_verify_locations(capath=where)
            else:
                context.load_verify_locations(cafile=where)
            self._contexts[where] = context
        return context


def _exchange(conn: http.client.HTTPConnection, request: PreparedRequest, target: str, timeout: float
              ) -> tuple[http.client.HTTPResponse, bytes]:
    """One request and its whole answer, each failure raised as requests raises it."""
    headers = dict(request.headers or {})
    headers["Accept-Encoding"] = "identity"
    try:
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        conn.request(str(request.method), target, body=request.body, headers=headers)
        answer = conn.getresponse()
        return answer, answer.read()
    except TimeoutError:
        raise requests.exceptions.ReadTimeout(f"{conn.host}:{conn.port}: Read timed out. (read timeout={timeout})",
                                              request=request) from None
    except ssl.SSLError as error:
        raise requests.exceptions.SSLError(error, request=request) from None
    except http.client.IncompleteRead as error:  # the body broke off
        raise requests.exceptions.ConnectionError(ProtocolError(f"Connection broken: {error!r}", error),
                                                  request=request) from None
    except (OSError, http.client.HTTPException) as error:
        raise requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", error),
                                                  request=request) from None


def _connect_error(error: BaseException, key: Key, timeout: float, request: PreparedRequest) -> BaseException:
    where = f"{key[1]}:{key[2]}"
    if isinstance(error, TimeoutError):
        return requests.exceptions.ConnectTimeout(f"{where}: connection timed out (connect timeout={timeout})",
                                                  request=request)
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        return requests.exceptions.SSLError(error, request=request)
    if isinstance(error, OSError):
        return requests.exceptions.ConnectionError(f"{where}: Failed to establish a new connection: {error}",
                                                   request=request)
    return error


def _response(request: PreparedRequest, answer: http.client.HTTPResponse, body: bytes) -> requests.Response:
    """The answer as requests builds it; repeated headers joined by ", " as urllib3 joins them."""
    fields: dict[str, str] = {}
    names: dict[str, str] = {}  # lower-case name -> the name as first seen
    for name, value in answer.getheaders():
        first = names.setdefault(name.lower(), name)
        fields[first] = f"{fields[first]}, {value}" if first in fields else value
    response = requests.Response()
    response.status_code, response.reason = answer.status, answer.reason
    response.headers = CaseInsensitiveDict(fields)
    response.encoding = _encoding(fields.get(names.get("content-type", ""), ""), response.headers)
    response._content = body
    response.url, response.request = str(request.url), request
    response.raw = _Raw(answer)
    return response


def _encoding(content_type: str, headers: CaseInsensitiveDict[str]) -> str | None:
    """requests' ``get_encoding_from_headers``, without parsing the parameters when no charset is named."""
    if "charset" in content_type.lower():
        return get_encoding_from_headers(headers)
    main = content_type.split(";")[0]
    if not main:
        return None
    return "ISO-8859-1" if "text" in main else "utf-8" if "application/json" in main else None


class _Raw:
    """Stands for urllib3's answer where requests reads the cookies a server set (``extract_cookies_to_jar``)."""

    def __init__(self, answer: http.client.HTTPResponse) -> None:
        self._original_response = answer
