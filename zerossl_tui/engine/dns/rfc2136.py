"""``rfc2136``: dynamic updates (RFC 2136) signed with TSIG, the standard way to drive BIND, Knot,
PowerDNS, Windows DNS and most self-hosted servers.

Each present or cleanup is one UPDATE over TCP that adds or deletes exactly one TXT rdata.
"""

from __future__ import annotations

import base64
import binascii

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.tsig
import dns.tsigkeyring
import dns.update

from ...core.errors import DnsError, UsageError
from .lookup import Server, ZoneFinder, absolute, resolve_server, show
from .providers import DnsProvider, DnsRefused

ALGORITHMS = {
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
    "hmac-sha1": dns.tsig.HMAC_SHA1,
}
DEFAULT_TTL = 60
UPDATE_TIMEOUT = 10.0

_RCODE_HINTS = {
    dns.rcode.REFUSED: "refused the update of zone {zone}: check allow-update / update-policy for key {key}",
    dns.rcode.NOTAUTH: "is not authoritative for zone {zone} (NOTAUTH): check zone and server",
    dns.rcode.NOTZONE: "says {fqdn} is not inside zone {zone} (NOTZONE): check zone",
    dns.rcode.SERVFAIL: "failed the update of zone {zone} (SERVFAIL): see the DNS server's log",
}


def check_algorithm(algorithm: str) -> dns.name.Name:
    """The dnspython name of a TSIG algorithm setting; UsageError listing the supported ones."""
    try:
        return ALGORITHMS[algorithm.lower()]
    except KeyError:
        raise UsageError(f"unknown TSIG algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}") from None


def check_secret(secret: str, who: str) -> bytes:
    """The TSIG secret decoded from base64; UsageError (without the secret) when it is not base64."""
    try:
        decoded = base64.b64decode(secret.strip(), validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if not decoded:
        raise UsageError(f"{who}: tsig_secret is not base64 (as in BIND's key file)")
    return decoded


class Rfc2136Provider(DnsProvider):
    """Adds and deletes TXT values with TSIG-signed dynamic updates sent to ``server``."""

    kind = "rfc2136"

    def __init__(self, name: str, zones: ZoneFinder, *, server: str, key_name: str, secret: str,
                 algorithm: str = "hmac-sha256", ttl: int = DEFAULT_TTL, timeout: float = UPDATE_TIMEOUT) -> None:
        super().__init__(name, zones)
        if not server or not key_name:
            raise UsageError(f"{self.who}: server and tsig_key_name are required")
        self.server_text = server
        self.key_name = key_name
        self.algorithm = check_algorithm(algorithm)
        self._keyring = {absolute(key_name): dns.tsig.Key(absolute(key_name), check_secret(secret, self.who),
                                                          self.algorithm)}
        self.ttl = ttl
        self.timeout = timeout
        self._server: Server | None = None

    @property
    def server(self) -> Server:
        """The update server as (IP, port), resolved once."""
        if self._server is None:
            self._server = resolve_server(self.server_text)
        return self._server

    def present(self, fqdn: str, value: str) -> None:
        """Add the one TXT value."""
        self._update(fqdn, value, add=True)

    def cleanup(self, fqdn: str, value: str) -> None:
        """Delete the one TXT value (other values at the name stay)."""
        self._update(fqdn, value, add=False)

    def _update(self, fqdn: str, value: str, add: bool) -> None:
        zone = self.zones.zone_for(fqdn)
        update = dns.update.UpdateMessage(absolute(zone), keyring=self._keyring, keyname=absolute(self.key_name),
                                          keyalgorithm=self.algorithm)
        rdata = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [value.encode()])
        if add:
            update.add(absolute(fqdn), self.ttl, rdata)
        else:
            update.delete(absolute(fqdn), rdata)
        rcode = self._send(update).rcode()
        if rcode != dns.rcode.NOERROR:
            hint = _RCODE_HINTS.get(rcode, "answered {rcode} to the update of zone {zone}")
            text = hint.format(zone=zone, key=self.key_name, fqdn=fqdn, rcode=dns.rcode.to_text(rcode))
            raise DnsRefused(f"{self.who}: {show(self.server)} {text}")

    def _send(self, update: dns.update.UpdateMessage) -> dns.message.Message:
        where = show(self.server)
        try:
            return dns.query.tcp(update, self.server[0], port=self.server[1], timeout=self.timeout)
        except dns.tsig.PeerBadSignature:
            raise DnsRefused(f"{self.who}: {where} rejected the TSIG signature of key {self.key_name!r} "
                             "(NOTAUTH/BADSIG): check tsig_secret and tsig_algorithm") from None
        except dns.tsig.PeerBadKey:
            raise DnsRefused(f"{self.who}: {where} does not know the TSIG key {self.key_name!r} with this "
                             "algorithm (NOTAUTH/BADKEY): check tsig_key_name and tsig_algorithm") from None
        except dns.tsig.PeerBadTime:
            raise DnsRefused(f"{self.who}: {where} rejected the TSIG time (BADTIME): check both clocks") from None
        except dns.exception.Timeout:
            raise DnsError(f"{self.who}: no answer from {where} within {self.timeout:g} s: is the DNS server "
                           "running and reachable?") from None
        except ConnectionRefusedError:
            raise DnsRefused(f"{self.who}: {where} refused the connection: is the DNS server running and "
                             "listening on TCP there?") from None
        except (dns.exception.DNSException, OSError) as exc:
            raise DnsError(f"{self.who}: the update sent to {where} failed: {type(exc).__name__}: "
                           f"{_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]
