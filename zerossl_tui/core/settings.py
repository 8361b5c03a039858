"""The settings schema: what ``settings.toml`` may hold, documented once, validated strictly.

Each field's docstring (``doc``) is reused by ``--help`` and by the dashboard's settings screen. Parsing
turns a plain dict (from ``tomllib``) into frozen models; anything unknown or of the wrong type is a
ConfigError naming the key and, where it can be found, the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from .dnsconf import certificate_dns_problem, dns_from_values, dns_problem, wildcard_problem
from .domains import ip_problem, normalize_domains, validate_entry_name
from .errors import ConfigError, UsageError
from .models import CHALLENGES, CertificateSpec, DnsSpec, ProviderSpec
from .schema import (
    BUILTIN_PROVIDERS,
    CERTIFICATE_FIELDS,
    DEFAULT_PROVIDER,
    DNS_FIELDS,
    GENERAL_FIELDS,
    NOTIFY_EVENTS,
    PROVIDER_FIELDS,
    RENEWAL_FIELDS,
    STORAGE_BACKENDS,
    TABLE_TYPES,
    TABLES,
    UI_FIELDS,
    Field,
    GeneralSettings,
    NotifySettings,
    RenewalSettings,
    StorageSettings,
    UiSettings,
    changed_values,
    table_values,
)
from .validate import check_directory_url, check_email, check_endpoints, check_key_type, check_line, check_path, shown

SECRET_KEYS = ("eab_hmac_key", "api_key")

__all__ = [
    "BUILTIN_PROVIDERS", "CERTIFICATE_FIELDS", "DEFAULT_PROVIDER", "GENERAL_FIELDS", "PROVIDER_FIELDS",
    "RENEWAL_FIELDS", "TABLES", "UI_FIELDS", "Field", "GeneralSettings", "RenewalSettings", "Settings", "UiSettings",
    "check_directory_url",
]


@dataclass(frozen=True)
class Settings:
    """All settings, parsed and validated."""

    providers: dict[str, ProviderSpec] = field(default_factory=dict)
    certificates: dict[str, CertificateSpec] = field(default_factory=dict)
    general: GeneralSettings = field(default_factory=GeneralSettings)
    renewal: RenewalSettings = field(default_factory=RenewalSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    dns: dict[str, DnsSpec] = field(default_factory=dict)
    storage: StorageSettings = field(default_factory=StorageSettings)

    def __post_init__(self) -> None:
        # A plain dict for a table (as written by hand in code) is validated into its typed table.
        for name in TABLES:
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, validate_table(name, value))

    def table(self, name: str) -> dict[str, Any]:
        """Every value of [general], [renewal] or [ui] by key (for generic forms over the schema)."""
        return table_values(getattr(self, name))

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
        if self.general.default_provider:
            return self.general.default_provider
        if len(self.providers) == 1:
            return next(iter(self.providers))
        return DEFAULT_PROVIDER


class _Locator:
    """Finds the line of a key in the TOML text, so errors can point at it."""

    def __init__(self, text: str) -> None:
        self.text = text  # split only when an error needs a line: 10 ms for a settings file of 10,000 tables

    @cached_property
    def lines(self) -> list[str]:
        """The text's lines."""
        return self.text.splitlines()

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


def parse_settings(
    data: dict[str, Any], text: str = "", source: str = "settings", base_dir: str = "",
    checked: dict[str, CertificateSpec] | None = None,
) -> Settings:
    """Validate a dict loaded from TOML; raise ConfigError naming the file, key and line when wrong.

    Paths (certfile, keyfile, webroot, ca_bundle, data_dir, ...) get ``~`` expanded, and relative ones are
    taken relative to ``base_dir`` (the settings file's folder), so that they mean the same whatever the
    working directory of a later command. ``checked``: certificates whose tables (the very same text and
    ``base_dir``) were validated before, taken as they are (storage/settings_cache.py); the checks across
    tables still run.
    """
    done = checked or {}
    loc = _Locator(text)

    def fail(table: str, key: str | None, why: str) -> ConfigError:
        line = loc.line_of(table, key)
        where = f"{source}" + (f", line {line}" if line else "")
        what = ".".join(p for p in (table, key) if p)
        return ConfigError(f"{where}: {what}: {why}")

    known = {"providers", "certificates", "dns", *TABLES}
    for top in data:
        if top not in known:
            raise fail("", top, f"unknown key (known: {', '.join(sorted(known))})")
    tables = {name: _parse_table(data.get(name, {}), TABLES[name], name, fail, base_dir) for name in TABLES}
    providers = {
        name: _parse_provider(name, body, fail, base_dir) for name, body in _subtables(data, "providers", fail)
    }
    certificates = {
        name: done.get(name) or _parse_certificate(name, body, fail, base_dir)
        for name, body in _subtables(data, "certificates", fail)
    }
    _check_events(tables["notify"].get("events", []), fail)
    general, renewal, ui, notify = (TABLE_TYPES[n](**tables[n]) for n in ("general", "renewal", "ui", "notify"))
    settings = Settings(providers, certificates, general, renewal, ui, notify,
                        storage=StorageSettings(**tables["storage"]))
    dns = {name: _parse_dns(name, body, fail) for name, body in _subtables(data, "dns", fail)}
    settings = replace(settings, dns=dns)
    _check_provider_names(settings, fail)
    _check_dns_names(settings, fail)
    _check_storage(settings.storage, fail)
    return settings


def _parse_dns(name: str, body: dict[str, Any], fail: Any) -> DnsSpec:
    """One [dns.NAME] table (its secrets already merged in from secrets.toml)."""
    table = f"dns.{name}"
    values = _parse_table(body, DNS_FIELDS, table, fail)
    spec = dns_from_values(name, values)
    problem = dns_problem(spec, values)
    if problem:
        raise fail(table, problem[0], problem[1])
    return spec


def _check_dns_names(settings: Settings, fail: Any) -> None:
    """A dns-01 certificate names a configured [dns.NAME]; ``dns`` without dns-01 is a mistake."""
    for spec in settings.certificates.values():
        problem = certificate_dns_problem(spec, settings.dns)
        if problem:
            raise fail(f"certificates.{spec.name}", problem[0], problem[1])


def _check_storage(storage: StorageSettings, fail: Any) -> None:
    """[storage]: a known backend, and a dsn when it is PostgreSQL."""
    if storage.backend not in STORAGE_BACKENDS:
        raise fail("storage", "backend", f"unknown backend {shown(storage.backend)}: give "
                   + " or ".join(STORAGE_BACKENDS))
    if storage.backend == "postgresql" and not storage.dsn.strip():
        raise fail("storage", "dsn", "missing: give the fleet database's connection string, like "
                   "\"postgresql://zt@db.internal/zerossl\"")


def _check_provider_names(settings: Settings, fail: Any) -> None:
    """Every provider a certificate (or [general]) names must exist: found at load, not when first used."""
    known = set(settings.providers) | set(BUILTIN_PROVIDERS)
    hint = f"add it with `provider add` or use one of {', '.join(sorted(known))}"
    for spec in settings.certificates.values():
        if spec.provider not in known:
            raise fail(f"certificates.{spec.name}", "provider", f"unknown provider {shown(spec.provider)}: {hint}")
    chosen = settings.general.default_provider
    if chosen and chosen not in known:
        raise fail("general", "default_provider", f"unknown provider {shown(chosen)}: {hint}")


def _subtables(data: dict[str, Any], top: str, fail: Any) -> list[tuple[str, dict[str, Any]]]:
    section = data.get(top, {})
    if not isinstance(section, dict):
        raise fail("", top, "must be a table of named entries, like [" + top + ".NAME]")
    out = []
    for name, body in section.items():
        if not isinstance(body, dict):
            raise fail(top, name, f"must be a table: write [{top}.{name}]")
        try:
            validate_entry_name(name, {"dns": "DNS provider"}.get(top, top.rstrip("s")))
        except UsageError as exc:
            raise fail(f"{top}.{name}", None, exc.message) from None
        out.append((name, body))
    return out


_BY_KEY: dict[int, tuple[tuple[Field, ...], dict[str, Field]]] = {}


def _fields_by_key(fields: tuple[Field, ...]) -> dict[str, Field]:
    """``{key: field}`` of a schema, built once per schema (10,000 certificate tables share one); the entry
    holds the tuple itself, so its id cannot be reused by another."""
    cached = _BY_KEY.get(id(fields))
    if cached is None or cached[0] is not fields:
        cached = _BY_KEY[id(fields)] = (fields, {f.key: f for f in fields})
    return cached[1]


def _parse_table(body: Any, fields: tuple[Field, ...], table: str, fail: Any, base_dir: str = "") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise fail("", table, f"must be a table: write [{table}]")
    by_key = _fields_by_key(fields)
    out: dict[str, Any] = {}
    for key, value in body.items():
        spec = by_key.get(key)
        if spec is None:
            raise fail(table, key, f"unknown key (known: {', '.join(by_key)})")
        out[key] = _check_type(value, spec, table, fail)
        if spec.path:
            try:
                out[key] = check_path(out[key], base_dir)
            except UsageError as exc:
                raise fail(table, key, exc.message) from None
    return out


def _check_type(value: Any, spec: Field, table: str, fail: Any) -> Any:
    if spec.type is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise fail(table, spec.key, f"must be a whole number, not {shown(value)}")
    if spec.type is bool and not isinstance(value, bool):
        raise fail(table, spec.key, f"must be true or false, not {shown(value)}")
    if spec.type is str and not isinstance(value, str):
        raise fail(table, spec.key, f"must be a string in quotes, not {shown(value)}")
    if spec.type is dict and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
        raise fail(table, spec.key, 'must be a table of strings, like { key = "value" }')
    if spec.type is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise fail(table, spec.key, 'must be a list of strings, like ["a.example.com"]')
    if spec.type is int and not spec.min <= value <= spec.max:
        raise fail(table, spec.key, f"{value} is out of range: give {spec.min} to {spec.max}")
    return value


def _parse_provider(name: str, body: dict[str, Any], fail: Any, base_dir: str = "") -> ProviderSpec:
    table = f"providers.{name}"
    values = _parse_table(body, PROVIDER_FIELDS, table, fail, base_dir)
    directory = values.get("directory") or BUILTIN_PROVIDERS.get(name, "")
    if not directory:
        raise fail(table, "directory", "missing: give the CA's ACME directory URL")
    try:
        check_directory_url(directory)
    except UsageError as exc:
        raise fail(table, "directory", exc.message) from None
    try:
        check_email(values.get("email", ""))
    except UsageError as exc:
        raise fail(table, "email", exc.message) from None
    values["directory"] = directory
    return ProviderSpec(name=name, **values)


def _parse_certificate(name: str, body: dict[str, Any], fail: Any, base_dir: str = "") -> CertificateSpec:
    table = f"certificates.{name}"
    values = _parse_table(body, CERTIFICATE_FIELDS, table, fail, base_dir)
    challenge = values.get("challenge", "http-01")
    if challenge not in CHALLENGES:
        raise fail(table, "challenge", f"{shown(challenge)} is not one of {', '.join(CHALLENGES)}")
    try:
        problem = wildcard_problem(values.get("domains", []), challenge)
        if problem:
            raise UsageError(problem)
        values["domains"] = normalize_domains(values.get("domains", []), allow_wildcard=challenge == "dns-01")
        problem = ip_problem(values["domains"], challenge)  # IP addresses: http-01 only
        if problem:
            raise UsageError(problem)
    except UsageError as exc:
        raise fail(table, "domains", exc.message) from None
    if not values.get("provider"):
        raise fail(table, "provider", "missing: name the provider to order from")
    try:
        check_key_type(values.get("key_type", "ec256"))
    except UsageError as exc:
        raise fail(table, "key_type", exc.message) from None
    if values.get("webroot") and "http_port" in body:
        raise fail(table, "webroot", "give either webroot or http_port, not both")
    if bool(values.get("certfile")) != bool(values.get("keyfile")):
        raise fail(table, "keyfile", "certfile and keyfile go together: give both or neither")
    try:
        values["verify"] = check_endpoints(values.get("verify", ()))
    except UsageError as exc:
        raise fail(table, "verify", exc.message) from None
    return CertificateSpec(name=name, **values)


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
        value = list(value) if isinstance(value, tuple) else value
        if f.key in out or value == f.default:
            continue
        out[f.key] = value
    return out


def with_certificate(settings: Settings, spec: CertificateSpec) -> Settings:
    """A copy of ``settings`` with ``spec`` added or replaced."""
    return replace(settings, certificates={**settings.certificates, spec.name: spec})


def with_dns(settings: Settings, spec: DnsSpec) -> Settings:
    """A copy of ``settings`` with the DNS provider ``spec`` added or replaced."""
    return replace(settings, dns={**settings.dns, spec.name: spec})


def with_provider(settings: Settings, spec: ProviderSpec) -> Settings:
    """A copy of ``settings`` with ``spec`` added or replaced."""
    return replace(settings, providers={**settings.providers, spec.name: spec})


def _check_events(events: list[str], fail: Any) -> None:
    unknown = [e for e in events if e not in NOTIFY_EVENTS]
    if unknown:
        raise fail("notify", "events", f"unknown event {shown(unknown[0])} (known: {', '.join(NOTIFY_EVENTS)})")


def validate_table(table: str, values: dict[str, Any]) -> Any:
    """Check values for [general], [renewal] or [ui] (as typed in a form, on the command line or in code)
    and return the typed table; unset values keep their defaults."""
    if table not in TABLES:
        raise UsageError(f"unknown settings table {shown(table)} (known: {', '.join(TABLES)})")

    def fail(tbl: str, key: str | None, why: str) -> UsageError:
        return UsageError(f"{tbl}.{key}: {why}")

    values = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}  # as a typed table holds it
    checked = _parse_table(values, TABLES[table], table, fail)
    for spec in TABLES[table]:  # a hook or a theme name typed in a form or a command: no escape sequences
        if spec.type is str and not spec.path and isinstance(checked.get(spec.key), str):
            try:
                check_line(spec.key, checked[spec.key])
            except UsageError as exc:
                raise fail(table, spec.key, exc.message.split(" ", 1)[1]) from None
    if table == "notify":
        _check_events(list(checked.get("events", [])), fail)
    return TABLE_TYPES[table](**checked)


def table_document(settings: Settings) -> dict[str, dict[str, Any]]:
    """[general], [renewal] and [ui] as TOML-ready dicts, holding only values that differ from defaults."""
    doc = {name: changed_values(getattr(settings, name)) for name in TABLES}
    return {name: values for name, values in doc.items() if values}
