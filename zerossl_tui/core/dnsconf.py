"""``[dns.NAME]`` tables: DNS providers for dns-01, checked the same way whether they come from
settings.toml (with their secrets merged back from secrets.toml), the command line or a form.

Which keys are secrets is decided here once: ``tsig_secret``, and every lexicon option whose name says
credential (``auth_*``, anything with token, secret, password or key in it). Those go to secrets.toml.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from .domains import is_ip_identifier, to_ascii
from .errors import UsageError
from .models import CHALLENGES, DNS_TYPES, TSIG_ALGORITHMS, CertificateSpec, DnsSpec

SECRET_OPTION = re.compile(r"auth|token|secret|key|pass", re.IGNORECASE)
DNS_SECRET_KEYS = ("tsig_secret",)
_KEY_NAME = re.compile(r"[\x21-\x7e]{1,255}")  # a TSIG key's name: printable ASCII, no spaces
_OPTION_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # but tab and newline, as core.validate.check_line
_COMMON = ("type", "zone", "resolvers", "propagation_timeout", "ttl")
ONLY_FOR = {  # keys that make sense for one type only: elsewhere they are a mistake worth naming
    "server": "rfc2136", "tsig_key_name": "rfc2136", "tsig_secret": "rfc2136", "tsig_algorithm": "rfc2136",
    "lexicon_provider": "lexicon", "options": "lexicon", "command": "exec", "timeout": "exec",
}
Problem = tuple[str, str]  # (key, what is wrong with it)
SHOWN = 60  # characters of a wrong value an error quotes


def shown(value: str) -> str:
    """``repr(value)`` cut to SHOWN characters: an error never quotes 100 kB."""
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[:SHOWN - 5]}...' ({len(text)} chars)"


def is_secret_option(key: str) -> bool:
    """A lexicon option that holds a credential (kept in secrets.toml, masked in output)."""
    return bool(SECRET_OPTION.search(key))


def check_server(text: str) -> str:
    """``HOST``, ``HOST:PORT`` or ``[V6]:PORT``; UsageError otherwise (nothing is looked up)."""
    host, port = text.strip(), "53"
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else (rest or port)
    elif host.count(":") == 1:
        host, port = host.split(":")
    # a host name no resolver could look up (a label over 63 characters, 100 kB) is refused here, in one
    # line, rather than failing deep inside the socket library at the first use
    too_long = len(host) > 253 or any(len(label) > 63 for label in host.split("."))
    if not host or not re.fullmatch(r"[A-Za-z0-9.:_-]+", host) or too_long or not port.isdigit() or \
            not 0 < int(port) < 65536:
        raise UsageError(f"{shown(text)} is not a DNS server address: use HOST or HOST:PORT")
    return text.strip()


def _zone_problem(zone: str) -> Problem | None:
    """An invalid zone name (invalid punycode, an empty label): it could never match a name looked up."""
    try:
        to_ascii(zone)
    except UsageError as exc:
        return "zone", exc.message
    return None


def _ascii_zone(zone: str) -> str:
    """The zone as the DNS holds it: names looked up are ASCII, so a unicode zone is kept in punycode
    (an invalid one is left as given, for ``_zone_problem`` to name)."""
    try:
        return to_ascii(zone) if zone and not zone.isascii() else zone
    except UsageError:
        return zone


def _tsig_problem(spec: DnsSpec) -> Problem | None:
    if spec.tsig_algorithm.lower() not in TSIG_ALGORITHMS:
        known = ", ".join(TSIG_ALGORITHMS)
        return "tsig_algorithm", f"unknown TSIG algorithm {spec.tsig_algorithm!r}: use one of {known}"
    if not spec.tsig_secret:
        return "tsig_secret", "missing: give the TSIG key's secret (dns add NAME ... --tsig-secret S)"
    try:
        ok = bool(base64.b64decode(spec.tsig_secret.strip(), validate=True))
    except (binascii.Error, ValueError):
        ok = False
    return None if ok else ("tsig_secret", "is not base64: copy the secret from the server's key file")


def _type_problem(spec: DnsSpec) -> Problem | None:
    """What the type needs and does not have."""
    if spec.type == "rfc2136":
        if not spec.server:
            return "server", "missing: give the primary DNS server as HOST[:PORT]"
        if not spec.tsig_key_name:
            return "tsig_key_name", "missing: give the name of the TSIG key the server knows"
        if not _KEY_NAME.fullmatch(spec.tsig_key_name):
            return "tsig_key_name", (f"{spec.tsig_key_name!r} is not a key name: use printable ASCII without "
                                     "spaces, exactly as in the server's key \"NAME\" { ... } statement")
        return _tsig_problem(spec)
    if spec.type == "lexicon" and not spec.lexicon_provider:
        return "lexicon_provider", "missing: name a dns-lexicon provider (cloudflare, route53, powerdns, ...)"
    if spec.type == "exec" and not spec.command.strip():
        return "command", "missing: give the program to run as PROGRAM present|cleanup FQDN VALUE"
    if spec.type == "exec" and (_CONTROL.search(spec.command) or len(spec.command) > 4096):
        # as every other hook (core.validate.check_line): an escape sequence would be replayed by `dns list`
        return "command", "has a control character (such as an escape sequence) or is over 4096 characters: " \
                          "type the program and its arguments as plain text"
    return None


def dns_problem(spec: DnsSpec, given: Mapping[str, Any]) -> Problem | None:
    """The first thing wrong with ``spec`` (``given`` holds the keys that were set), or None."""
    if spec.type not in DNS_TYPES:
        what = repr(spec.type) + " is unknown" if spec.type else "missing"
        return "type", f"{what}: use one of {', '.join(DNS_TYPES)}"
    for key in given:
        if ONLY_FOR.get(key, spec.type) != spec.type:
            return key, f"is for type {ONLY_FOR[key]} only, and this provider is {spec.type}"
    for address in ((spec.server,) if spec.server else ()) + spec.resolvers:
        try:
            check_server(address)
        except UsageError as exc:
            return ("server" if address == spec.server else "resolvers"), exc.message
    if spec.zone and (zone := _zone_problem(spec.zone)):
        return zone
    for key, _ in spec.options:
        if not _OPTION_KEY.match(key):
            return "options", f"option name {key!r} is not a plain name (letters, digits, '_' and '-')"
    return _type_problem(spec)


def dns_from_values(name: str, values: Mapping[str, Any]) -> DnsSpec:
    """A DnsSpec from checked table values (types already right)."""
    fields = dict(values)
    fields["options"] = tuple(sorted((str(k), str(v)) for k, v in dict(fields.get("options", {})).items()))
    fields["resolvers"] = tuple(fields.get("resolvers", ()))
    for key in ("propagation_timeout", "timeout"):
        if key in fields:
            fields[key] = float(fields[key])
    if fields.get("zone"):
        fields["zone"] = _ascii_zone(str(fields["zone"]))
    if "tsig_algorithm" in fields:
        fields["tsig_algorithm"] = fields["tsig_algorithm"].lower()
    return DnsSpec(name=name, **fields)


def dns_to_dict(spec: DnsSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """(settings.toml values, secrets.toml values) of a DNS provider, leaving out defaults."""
    default = DnsSpec(name=spec.name, type=spec.type)
    public: dict[str, Any] = {"type": spec.type}
    secret: dict[str, Any] = {}
    for key in ("server", "tsig_key_name", "tsig_algorithm", "lexicon_provider", "command", "zone"):
        if getattr(spec, key) != getattr(default, key):
            public[key] = getattr(spec, key)
    if spec.resolvers:
        public["resolvers"] = list(spec.resolvers)
    for key in ("propagation_timeout", "ttl", "timeout"):
        if getattr(spec, key) != getattr(default, key):
            public[key] = int(getattr(spec, key))
    if spec.tsig_secret:
        secret["tsig_secret"] = spec.tsig_secret
    options = {k: v for k, v in spec.options if not is_secret_option(k)}
    secret_options = {k: v for k, v in spec.options if is_secret_option(k)}
    if options:
        public["options"] = options
    if secret_options:
        secret["options"] = secret_options
    return public, secret


def masked(spec: DnsSpec) -> dict[str, Any]:
    """A DNS provider as ``dns list`` shows it: every value, secrets replaced by ``***``."""
    public, secret = dns_to_dict(spec)
    shown_options = {**public.get("options", {}), **{k: "***" for k in secret.get("options", {})}}
    out: dict[str, Any] = {"name": spec.name, **public}
    if shown_options:
        out["options"] = dict(sorted(shown_options.items()))
    if "tsig_secret" in secret:
        out["tsig_secret"] = "***"
    return out


def parse_options(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` texts (``--option``) as a dict; UsageError naming the key, never the value."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not _OPTION_KEY.match(key):
            raise UsageError(f"--option {key or '?'}: write it as KEY=VALUE, KEY made of letters, digits and '_'")
        out[key] = value
    return out


def set_values(spec: DnsSpec) -> dict[str, Any]:
    """The values of ``spec`` that differ from a fresh one of its type (what the user set)."""
    default = DnsSpec(name=spec.name, type=spec.type)
    return {k: v for k, v in spec.__dict__.items() if k not in ("name", "type") and v != getattr(default, k)}


def wildcard_problem(domains: list[str] | tuple[str, ...], challenge: str) -> str | None:
    """A wildcard needs dns-01: the message (with the way out) when ``domains`` has one and ``challenge`` is
    not dns-01."""
    if challenge not in CHALLENGES:
        return f"challenge {challenge!r} is not one of {', '.join(CHALLENGES)}"
    wild = next((d for d in domains if d.strip().startswith("*")), None)
    if wild is None or challenge == "dns-01" or is_ip_identifier(wild.strip()[2:]):
        return None  # none, allowed, or an IP "wildcard", which the name rules refuse with their own words
    return (f"wildcard {wild!r} needs the dns-01 challenge (http-01 can only prove single names): use "
            "--challenge dns-01 --dns NAME (challenge = \"dns-01\" and dns = \"NAME\" in settings), "
            "or list each name instead")


def certificate_dns_problem(spec: CertificateSpec, dns: Mapping[str, DnsSpec]) -> Problem | None:
    """dns-01 needs a configured ``dns`` provider; ``dns`` without dns-01 is a mistake."""
    if spec.challenge == "dns-01":
        if not spec.dns:
            return "dns", "missing: dns-01 needs a DNS provider (add one with `dns add`, then --dns NAME)"
        if spec.dns not in dns:
            known = ", ".join(sorted(dns)) or "none yet"
            return "dns", f"unknown DNS provider {spec.dns!r}: add it with `dns add` (configured: {known})"
    elif spec.dns:
        return "dns", "is only used with challenge = \"dns-01\": set --challenge dns-01 or remove dns"
    return None

