"""Validation of domain names: the one set of rules that the CLI, the dashboard form and settings share.

Internationalised names follow IDNA 2008 with UTS 46 (non-transitional), like browsers and CAs: ``faß.de``
is ``xn--fa-hia.de``, never ``fass.de`` (another domain, which IDNA 2003 would give). This needs the
``idna`` package: pure Python, no I/O, the one import of ``core`` outside the standard library (the
import-linter contract "Core imports only the standard library and idna" holds the line).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

import idna

from .errors import UsageError

MAX_NAMES = 100
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_OTHER_DOTS = re.compile("[\u3002\uff0e\uff61]")  # ideographic and full-width full stops separate labels too
_NAME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# A plain lower-case ASCII name with valid labels, none of them punycode: the common case, accepted by one
# match (a settings file of 10,000 certificates validates each of its names at every start).
_PLAIN_NAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DIGITS_AND_DOTS = re.compile(r"[0-9.]+")


def to_ascii(name: str) -> str:
    """Lower-case ``name`` and turn an internationalised name into punycode (IDNA 2008, UTS 46)."""
    text = _OTHER_DOTS.sub(".", name.strip().lower()).rstrip(".")
    if not text:
        raise UsageError("empty domain name: give a name such as example.com")
    if any(ch.isspace() for ch in text):
        raise UsageError(f"domain {name!r} contains a space: give one name per -d option")
    labels = text.split(".")
    if text.isascii():
        for label in labels:
            _check_a_label(label, name)
        return text
    return ".".join(_label_to_ascii(label, name) for label in labels)


def _label_to_ascii(label: str, whole: str) -> str:
    if label.isascii():
        return label
    if not label:
        raise UsageError(f"domain {whole!r} has an empty label (two dots in a row)")
    for ch in label:
        # UTS 46 silently drops some characters (zero-width space, soft hyphen, BOM): the name shown
        # would then not be the name certified, so such names are refused instead.
        if not ch.isascii() and not _uts46(ch, whole):
            raise UsageError(f"domain {whole!r} contains an invisible character U+{ord(ch):04X}: remove it")
    try:
        return idna.encode(label, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise UsageError(f"domain {whole!r} is not a valid internationalised name ({exc})") from None


def _uts46(ch: str, whole: str) -> str:
    try:
        return idna.uts46_remap(ch, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError) as exc:
        raise UsageError(f"domain {whole!r} is not a valid internationalised name ({exc})") from None


def _check_a_label(label: str, whole: str) -> None:
    """An ``xn--`` label given in ASCII must be valid punycode of a valid IDNA 2008 label."""
    if not label.startswith("xn--"):
        return
    try:
        idna.decode(label)
    except (idna.IDNAError, UnicodeError):
        raise UsageError(f"domain {whole!r} has an invalid punycode label {label!r}") from None


def validate_name(name: str, *, allow_wildcard: bool = False) -> str:
    """Return the normalised ASCII form of one domain name (or IP address, see ``normalize_ip``), or raise
    UsageError saying what is wrong."""
    if len(name) <= 253 and _PLAIN_NAME.fullmatch(name) and "xn--" not in name:
        return name
    ip = normalize_ip(name)
    if ip:
        return ip
    ascii_name = to_ascii(name)
    if ascii_name.startswith("*.") and normalize_ip(ascii_name[2:]):
        raise UsageError(f"{name!r} is not valid: an IP address cannot be a wildcard; give the address itself")
    labels = ascii_name.split(".")
    if labels[0] == "*":
        if not allow_wildcard:
            raise UsageError(
                f"wildcard {name!r} needs the dns-01 challenge (http-01 can only prove single names): use "
                "--challenge dns-01 --dns NAME, or list each name instead"
            )
        labels = labels[1:]
    if len(ascii_name) > 253:
        raise UsageError(f"domain {name!r} is longer than 253 characters")
    if len(labels) < 2:
        raise UsageError(f"domain {name!r} needs at least two labels, such as example.com")
    for label in labels:
        _check_label(label, name)
    return ascii_name


# -- IP address identifiers (RFC 8738) ------------------------------------------------------------------


def normalize_ip(name: str) -> str:
    """The canonical text of an IPv4 or IPv6 address (``::1``, ``127.0.0.1``; ``[::1]`` accepted), or ""
    when ``name`` is not an IP address (then it is a domain name). A scoped address (``fe80::1%eth0``) is
    refused: the zone means nothing outside this machine."""
    text = name.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" not in text and not _DIGITS_AND_DOTS.fullmatch(text):  # cheap: most names are not addresses
        return ""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        raise UsageError(f"IP address {name!r} has a zone (%{address.scope_id}): give the address alone")
    return str(address)


def is_ip_identifier(name: str) -> bool:
    """True when the (normalised) name is an IP address: an ACME ``ip`` identifier, an IP SAN."""
    return bool(normalize_ip(name))


def ip_problem(names: Iterable[str], challenge: str) -> str:
    """Why these names cannot be validated with ``challenge`` ("" when they can): a CA proves an IP
    address over http-01 (or tls-alpn-01), never dns-01 (RFC 8738 section 7)."""
    ips = [n for n in names if is_ip_identifier(n)]
    if ips and challenge == "dns-01":
        return (f"IP address {ips[0]} cannot be validated with dns-01: use http-01 (the built-in responder "
                "or a web root) for IP addresses")
    return ""


def _check_label(label: str, whole: str) -> None:
    if not label:
        raise UsageError(f"domain {whole!r} has an empty label (two dots in a row, or a leading dot)")
    if len(label) > 63:
        raise UsageError(f"domain {whole!r} has a label longer than 63 characters")
    if label.startswith("-") or label.endswith("-"):
        raise UsageError(f"domain {whole!r} has a label that starts or ends with a hyphen")
    if not _LABEL.fullmatch(label):
        raise UsageError(
            f"domain {whole!r} has invalid characters: use letters, digits and hyphens only"
        )


def normalize_domains(names: Iterable[str], *, allow_wildcard: bool = False) -> tuple[str, ...]:
    """Validate, lower-case, punycode and de-duplicate ``names``, keeping their order."""
    seen: dict[str, None] = {}
    for name in names:
        seen[validate_name(name, allow_wildcard=allow_wildcard)] = None
    if not seen:
        raise UsageError("no domain names given: add at least one with -d NAME")
    if len(seen) > MAX_NAMES:
        raise UsageError(f"{len(seen)} names given; a certificate can hold at most {MAX_NAMES}")
    return tuple(seen)


def validate_entry_name(name: str, what: str = "certificate") -> str:
    """Names of certificates and providers: a folder name, so letters, digits, '.', '_' and '-'."""
    if not _NAME_NAME.fullmatch(name or "") or name in (".", ".."):
        raise UsageError(
            f"invalid {what} name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name
