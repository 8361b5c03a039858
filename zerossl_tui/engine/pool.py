"""What the concurrent orders of one run share at one CA: kept-alive HTTPS connections, the directory
(fetched once) and the nonces the CA handed out.

Without it every order of a `renew` over 1,000 certificates opened its own connection pool (a TLS
handshake each), fetched the directory again and asked ``newNonce`` for its first request. Each order still
has its own ``AcmeSession`` (its own deadline, cancel and progress), and its own ``SharedNetwork`` object
(its own key and account), but they send over one ``requests.Session`` (thread-safe for this use: one
urllib3 pool, at most ``connections`` sockets) and draw nonces from one set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests
from acme import messages
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from . import transport
from .direct import Connections
from .network import AcmeNetwork

_CHEAP_OPTIONS = frozenset({"data", "headers", "timeout"})
NONCE_FETCH_TRIES = 5  # other orders may take the nonce just fetched: fetch again a few times


class _Adapter(HTTPAdapter):
    """requests' adapter, keeping the connection pool it picked for an origin, and without parsing cookies out
    of answers that set none: each was a few percent of a bulk renew's CPU, the same work for every request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pools: dict[tuple[str, ...], Any] = {}

    def get_connection_with_tls_context(self, request: PreparedRequest, verify: Any, proxies: Any = None,
                                        cert: Any = None) -> Any:
        """The library's pool for the request's origin, TLS settings and proxy; picked once, until closed."""
        url = str(request.url)
        end = url.find("/", url.find("//") + 2)
        key = (url if end < 0 else url[:end], str(verify), str(cert), str(sorted((proxies or {}).items())))
        pool = self._pools.get(key)
        if pool is None or pool.pool is None:  # not picked yet, or closed since (urllib3 empties .pool)
            pool = self._pools[key] = super().get_connection_with_tls_context(request, verify, proxies, cert)
            self.cert_verify(pool, url, verify, cert)  # the bundle is checked once per pool, not per request
        return pool

    def build_response(self, req: PreparedRequest, resp: Any) -> requests.Response:
        """The library's answer; its cookie jar stays empty when the CA sets no cookie."""
        if "set-cookie" in resp.headers:
            return super().build_response(req, resp)
        response = requests.Response()  # what the library builds, but for extract_cookies_to_jar
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw, response.reason = resp, resp.reason
        response.url = req.url.decode("utf-8") if isinstance(req.url, bytes) else str(req.url)
        response.request, response.connection = req, self
        return response


class Pace:
    """How long the CA has lately taken to validate and to issue, so that an order's first poll is sent when
    the answer is likely ready: polling from 20 ms on cost a bulk renew about one wasted poll (a signed
    request) per order. The first poll is sent a little before the recent average, so the estimate follows
    the CA down as well as up; a Retry-After still wins, and later polls grow from there as before."""

    EARLY = 0.9  # the first poll at 90% of the recent time
    WEIGHT = 0.2  # of the newest observation in the running average

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}

    def first_poll(self, what: str, floor: float, ceiling: float) -> float:
        """Seconds to wait before the first poll for ``what`` (``floor`` until something was seen)."""
        seen = self._seconds.get(what)
        return floor if seen is None else min(ceiling, max(floor, self.EARLY * seen))

    def took(self, what: str, seconds: float) -> None:
        """``what`` was found done ``seconds`` after it was asked for (a race between orders loses an
        observation at worst)."""
        old = self._seconds.get(what)
        self._seconds[what] = seconds if old is None else old + self.WEIGHT * (seconds - old)


class SharedCA:
    """The connection pool, directory and nonces of one CA, for the orders of one run."""

    def __init__(self, connections: int = 16, directory_url: str = "") -> None:
        self.http = requests.Session()
        adapter = _Adapter(pool_connections=4, pool_maxsize=max(1, connections))
        self.http.mount("https://", adapter)
        self.http.mount("http://", adapter)
        self.direct = Connections(max(1, connections))  # http.client, kept alive (transport, direct.py)
        # requests reads the proxy variables (and REQUESTS_CA_BUNDLE) from os.environ on EVERY request, a
        # tenth of a bulk renew's CPU (py-spy): read them once, for the CA's URL, and keep them.
        found = self.http.merge_environment_settings(directory_url or None, {}, None, None, None)
        self.http.proxies.update(found.get("proxies") or {})
        self.env_verify = found.get("verify") if isinstance(found.get("verify"), str) else None
        self.http.trust_env = False
        self.nonces: set[str] = set()  # set.add / set.pop are atomic under the GIL
        self._directory: messages.Directory | None = None
        self.pace = Pace()
        self._guard = threading.Lock()

    def directory(self, load: Callable[[], messages.Directory]) -> messages.Directory:
        """The directory, loaded by the first caller (the others wait for it)."""
        with self._guard:
            if self._directory is None:
                self._directory = load()
            return self._directory

    def close(self) -> None:
        """Close the kept-alive connections."""
        self.direct.close()
        self.http.close()


class SharedNetwork(AcmeNetwork):
    """An ``AcmeNetwork`` sending over a ``SharedCA``'s connections and nonce pool."""

    def __init__(self, key_pem: bytes | None, shared: SharedCA, **options: Any) -> None:
        super().__init__(key_pem, session=shared.http, **options)
        if self.verify_ssl is True and shared.env_verify:  # what requests would have read from the environment
            self.verify_ssl = shared.env_verify  # type: ignore[assignment]
        self._nonces = shared.nonces
        self.shared = shared

    def __del__(self) -> None:
        """The library closes its session when the network is collected: not a shared one."""

    def _transmit(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        """A POST (every signed request), GET or HEAD goes the cheap way (``transport``); a call with options
        that way does not know, or a request it does not take, goes through ``requests`` as usual."""
        response = None if args or not set(kwargs) <= _CHEAP_OPTIONS else self._cheap(method, url, kwargs)
        if response is None:
            return super()._transmit(method, url, *args, **kwargs)
        response.encoding = "utf-8"  # what the library sets: the CA's JSON is UTF-8
        return response

    def _cheap(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response | None:
        headers = {"User-Agent": self.user_agent, **(kwargs.get("headers") or {})}
        options: Any = {"timeout": kwargs.get("timeout", self._default_timeout), "verify": self.verify_ssl,
                        "proxies": self.session.proxies, "direct": self.shared.direct}
        if method == "POST":
            return transport.post(self.session, url, kwargs.get("data") or b"", headers, **options)
        if method in ("GET", "HEAD") and not kwargs.get("data"):  # a redirect comes back None: requests follows it
            return transport.fetch(self.session, method, url, headers, **options)
        return None

    def _get_nonce(self, url: str, new_nonce_url: str) -> str:
        for _ in range(NONCE_FETCH_TRIES):
            try:
                return self._nonces.pop()
            except KeyError:
                pass
            self._add_nonce(self._check_response(self.head(new_nonce_url or url), content_type=None))
        return super()._get_nonce(url, new_nonce_url)
