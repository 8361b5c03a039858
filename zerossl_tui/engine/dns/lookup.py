"""DNS questions the dns-01 solver asks: which zone holds a name (SOA), where ``_acme-challenge`` is
delegated to (CNAME), and which servers are authoritative for a zone (NS and their addresses).

Questions go to a ``Lookup``: the configured resolvers, or the system's (``/etc/resolv.conf``), optionally
after some servers of our own (an rfc2136 primary knows its zones even when no public resolver does). Each
is one UDP query (TCP when truncated) with a short timeout; a server that refuses or fails is skipped.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from ...core.errors import DnsError, UsageError

Server = tuple[str, int]  # (IP address, port)
QUERY_TIMEOUT = 2.0
MAX_CNAME_HOPS = 8


def parse_server(text: str, default_port: int = 53) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT`` or a bare IPv6 address -> (host, port); UsageError if bad."""
    text = text.strip()
    host, port = text, str(default_port)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else (rest or port)
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"{text!r} is not a DNS server address: use HOST or HOST:PORT")
    return host, int(port)


def resolve_server(text: str, default_port: int = 53) -> Server:
    """A ``HOST[:PORT]`` setting as (IP address, port), looking the host name up when it is not an IP."""
    host, port = parse_server(text, default_port)
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError:
        raise DnsError(f"cannot resolve the DNS server name {host!r}: check the address") from None
    return str(infos[0][4][0]), port


def show(server: Server) -> str:
    """``ip:port`` (``[ip]:port`` for IPv6) for messages."""
    host, port = server
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def absolute(name: str) -> dns.name.Name:
    """A name as an absolute DNS name (a missing final dot is added, never the zone appended)."""
    try:
        return dns.name.from_text(name.rstrip(".") + ".")
    except dns.exception.DNSException:
        raise UsageError(f"{name!r} is not a valid DNS name") from None


def plain(name: dns.name.Name) -> str:
    """A DNS name as lower-case text without the final dot."""
    return name.to_text(omit_final_dot=True).lower()


class Lookup:
    """Asks DNS questions of ``servers`` (``HOST[:PORT]`` texts), then of the system's resolvers when there
    are none or ``system_too``."""

    def __init__(self, servers: Sequence[str] = (), *, who: str = "DNS", timeout: float = QUERY_TIMEOUT,
                 system_too: bool = False) -> None:
        self.configured = tuple(servers)
        self.system_too = system_too
        self.who = who
        self.timeout = timeout
        self._servers: list[Server] | None = None

    @property
    def servers(self) -> list[Server]:
        """Where questions go (resolved once)."""
        if self._servers is None:
            own = [resolve_server(s) for s in self.configured]
            self._servers = own + _system_servers(self.who, required=not own) if self.system_too or not own else own
        return self._servers

    def query(self, name: str | dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message | None:
        """The first NOERROR or NXDOMAIN answer; None when every server refused or failed the question;
        DnsError when none answered at all."""
        request = dns.message.make_query(name if isinstance(name, dns.name.Name) else absolute(name), rdtype)
        answered = False
        for server in self.servers:
            response = ask(request, server, self.timeout)
            if response is None:
                continue
            answered = True
            if response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                return response
        if not answered:
            where = ", ".join(show(s) for s in self.servers)
            raise DnsError(f"{self.who}: no answer from {where} within {self.timeout:g} s: is the DNS server "
                           "running and reachable (resolvers)?")
        return None


def ask(request: dns.message.Message, server: Server, timeout: float) -> dns.message.Message | None:
    """One question to one server; None when it does not answer (timeout, refused connection, garbage)."""
    try:
        response, _ = dns.query.udp_with_fallback(request, server[0], port=server[1], timeout=timeout)
    except (dns.exception.DNSException, OSError, ValueError):
        return None
    return response


def _system_servers(who: str, required: bool = True) -> list[Server]:
    try:
        names = dns.resolver.Resolver().nameservers
    except dns.exception.DNSException:
        names = []
    if not names and required:
        raise DnsError(f"{who}: no resolvers configured and the system has none (/etc/resolv.conf): set "
                       "resolvers")
    return [(str(n), 53) for n in names]


def find_zone(fqdn: str, lookup: Lookup) -> str:
    """The zone holding ``fqdn``: the closest enclosing name that has its own SOA (lego's walk upwards);
    DnsError when no server knows one."""
    name = absolute(fqdn)
    while name != dns.name.root:
        response = lookup.query(name, dns.rdatatype.SOA)
        if response is not None:
            zone = _zone_in(response, name)
            if zone is not None:
                return plain(zone)
        name = name.parent()
    where = ", ".join(show(s) for s in lookup.servers)
    raise DnsError(f"{lookup.who}: no DNS zone found for {fqdn} through {where}: set zone, or resolvers that "
                   "know it")


def _zone_in(response: dns.message.Message, name: dns.name.Name) -> dns.name.Name | None:
    """The zone a SOA answer names for ``name``: its own SOA; for a name inside a zone, the SOA in the
    authority section of a negative answer; for a name under a delegation (a referral from a parent's
    server), the delegated child. None when ``name`` is a CNAME (never a zone apex) or nothing says."""
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.CNAME:
            return None
        if rrset.rdtype == dns.rdatatype.SOA and rrset.name == name:
            return name
    if response.answer:
        return None
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and name.is_subdomain(rrset.name):
            return rrset.name
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.NS and name.is_subdomain(rrset.name) and rrset.name != dns.name.root:
            return rrset.name
    return None


def follow_cname(fqdn: str, lookup: Lookup) -> str:
    """Where a TXT record for ``fqdn`` must go: the end of its CNAME chain (``fqdn`` itself when none).
    DnsError on a loop or a chain longer than MAX_CNAME_HOPS."""
    seen = [plain(absolute(fqdn))]
    name = absolute(fqdn)
    for _ in range(MAX_CNAME_HOPS):
        response = lookup.query(name, dns.rdatatype.CNAME)
        target = _cname_target(response, name) if response is not None else None
        if target is None:
            return seen[-1]
        if plain(target) in seen:
            raise DnsError(f"{lookup.who}: CNAME loop at {fqdn} ({' -> '.join(seen + [plain(target)])})")
        seen.append(plain(target))
        name = target
    raise DnsError(f"{lookup.who}: CNAME chain from {fqdn} longer than {MAX_CNAME_HOPS} names")


def _cname_target(response: dns.message.Message, name: dns.name.Name) -> dns.name.Name | None:
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.CNAME and rrset.name == name:
            return next(iter(rrset)).target  # type: ignore[no-any-return]
    return None


def authoritative_servers(zone: str, lookup: Lookup, port: int = 53) -> list[Server]:
    """The addresses of the zone's NS names (IPv4 first, IPv6 only for a name without IPv4), on ``port``;
    the lookup's own servers when the NS set cannot be read (they evidently know the zone)."""
    response = lookup.query(zone, dns.rdatatype.NS)
    names = [rd.target for rrset in (response.answer if response else []) if rrset.rdtype == dns.rdatatype.NS
             for rd in rrset]
    found: list[Server] = []
    for ns in sorted(names):
        for address in _addresses(ns, response, lookup):
            if (address, port) not in found:
                found.append((address, port))
    return found or list(lookup.servers)


def _addresses(ns: dns.name.Name, response: dns.message.Message | None, lookup: Lookup) -> list[str]:
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        glue = [rd.address for rrset in (response.additional if response else [])
                if rrset.name == ns and rrset.rdtype == rdtype for rd in rrset]
        if not glue:
            answer = lookup.query(ns, rdtype)
            glue = [rd.address for rrset in (answer.answer if answer else []) if rrset.rdtype == rdtype
                    for rd in rrset]
        if glue:
            return [str(a) for a in glue]
    return []


class ZoneFinder:
    """The zone of each record name: the configured one (checked to hold the name), else found by SOA."""

    def __init__(self, lookup: Lookup, zone: str = "") -> None:
        self.lookup = lookup
        self.zone = plain(absolute(zone)) if zone else ""
        self._found: dict[str, str] = {}

    def zone_for(self, fqdn: str) -> str:
        """The zone to update for ``fqdn`` (cached per name)."""
        name = plain(absolute(fqdn))
        if self.zone:
            if not absolute(name).is_subdomain(absolute(self.zone)):
                raise DnsError(f"{self.lookup.who}: {name} is not inside the configured zone {self.zone}: "
                               "fix zone (a CNAME may delegate the record elsewhere)")
            return self.zone
        if name not in self._found:
            self._found[name] = find_zone(name, self.lookup)
        return self._found[name]
