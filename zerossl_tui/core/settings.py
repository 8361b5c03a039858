"""The settings schema: what ``settings.toml`` may hold, documented once, validated strictly.

Each field's docstring (``doc``) is reused by ``--help`` and by the dashboard's settings screen. Parsing
turns a plain dict (from ``tomllib``) into frozen models; anything unknown or of the wrong type is a
ConfigError naming the key and, where it can be found, the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from .domains import normalize_domains, validate_entry_name
from .errors import ConfigError, UsageError
from .models import KEY_TYPES, CertificateSpec, ProviderSpec

BUILTIN_PROVIDERS: dict[str, str] = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "zerossl": "https://acme.zerossl.com/v2/DV90",
    "google": "https://dv.acme-v02.api.pki.goog/directory",
    "google-staging": "https://dv.acme-v02.test-api.pki.goog/directory",
    "sslcom": "https://acme.ssl.com/sslcom-dv-ecc",
}
DEFAULT_PROVIDER = "letsencrypt"
SECRET_KEYS = ("eab_hmac_key", "api_key")


@dataclass(frozen=True)
class Field:
    """One setting: its TOML key, Python type, default and the docstring shown to users."""

    key: str
    type: type
    default: Any
    doc: str


PROVIDER_FIELDS = (
    Field("directory", str, "", "ACME directory URL (https only)."),
    Field("email", str, "", "Contact email for the account; ZeroSSL can fetch EAB credentials with it."),
    Field("eab_kid", str, "", "External Account Binding key ID given by the CA."),
    Field("eab_hmac_key", str, "", "EAB HMAC key (base64url) given by the CA. Secret: kept 0600."),
    Field("api_key", str, "", "ZeroSSL API access key, used to fetch EAB credentials. Secret: kept 0600."),
    Field("ca_bundle", str, "", "PEM file of CAs to trust for a private CA's HTTPS (never disables checks)."),
)

CERTIFICATE_FIELDS = (
    Field("domains", list, [], "Names the certificate covers; the first is the common name."),
    Field("provider", str, "", "Name of the provider (CA) to order from."),
    Field("key_type", str, "ec256", "Key type: ec256 (default), ec384, rsa2048, rsa3072, rsa4096."),
    Field("http_port", int, 80, "Port of the built-in http-01 responder."),
    Field("http_bind", str, "", "Address the built-in responder listens on (all addresses when empty)."),
    Field("webroot", str, "", "Serve http-01 tokens from this web root instead of the built-in responder."),
    Field("certfile", str, "", "Where the web server reads the certificate (full chain)."),
    Field("keyfile", str, "", "Where the web server reads the private key."),
    Field("fullchain", str, "", "Where to write the certificate followed by its chain."),
    Field("chainfile", str, "", "Where to write the intermediate chain alone."),
    Field("reuse_key", bool, False, "Keep the same private key across renewals."),
    Field("deploy_hook", str, "", "Command run after a successful issuance."),
    Field("failure_hook", str, "", "Command run after a failed attempt."),
    Field("profile", str, "", "ACME profile to ask for when the CA offers it."),
    Field("required_profile", str, "", "ACME profile that must be offered, or the order is refused."),
)

GENERAL_FIELDS = (
    Field("data_dir", str, "", "Folder for accounts, certificates and the journal (platform default)."),
    Field("default_provider", str, "", "Provider used by `add` when none is given."),
)

RENEWAL_FIELDS = (
    Field("concurrency", int, 4, "How many orders may run at once."),
    Field("order_timeout", int, 900, "Seconds an order may take before it is abandoned (ZeroSSL can be slow)."),
    Field("request_timeout", int, 30, "Seconds to wait for each answer from the CA before giving up on it."),
    Field("deploy_hook", str, "", "Command run after every successful issuance."),
    Field("failure_hook", str, "", "Command run after every failed attempt."),
    Field("hook_timeout", int, 300, "Seconds a hook may run before it is stopped."),
    Field("hook_shell", bool, False, "Run hooks through /bin/sh (otherwise split and run directly)."),
)

UI_FIELDS = (
    Field("theme", str, "", "Dashboard theme name."),
    Field("autorenew", bool, True, "Renew due certificates while the dashboard is open."),
)

TABLES: dict[str, tuple[Field, ...]] = {
    "general": GENERAL_FIELDS,
    "renewal": RENEWAL_FIELDS,
    "ui": UI_FIELDS,
}


@dataclass(frozen=True)
class Settings:
    """All settings, parsed and validated."""

    providers: dict[str, ProviderSpec] = field(default_factory=dict)
    certificates: dict[str, CertificateSpec] = field(default_factory=dict)
    general: dict[str, Any] = field(default_factory=dict)
    renewal: dict[str, Any] = field(default_factory=dict)
    ui: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> dict[str, Any]:
        """A flat table with defaults filled in."""
        values = {f.key: f.default for f in TABLES[name]}
        values.update(getattr(self, name))
        return values

    def provider(self, name: str) -> ProviderSpec:
        """A configured or built-in provider; NotFound-style UsageError otherwise."""
        if name in self.providers:
            return self.providers[name]
        if name in BUILTIN_PROVIDERS:
            return ProviderSpec(name=name, directory=BUILTIN_PROVIDERS[name])
        known = ", ".join(sorted(set(self.providers) | set(BUILTIN_PROVIDERS)))
        raise UsageError(f"unknown provider {name!r}: add it with `provider add` (known: {known})")

    def default_provider(self) -> str:
        """The provider that `add` uses when none is named."""
        chosen = self.general.get("default_provider")
        if chosen:
            return str(chosen)
        if len(self.providers) == 1:
            return next(iter(self.providers))
        return DEFAULT_PROVIDER


class _Locator:
    """Finds the line of a key in the TOML text, so errors can point at it."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line_of(self, table: str, key: str | None = None) -> int | None:
        header = re.compile(r"^\s*\[\s*" + _table_pattern(table) + r"\s*\]\s*(#.*)?$")
        start = 0
        if table:
            start = next((i for i, line in enumerate(self.lines) if header.match(line)), -1)
            if start < 0:
                return None
            if key is None:
                return start + 1
        keyline = re.compile(r"^\s*[\"']?" + re.escape(key or "") + r"[\"']?\s*=")
        for i in range(start + (1 if table else 0), len(self.lines)):
            if table and self.lines[i].lstrip().startswith("[") and i != start:
                break
            if keyline.match(self.lines[i]):
                return i + 1
        return None


def _table_pattern(table: str) -> str:
    return r"\s*\.\s*".join(r"[\"']?" + re.escape(part) + r"[\"']?" for part in table.split("."))


def parse_settings(data: dict[str, Any], text: str = "", source: str = "settings") -> Settings:
    """Validate a dict loaded from TOML; raise ConfigError naming the file, key and line when wrong."""
    loc = _Locator(text)

    def fail(table: str, key: str | None, why: str) -> ConfigError:
        line = loc.line_of(table, key)
        where = f"{source}" + (f", line {line}" if line else "")
        what = ".".join(p for p in (table, key) if p)
        return ConfigError(f"{where}: {what}: {why}")

    known = {"providers", "certificates", *TABLES}
    for top in data:
        if top not in known:
            raise fail("", top, f"unknown key (known: {', '.join(sorted(known))})")
    tables = {name: _parse_table(data.get(name, {}), TABLES[name], name, fail) for name in TABLES}
    providers = {
        name: _parse_provider(name, body, fail) for name, body in _subtables(data, "providers", fail)
    }
    certificates = {
        name: _parse_certificate(name, body, fail)
        for name, body in _subtables(data, "certificates", fail)
    }
    return Settings(providers, certificates, tables["general"], tables["renewal"], tables["ui"])


def _subtables(data: dict[str, Any], top: str, fail: Any) -> list[tuple[str, dict[str, Any]]]:
    section = data.get(top, {})
    if not isinstance(section, dict):
        raise fail("", top, "must be a table of named entries, like [" + top + ".NAME]")
    out = []
    for name, body in section.items():
        if not isinstance(body, dict):
            raise fail(top, name, f"must be a table: write [{top}.{name}]")
        try:
            validate_entry_name(name, top.rstrip("s"))
        except UsageError as exc:
            raise fail(f"{top}.{name}", None, exc.message) from None
        out.append((name, body))
    return out


def _parse_table(body: Any, fields: tuple[Field, ...], table: str, fail: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise fail("", table, f"must be a table: write [{table}]")
    by_key = {f.key: f for f in fields}
    out: dict[str, Any] = {}
    for key, value in body.items():
        spec = by_key.get(key)
        if spec is None:
            raise fail(table, key, f"unknown key (known: {', '.join(by_key)})")
        out[key] = _check_type(value, spec, table, fail)
    return out


def _check_type(value: Any, spec: Field, table: str, fail: Any) -> Any:
    if spec.type is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise fail(table, spec.key, f"must be a whole number, not {value!r}")
    if spec.type is bool and not isinstance(value, bool):
        raise fail(table, spec.key, f"must be true or false, not {value!r}")
    if spec.type is str and not isinstance(value, str):
        raise fail(table, spec.key, f"must be a string in quotes, not {value!r}")
    if spec.type is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise fail(table, spec.key, 'must be a list of strings, like ["a.example.com"]')
    if spec.type is int and not 0 <= value <= 10**7:
        raise fail(table, spec.key, f"{value} is out of range")
    return value


def _parse_provider(name: str, body: dict[str, Any], fail: Any) -> ProviderSpec:
    table = f"providers.{name}"
    values = _parse_table(body, PROVIDER_FIELDS, table, fail)
    directory = values.get("directory") or BUILTIN_PROVIDERS.get(name, "")
    if not directory:
        raise fail(table, "directory", "missing: give the CA's ACME directory URL")
    try:
        check_directory_url(directory)
    except UsageError as exc:
        raise fail(table, "directory", exc.message) from None
    values["directory"] = directory
    return ProviderSpec(name=name, **values)


def _parse_certificate(name: str, body: dict[str, Any], fail: Any) -> CertificateSpec:
    table = f"certificates.{name}"
    values = _parse_table(body, CERTIFICATE_FIELDS, table, fail)
    try:
        values["domains"] = normalize_domains(values.get("domains", []))
    except UsageError as exc:
        raise fail(table, "domains", exc.message) from None
    if not values.get("provider"):
        raise fail(table, "provider", "missing: name the provider to order from")
    key_type = values.get("key_type", "ec256")
    if key_type not in KEY_TYPES:
        raise fail(table, "key_type", f"{key_type!r} is not one of {', '.join(KEY_TYPES)}")
    if not 1 <= values.get("http_port", 80) <= 65535:
        raise fail(table, "http_port", "must be a port number from 1 to 65535")
    if values.get("webroot") and "http_port" in body:
        raise fail(table, "webroot", "give either webroot or http_port, not both")
    if bool(values.get("certfile")) != bool(values.get("keyfile")):
        raise fail(table, "keyfile", "certfile and keyfile go together: give both or neither")
    return CertificateSpec(name=name, **values)


def check_directory_url(url: str) -> str:
    """Refuse anything but an https:// URL: ACME over plain HTTP would expose the account."""
    if not re.fullmatch(r"https://[^\s/]+(/\S*)?", url):
        raise UsageError(
            f"directory {url!r} must be an https:// URL (plain http and other schemes are refused)"
        )
    return url


def provider_to_dict(spec: ProviderSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a provider into (settings values, secret values), leaving out defaults."""
    public: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    for f in PROVIDER_FIELDS:
        value = getattr(spec, f.key)
        if value == f.default:
            continue
        if f.key == "directory" and BUILTIN_PROVIDERS.get(spec.name) == value:
            continue
        (secret if f.key in SECRET_KEYS else public)[f.key] = value
    return public, secret


def certificate_to_dict(spec: CertificateSpec) -> dict[str, Any]:
    """A certificate's settings as a TOML-ready dict, leaving out defaults (domains always kept)."""
    out: dict[str, Any] = {"domains": list(spec.domains), "provider": spec.provider}
    for f in CERTIFICATE_FIELDS:
        value = getattr(spec, f.key)
        if f.key in out or value == f.default:
            continue
        out[f.key] = value
    return out


def with_certificate(settings: Settings, spec: CertificateSpec) -> Settings:
    """A copy of ``settings`` with ``spec`` added or replaced."""
    return replace(settings, certificates={**settings.certificates, spec.name: spec})


def with_provider(settings: Settings, spec: ProviderSpec) -> Settings:
    """A copy of ``settings`` with ``spec`` added or replaced."""
    return replace(settings, providers={**settings.providers, spec.name: spec})


def validate_table(table: str, values: dict[str, Any]) -> dict[str, Any]:
    """Check values for [general], [renewal] or [ui] as typed in a form or on the command line."""
    if table not in TABLES:
        raise UsageError(f"unknown settings table {table!r} (known: {', '.join(TABLES)})")

    def fail(tbl: str, key: str | None, why: str) -> UsageError:
        return UsageError(f"{tbl}.{key}: {why}")

    return _parse_table(values, TABLES[table], table, fail)
