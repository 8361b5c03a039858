"""``lexicon``: any of dns-lexicon's providers (Cloudflare, Route 53, OVH, Hetzner, PowerDNS, ...).

The zone is always ours (found by SOA or configured), given to lexicon as ``delegated`` and as its domain,
so lexicon never guesses it; its public-suffix download is switched off (``TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS``
empty, unless the user set it) so that nothing but the provider's own API is contacted. Errors leave as one
line, with every option value that looks like a credential replaced by ``***``.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from ...core.errors import DnsError, UsageError
from .lookup import ZoneFinder, absolute, plain
from .providers import DnsProvider, DnsRefused

SECRET_OPTION = re.compile(r"auth|token|secret|key|pass", re.IGNORECASE)


@functools.cache
def lexicon_provider_names() -> dict[str, bool]:
    """Every provider lexicon knows -> whether its extra dependencies are installed (read once: it parses
    the metadata of every dependency, a good part of a second)."""
    from lexicon._private.discovery import find_providers  # lexicon has no public listing

    return dict(find_providers())


def check_lexicon_provider(name: str) -> str:
    """``name`` when lexicon has it (with its dependencies); else UsageError suggesting close names."""
    known = lexicon_provider_names()
    if name in known and known[name]:
        return name
    if name in known:
        raise UsageError(f"lexicon provider {name!r} needs extra packages: pip install 'dns-lexicon[{name}]'")
    close = difflib.get_close_matches(name.lower(), list(known), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "see `lexicon --help` for the list"
    raise UsageError(f"unknown lexicon provider {name!r}: {hint}")


class LexiconProvider(DnsProvider):
    """Adds and deletes one TXT value through a dns-lexicon provider, options passed through as given."""

    kind = "lexicon"

    def __init__(self, name: str, zones: ZoneFinder, *, provider: str, options: Mapping[str, str],
                 ttl: int = 60) -> None:
        super().__init__(name, zones)
        self.provider = check_lexicon_provider(provider)
        self.options = dict(options)
        self.ttl = ttl
        # By zone and thread (lexicon keeps its state per thread): making one costs a provider scan and a
        # public-suffix parse, a good part of a second.
        self._clients: dict[tuple[str, int], Any] = {}

    @property
    def who(self) -> str:
        """``DNS provider 'pd' (lexicon powerdns)``."""
        return f"DNS provider {self.name!r} (lexicon {self.provider})"

    def present(self, fqdn: str, value: str) -> None:
        """Create the TXT value (lexicon keeps the name's other values)."""
        self._run(fqdn, lambda ops, name: ops.create_record("TXT", name, value))

    def cleanup(self, fqdn: str, value: str) -> None:
        """Delete the TXT value with this content only."""
        self._run(fqdn, lambda ops, name: ops.delete_record(None, "TXT", name, value))

    def _run(self, fqdn: str, step: Callable[..., object]) -> None:
        zone = self.zones.zone_for(fqdn)
        name = plain(absolute(fqdn))  # no final dot: lexicon appends the zone to names not ending in it
        try:
            with self._client(zone) as operations:
                step(operations, name)
        except DnsError:
            raise
        except Exception as exc:  # lexicon providers raise anything; each becomes one line
            raise self._error(exc) from None

    def _client(self, zone: str) -> Any:
        key = (zone, threading.get_ident())
        if key not in self._clients:
            self._clients[key] = self._new_client(zone)
        return self._clients[key]

    def _new_client(self, zone: str) -> Any:
        from lexicon.client import Client
        from lexicon.config import ConfigResolver, DictConfigSource

        os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
        config = {"provider_name": self.provider, "domain": zone, "delegated": zone, "ttl": self.ttl,
                  self.provider: dict(self.options)}
        client = Client(ConfigResolver().with_dict(config))
        # lexicon derives its domain from a public-suffix guess plus ``delegated``: for a zone under an
        # unlisted suffix (corp.internal) that gives a wrong name, so put ours first, exactly.
        client.config.add_config_source(DictConfigSource({"domain": zone}), 0)
        return client

    def _error(self, exc: Exception) -> DnsError:
        """One line naming what lexicon's provider answered, without credentials."""
        if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
            status, reason = exc.response.status_code, exc.response.reason
            where = urlsplit(exc.response.url or "").netloc
            kind = DnsRefused if status < 500 else DnsError
            hint = ": check the credentials options" if status in (401, 403) else ""
            return kind(f"{self.who}: {where} refused the request: HTTP {status} {reason}{hint}")
        if isinstance(exc, requests.exceptions.ConnectionError):
            where = urlsplit(getattr(exc.request, "url", "") or "").netloc or "the provider's API"
            kind = DnsRefused if _never_sent(exc) else DnsError  # no connection: nothing was added
            return kind(f"{self.who}: cannot connect to {where}: check its address and the network")
        if isinstance(exc, requests.exceptions.Timeout):
            return DnsError(f"{self.who}: the provider's API did not answer in time")
        return DnsError(f"{self.who}: {type(exc).__name__}: {self._scrub(str(exc))}")

    def _scrub(self, text: str) -> str:
        line = (text.splitlines() or [""])[0][:300]
        for key, value in self.options.items():
            if value and len(value) >= 4 and SECRET_OPTION.search(key):
                line = line.replace(value, "***")
        return line or "no details"


def _never_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """Whether the request never left: no connection was made (refused, no route, name unknown, connect
    timeout), so the provider cannot have added anything and there is nothing to remove."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.exceptions.ConnectTimeout) or isinstance(
        reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))
