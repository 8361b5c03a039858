"""The DNS providers screen's data, without Textual: rows as ``dns list`` shows them (secrets masked by
``core.dnsconf.masked``), the fields each type asks for, and the values a form gives to ``set_dns``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..core.dnsconf import masked, parse_options
from ..core.errors import UsageError
from ..core.models import DnsSpec
from ..core.settings import Settings

COMMON = ("zone", "resolvers", "propagation_timeout", "ttl")
TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "rfc2136": ("server", "tsig_key_name", "tsig_algorithm", "tsig_secret"),
    "lexicon": ("lexicon_provider", "options"),
    "exec": ("command", "timeout"),
    "manual": (),
}
SECRET_FIELDS = ("tsig_secret", "options")  # password inputs; left empty on edit, they keep what is saved
# (options too: a lexicon option may be a credential, and the input cannot tell which one is typed)
LABELS = {"server": "Server", "tsig_key_name": "TSIG key name", "tsig_algorithm": "TSIG algorithm",
          "tsig_secret": "TSIG secret", "lexicon_provider": "Lexicon provider", "options": "Options",
          "command": "Command", "timeout": "Timeout (s)", "zone": "Zone", "resolvers": "Resolvers",
          "propagation_timeout": "Propagation (s)", "ttl": "TXT TTL (s)"}
TARGET = {"rfc2136": "server", "lexicon": "lexicon_provider", "exec": "command"}


def users(settings: Settings, name: str) -> list[str]:
    """The certificates whose dns-01 goes through ``name``."""
    return sorted(c.name for c in settings.certificates.values() if c.challenge == "dns-01" and c.dns == name)


def row_of(spec: DnsSpec, settings: Settings) -> tuple[str, str, str, str, str, str]:
    """(name, type, server / lexicon provider / command, zone, used by, the rest masked) of one provider;
    the masked secrets come first in the rest, so that a narrow screen still shows they are set."""
    shown = masked(spec)
    target = str(shown.pop(TARGET.get(spec.type, ""), ""))
    zone = str(shown.pop("zone", "") or "(found by SOA)")
    parts = [f"{k}={_text(v)}" for k, v in shown.items() if k not in ("name", "type")]
    rest = ", ".join(sorted(parts, key=lambda part: "***" not in part))
    return spec.name, spec.type, target, zone, ", ".join(users(settings, spec.name)) or "-", rest


def rows(settings: Settings) -> list[tuple[str, str, str, str, str, str]]:
    """Every configured provider as a row, by name."""
    return [row_of(spec, settings) for _, spec in sorted(settings.dns.items())]


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def form_text(spec: DnsSpec) -> dict[str, str]:
    """What the form's inputs show for ``spec`` when editing it; secrets stay empty (typed anew or kept)."""
    shown = masked(spec)
    text = {key: _text(shown.get(key, "")) for key in LABELS if key not in SECRET_FIELDS}
    text["resolvers"] = ", ".join(spec.resolvers)
    text["propagation_timeout"] = f"{spec.propagation_timeout:g}"
    text["timeout"] = f"{spec.timeout:g}"
    text["ttl"] = str(spec.ttl)
    text["tsig_algorithm"] = spec.tsig_algorithm
    return text


def values_of(kind: str, text: Mapping[str, str]) -> dict[str, Any]:
    """The keyword values ``set_dns`` gets from the form: only the fields of ``kind``; an empty secret
    keeps the saved one. UsageError in the form's words for a number or option that does not parse."""
    values: dict[str, Any] = {"type": kind}
    for key in (*TYPE_FIELDS.get(kind, ()), *COMMON):
        raw = text.get(key, "").strip()
        if not raw and (key in SECRET_FIELDS or key in ("propagation_timeout", "timeout", "ttl")):
            continue
        values[key] = _parse(key, raw)
    return values


def _parse(key: str, raw: str) -> Any:
    if key == "resolvers":
        return [part for part in re.split(r"[\s,]+", raw) if part]
    if key == "options":
        return parse_options(raw.split())
    if key == "ttl":
        if not raw.isdecimal():
            raise UsageError(f"{LABELS[key]}: type a whole number of seconds, such as 60")
        return int(raw)
    if key in ("propagation_timeout", "timeout"):
        try:
            number = float(raw)
        except ValueError:
            raise UsageError(f"{LABELS[key]}: type a number of seconds, such as 120") from None
        if number <= 0:
            raise UsageError(f"{LABELS[key]}: give more than 0 seconds")
        return number
    return raw
