"""Input checks shared by the command line and the dashboard forms: one set of rules, one set of messages."""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import replace
from typing import Any

from .dnsconf import dns_from_values, dns_problem, set_values, wildcard_problem
from .domains import _check_a_label, ip_problem, normalize_domains, to_ascii, validate_entry_name
from .errors import UsageError
from .models import KEY_TYPES, REVOCATION_REASONS, CertificateSpec, DnsSpec, ProviderSpec
from .schema import BUILTIN_PROVIDERS, CERTIFICATE_FIELDS

# RFC 5322 dot-atom local part (what CAs accept: no brackets, quotes or spaces), then a domain of labels.
_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+")
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_KID = re.compile(r"[\x21-\x7e]{1,256}")
# The host part of a directory URL: a name or IPv4 address (IDN letters allowed), or [IPv6]; then a port.
_URL_HOST = re.compile(r"(?:[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*\.?|\[[0-9A-Fa-f:.]+\])"
                       r"(?::(\d{1,5}))?")
PATH_MAX, NAME_MAX = 4096, 255  # Linux limits: a longer path is accepted here but fails at every write
URL_MAX = 2048  # what HTTP clients and servers reliably accept in a request line
ENDPOINTS_MAX = 100  # as many as a certificate may have names
SHOWN_VALUE = 60  # characters of a wrong value quoted in an error (a 5 MB value must not fill the screen)


def shown(value: Any) -> str:
    """``repr(value)``, cut to SHOWN_VALUE characters: errors quote what was wrong, never megabytes of it."""
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 5] + "...'" + f" ({len(text)} chars)"


def check_path(value: str, base_dir: str = "") -> str:
    """A usable path: no NUL, ``~`` and ``~user`` expanded (an unknown user is an error), a relative path
    made absolute against ``base_dir`` when one is given. Empty stays empty."""
    if not value:
        return value
    if "\x00" in value:
        raise UsageError("path contains a NUL character")
    expanded = os.path.expanduser(value)
    if expanded.startswith("~"):
        user = expanded[1:].split("/", 1)[0]
        raise UsageError(f"path {shown(value)} starts with ~{user}, but there is no user {shown(user)}: "
                         "write the full path")
    if base_dir and not os.path.isabs(expanded):
        expanded = os.path.join(base_dir, expanded)
    if len(expanded) > PATH_MAX or any(len(part) > NAME_MAX for part in expanded.split(os.sep)):
        raise UsageError(f"path {shown(value)} is longer than the system allows ({PATH_MAX} characters, "
                         f"{NAME_MAX} for each folder or file name): give a shorter one")
    return os.path.normpath(expanded) if os.path.isabs(expanded) else expanded


def check_directory_url(url: str) -> str:
    """Refuse anything but an https:// URL: ACME over plain HTTP would expose the account."""
    if len(url) > URL_MAX:
        raise UsageError(f"directory {shown(url)} is longer than {URL_MAX} characters: copy the CA's directory URL "
                         "again (such as https://acme.zerossl.com/v2/DV90)")
    if not re.fullmatch(r"https://[^\s/\x00-\x1f\x7f-\x9f]+(/[^\s\x00-\x1f\x7f-\x9f]*)?", url):
        raise UsageError(
            f"directory {shown(url)} must be an https:// URL without spaces or control characters "
            "(plain http and other schemes are refused)"
        )
    host = _URL_HOST.fullmatch(url.split("/", 3)[2])
    if not host:
        raise UsageError(f"directory {shown(url)} has no valid host name: write it as https://HOST[:PORT]/PATH, "
                         "such as https://acme.example.com/directory")
    if host.group(1) is not None and not 1 <= int(host.group(1)) <= 65535:
        raise UsageError(f"directory {shown(url)} has port {host.group(1)}: a port is 1 to 65535")
    return url


def check_email(email: str) -> str:
    """A plausible contact address, or UsageError."""
    email = email.strip()
    if email and not _EMAIL.fullmatch(email):
        raise UsageError(f"email {shown(email)} is not a valid address: use the form name@example.com")
    return email


def check_eab_kid(kid: str) -> str:
    """The EAB key ID as the CA gave it: printable, no spaces."""
    kid = kid.strip()
    if not _KID.fullmatch(kid):
        raise UsageError("EAB key ID must be the printable text the CA gave you, without spaces")
    return kid


def check_eab_hmac(value: str) -> str:
    """The EAB HMAC key: base64url text decoding to at least 16 bytes. Never echoes the value."""
    value = value.strip()
    if not _B64URL.fullmatch(value):
        raise UsageError(
            "EAB HMAC key must be base64url (letters, digits, '-' and '_'), exactly as the CA gave it"
        )
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise UsageError("EAB HMAC key is not valid base64url: copy it again from the CA") from None
    if len(raw) < 16:
        raise UsageError("EAB HMAC key is too short (under 16 bytes): copy the whole key from the CA")
    return value


def check_text(field: str, value: Any) -> Any:
    """A setting's text must be storable in settings.toml: UTF-8 (a command-line argument may carry bytes
    that are not, as lone surrogates) and free of NUL. Other values pass unchanged. Never echoes the value:
    it may be a secret."""
    if isinstance(value, str):
        if "\x00" in value:
            raise UsageError(f"{field.replace('_', '-')} contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"{field.replace('_', '-')} is not valid UTF-8 text (check the terminal's encoding)"
                             ) from None
    return value


TEXT_MAX = 4096  # a hook command, profile or root name: longer is a paste gone wrong, not a setting
LINE_FIELDS = ("deploy_hook", "failure_hook", "profile", "required_profile", "preferred_chain", "http_bind",
               "owner", "group")
# Control characters but tab and newline (a shell hook may span lines): an escape sequence in a setting would
# be replayed on the terminal of whoever reads it later.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def check_line(field: str, value: str) -> str:
    """A short text setting (a hook, a profile, a root's name): at most TEXT_MAX characters, no control
    characters such as escape sequences. Never echoes the value."""
    check_text(field, value)
    name = field.replace("_", "-")
    if len(value) > TEXT_MAX:
        raise UsageError(f"{name} is {len(value)} characters long: give at most {TEXT_MAX}")
    if _CONTROL.search(value):
        raise UsageError(f"{name} contains a control character (such as an escape sequence): type plain text")
    return value


def check_account(field: str, name: str) -> str:
    """``owner`` (a user) or ``group`` of the served files: a number, or a name this system knows (the
    deploy would otherwise fail at the first renewal, long after the typo). Empty stays empty."""
    import grp
    import pwd

    if not name or name.isdecimal():
        return name
    lookup = pwd.getpwnam if field == "owner" else grp.getgrnam
    try:
        lookup(name)
    except KeyError:
        kind = "user" if field == "owner" else "group"
        raise UsageError(f"{field} {shown(name)}: there is no {kind} of that name on this system: give an "
                         f"existing {kind} or its number") from None
    return name


def check_port(port: int | str) -> int:
    """A TCP port from 1 to 65535."""
    try:
        number = int(port)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"port {port!r} is not a number: give 1 to 65535") from None
    if not 1 <= number <= 65535:
        raise UsageError(f"port {number} is out of range: give 1 to 65535")
    return number


def check_key_type(key_type: str) -> str:
    """One of the supported key types."""
    if key_type not in KEY_TYPES:
        raise UsageError(f"key type {shown(key_type)} is not one of {', '.join(KEY_TYPES)}")
    return key_type


def check_reason(reason: str) -> int:
    """An RFC 5280 revocation reason name -> its code."""
    code = REVOCATION_REASONS.get(reason.replace("-", "").replace("_", "").lower())
    if code is None:
        names = ", ".join(REVOCATION_REASONS)
        raise UsageError(f"revocation reason {reason!r} is not one of {names}")
    return code


CERTIFICATE_PATHS = tuple(f.key for f in CERTIFICATE_FIELDS if f.path)


def _absolute_paths(values: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Paths typed on the command line or in a form are relative to the working directory (as a shell
    user expects); saved absolute, they mean the same for every later command."""
    for key in keys:
        if values.get(key):
            try:
                values[key] = check_path(values[key], os.getcwd())
            except UsageError as exc:
                raise UsageError(f"{key.replace('_', '-')}: {exc.message}") from None


def build_certificate(
    name: str,
    domains: list[str] | tuple[str, ...],
    provider: str,
    base: CertificateSpec | None = None,
    **changes: Any,
) -> CertificateSpec:
    """A validated CertificateSpec from user input; ``base`` is the one being edited, if any."""
    validate_entry_name(name)
    if not provider:
        raise UsageError("no provider given: name one with --provider (see `provider add`)")
    values = {k: v for k, v in changes.items() if v is not None}
    for key, value in values.items():
        if key in LINE_FIELDS:
            check_line(key, value)
        else:
            check_text(key, value)
    if values.get("dns") and "challenge" not in values:
        values["challenge"] = "dns-01"  # naming a DNS provider says which challenge is meant
    _absolute_paths(values, CERTIFICATE_PATHS)
    for key in ("owner", "group"):
        check_account(key, values.get(key, ""))
    if "key_type" in values:
        check_key_type(values["key_type"])
    if "verify" in values:
        values["verify"] = check_endpoints(values["verify"])
    if "http_port" in values:
        values["http_port"] = check_port(values["http_port"])
        values.setdefault("webroot", "")
    elif values.get("webroot"):
        values["http_port"] = 80
    if bool(values.get("certfile", base.certfile if base else "")) != bool(
        values.get("keyfile", base.keyfile if base else "")
    ):
        raise UsageError("certfile and keyfile go together: give both or neither")
    spec = base or CertificateSpec(name=name, domains=(), provider=provider)
    spec = replace(spec, name=name, provider=provider, **values)
    if spec.challenge != "dns-01" and "challenge" in values:
        spec = replace(spec, dns="")  # switching back to http-01 drops the DNS provider
    spec = replace(spec, domains=check_domains(domains, spec.challenge))
    problem = ip_problem(spec.domains, spec.challenge)  # IP addresses: http-01 only
    if problem:
        raise UsageError(problem)
    return spec


def check_domains(domains: list[str] | tuple[str, ...], challenge: str) -> tuple[str, ...]:
    """Normalised ``domains``; wildcards only with dns-01 (otherwise the error says how to get them)."""
    problem = wildcard_problem(domains, challenge)
    if problem:
        raise UsageError(problem)
    return normalize_domains(domains, allow_wildcard=challenge == "dns-01")


def build_dns(name: str, base: DnsSpec | None = None, **changes: Any) -> DnsSpec:
    """A validated DNS provider from user input (``dns add`` or a form); unset values keep ``base``'s when
    the type stays the same. UsageError naming the option; a secret is never quoted."""
    validate_entry_name(name, "DNS provider")
    values = {k: check_text(k, v) for k, v in changes.items() if v is not None}
    kind = values.pop("type", None) or (base.type if base else "")
    kept = set_values(base) if base is not None and base.type == kind else {}
    if "options" in values:
        values["options"] = {**dict(kept.get("options", ())), **values["options"]}
    merged = {**kept, **values}
    spec = dns_from_values(name, {"type": kind, **merged})
    problem = dns_problem(spec, merged)
    if problem:
        raise UsageError(f"DNS provider {name!r}: {problem[0].replace('_', '-')} {problem[1]}")
    return spec


def build_provider(
    name: str, base: ProviderSpec | None = None, **changes: str | None
) -> ProviderSpec:
    """A validated ProviderSpec from user input; unset values keep ``base``'s."""
    validate_entry_name(name, "provider")
    values = {k: (check_line if k in LINE_FIELDS else check_text)(k, v.strip()) for k, v in changes.items()
              if v is not None}
    _absolute_paths(values, ("ca_bundle",))
    spec = base or ProviderSpec(name=name, directory=BUILTIN_PROVIDERS.get(name, ""))
    directory = values.get("directory", spec.directory)
    if not directory:
        raise UsageError(f"provider {name!r} needs --directory URL (the CA's ACME directory)")
    check_directory_url(directory)
    if values.get("email"):
        check_email(values["email"])
    if values.get("eab_kid"):
        check_eab_kid(values["eab_kid"])
    if values.get("eab_hmac_key"):
        check_eab_hmac(values["eab_hmac_key"])
    merged = replace(spec, **values)
    if bool(merged.eab_kid) != bool(merged.eab_hmac_key):
        raise UsageError("EAB needs both --eab-kid and --eab-hmac-key")
    return merged


def check_endpoints(endpoints: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) endpoints to verify, as a tuple, an internationalised host
    name in its ASCII form, each once (a repeat would be checked, reported and exported twice); UsageError
    naming a bad one."""
    if len(endpoints) > ENDPOINTS_MAX:
        raise UsageError(f"{len(endpoints)} verify endpoints given: give at most {ENDPOINTS_MAX}")
    return tuple(dict.fromkeys(_endpoint(endpoint) for endpoint in endpoints))  # each once, in order


def _endpoint(endpoint: str) -> str:
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]/]+):(\d{1,5})", endpoint)
    if not match or not 1 <= int(match.group(2)) <= 65535:
        raise UsageError(f"verify endpoint {shown(endpoint)} must be HOST:PORT, like 127.0.0.1:443 or [::1]:443")
    host = match.group(1)
    if host.startswith("["):
        return endpoint
    # a host name that could never be looked up fails here, once, not at every hourly check
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", host):
        host = _ascii_host(host, endpoint)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", host):  # ASCII punctuation and control characters pass to_ascii
        raise UsageError(f"verify endpoint {shown(endpoint)} has invalid characters in its host: use letters, "
                         "digits, hyphens and dots, or an IP address")
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or any(not 0 < len(label) <= 63 for label in labels):
        raise UsageError(f"verify endpoint {shown(endpoint)} has a host name that is too long or has an empty "
                         "label: give a name of labels of 1-63 characters, or an IP address")
    try:
        for label in labels:
            _check_a_label(label, host)
    except UsageError as exc:
        raise UsageError(f"verify endpoint {shown(endpoint)}: {exc.message}") from None
    return f"{host}:{match.group(2)}"


def _ascii_host(host: str, endpoint: str) -> str:
    try:
        return to_ascii(host)
    except UsageError as exc:
        raise UsageError(f"verify endpoint {shown(endpoint)}: {exc.message}") from None


SETTABLE = ("general", "renewal", "ui", "notify")  # [storage] changes only through `storage use` (it copies)
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def setting_key(dotted: str) -> tuple[str, Any]:
    """``TABLE.KEY`` of ``settings set`` -> (table, its schema Field); UsageError naming the known keys."""
    from .schema import TABLES

    table, _, key = dotted.partition(".")
    if table == "storage":
        raise UsageError(f"{shown(dotted)} is changed with `zerossl-tui storage use` (it copies what the current "
                         "backend holds first); its password belongs in secrets.toml")
    field = next((f for f in TABLES.get(table, ()) if f.key == key), None)
    if table not in SETTABLE or field is None:
        known = ", ".join(f"{t}.{f.key}" for t in SETTABLE for f in TABLES[t])
        raise UsageError(f"unknown setting {shown(dotted)} (known: {known})")
    return table, field


def setting_value(field: Any, text: str, name: str = "") -> Any:
    """A value typed on the command line, as the schema's type: a whole number, true/false, or a list
    given as comma-separated items. The range and the rest are checked by ``validate_table``; ``name`` is
    how errors call the setting (``renewal.concurrency``)."""
    name = name or field.key
    try:
        check_line(name, text)
    except UsageError as exc:
        raise UsageError(f"{name}: {exc.message.split(' ', 1)[1]}") from None
    if field.type is int:
        try:
            return int(text.strip())
        except ValueError:
            raise UsageError(f"{name}: must be a whole number, not {shown(text)}") from None
    if field.type is bool:
        word = text.strip().lower()
        if word not in _TRUE + _FALSE:
            raise UsageError(f"{name}: must be true or false, not {shown(text)}")
        return word in _TRUE
    if field.type is list:
        return list(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))  # once each
    return text
