"""Reading and writing ``settings.toml`` and its private companion ``secrets.toml``.

Secrets (``eab_hmac_key``, ``api_key``; for ``[dns.NAME]``: ``tsig_secret`` and credential lexicon
``options``) are written to ``secrets.toml`` (0600, in a folder created 0700)
and merged back into their provider on load, so ``settings.toml`` can be shared or shown. A secret that
the user wrote into ``settings.toml`` by hand stays there, and that file is then kept 0600. A new
``settings.toml`` is 0600; an existing one keeps its mode, minus write for group and others (hooks in it
may run as root).

Saving rewrites the files from the parsed settings: comments and layout of a hand-written settings file
are not kept (every setting is).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

from ..core.dnsconf import dns_to_dict
from ..core.errors import ConfigError, StorageError
from ..core.settings import (
    SECRET_KEYS,
    Settings,
    certificate_to_dict,
    parse_settings,
    provider_to_dict,
    table_document,
)
from ..core.text import escaped
from . import settings_cache
from .fsutil import atomic_write, ensure_dir, kept_mode, read_bytes_or_none, through_link
from .paths import Paths
from .settings_guard import check_settings_path

SECRET_MODE = 0o600
_TOML_POSITION = re.compile(r"(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)", re.S)

# (provider, key) pairs of secrets that live in settings.toml itself.
InlineSecrets = set[tuple[str, str]]
STORAGE_SECRET = "password"  # [storage] password: the fleet database's, kept in secrets.toml


def load_settings(paths: Paths) -> Settings:
    """The validated settings; empty settings when the file does not exist yet.

    Raises ConfigError naming the file (and line and key where known) for invalid TOML, unknown keys or
    wrong values, in either file.
    """
    text = _read_config_text(paths.config_file)
    if text is None:
        return Settings()
    kept = settings_cache.lookup(paths.config_file, text)  # a large file parsed before, same bytes
    data = kept.data if kept is not None else parse_toml(text, paths.config_file)
    secrets = load_all_secrets(paths.secrets_file)
    merged = merge_dns_secrets(merge_secrets(data, secrets.get("providers", {})), secrets.get("dns", {}))
    merged = _merge_storage_password(merged, load_storage_password(paths.secrets_file))
    try:
        settings = parse_settings(merged, text, source=str(paths.config_file),
                                  base_dir=str(paths.config_file.parent),
                                  checked=kept.certificates if kept is not None else None)
    except ConfigError as exc:
        raise ConfigError(escaped(_without_secrets(exc.message, merged))) from None
    if kept is None and not _secret_values(data):  # never a second copy of a secret
        settings_cache.store(paths.config_file, text, data, settings.certificates)
    return settings


def _without_secrets(message: str, data: dict[str, Any]) -> str:
    """``message`` with any secret value of ``data`` (even one of the wrong type, which the schema's error
    would quote) replaced by ``<secret>``."""
    values = _secret_values(data)
    for text in sorted({form for v in values for form in (repr(v), str(v))}, key=len, reverse=True):
        if len(text) >= 4:
            message = message.replace(text, "<secret>")
    return message


def _secret_values(data: dict[str, Any]) -> list[Any]:
    """Every secret value in ``data`` (provider keys, [dns.NAME] secrets, the [storage] password)."""
    providers = data.get("providers")
    bodies = providers.values() if isinstance(providers, dict) else ()
    values = [body[k] for body in bodies if isinstance(body, dict) for k in SECRET_KEYS if body.get(k)]
    values += _dns_secret_values(data)
    storage = data.get("storage")
    if isinstance(storage, dict) and storage.get(STORAGE_SECRET):
        values.append(storage[STORAGE_SECRET])
    return values


def _dns_secret_values(data: dict[str, Any]) -> list[Any]:
    """Every value in [dns.NAME] tables that is a secret (the TSIG secret, credential options)."""
    from ..core.dnsconf import is_secret_option

    tables = data.get("dns")
    out: list[Any] = []
    for body in tables.values() if isinstance(tables, dict) else ():
        if not isinstance(body, dict):
            continue
        if body.get("tsig_secret"):
            out.append(body["tsig_secret"])
        options = body.get("options")
        if isinstance(options, dict):
            out += [v for k, v in options.items() if v and is_secret_option(str(k))]
    return out


def _read_config_text(path: Path) -> str | None:
    check_settings_path(path)
    try:
        raw = read_bytes_or_none(path)
    except StorageError as exc:  # the settings are unusable as given: a configuration error (exit 2)
        raise ConfigError(exc.message) from None
    try:
        return raw.decode("utf-8") if raw is not None else None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start + 1}): save it as UTF-8") from None


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """``tomllib.loads``; its error becomes one line: ``FILE: invalid TOML at line N, column M: ...``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML{_describe_toml_error(exc)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: tables or arrays nested too deeply") from None


def _describe_toml_error(exc: tomllib.TOMLDecodeError) -> str:
    text = " ".join(str(exc).split())
    found = _TOML_POSITION.fullmatch(text)
    if not found:
        return f": {text}"
    msg = found["msg"]
    return f" at line {found['line']}, column {found['col']}: {msg[:1].lower()}{msg[1:]}"


def load_secrets(path: Path) -> dict[str, dict[str, str]]:
    """``{provider: {secret key: value}}`` from the secrets file ({} when it does not exist)."""
    return load_all_secrets(path).get("providers", {})


def load_all_secrets(path: Path) -> dict[str, Any]:
    """``{"providers": {name: secrets}, "dns": {name: secrets}}`` from the secrets file."""
    text = _read_config_text(path)
    if text is None:
        return {}
    _narrow_to_owner(path)
    data = parse_toml(text, path)
    out: dict[str, Any] = {"providers": _check_secrets(data, text, path)}
    if data.get("dns"):
        out["dns"] = data["dns"]
    return out


def _narrow_to_owner(path: Path) -> None:
    """Make a secrets file that others may read (written by hand under umask 022) 0600 again, when it is
    ours: its keys must not stay readable until the next save. Best effort: a read-only file stays as is."""
    try:
        st = path.stat()
        if st.st_uid == os.geteuid() and st.st_mode & 0o077:
            path.chmod(SECRET_MODE)
    except OSError:
        pass


def _check_dns_secrets(tables: Any, fail: Any) -> None:
    """[dns.NAME] in secrets.toml: ``tsig_secret`` and an ``options`` table of strings, nothing else."""
    if not isinstance(tables, dict):
        raise fail("dns", "dns", "must be a table of named entries, like [dns.NAME]")
    for name, body in tables.items():
        if not isinstance(body, dict):
            raise fail(f"dns.{name}", name, f"must be a table: write [dns.{name}]")
        for key, value in body.items():
            if key not in ("tsig_secret", "options"):
                raise fail(f"dns.{name}.{key}", key, "unknown key (known: tsig_secret, options)")
            ok = isinstance(value, str) if key == "tsig_secret" else (
                isinstance(value, dict) and all(isinstance(v, str) for v in value.values()))
            if not ok:
                raise fail(f"dns.{name}.{key}", key, "must be a string (options: a table of strings)")


def _check_secrets(data: dict[str, Any], text: str, path: Path) -> dict[str, dict[str, str]]:
    def fail(what: str, key: str, why: str) -> ConfigError:
        line = _line_of(text, key)
        return ConfigError(escaped(f"{path}" + (f", line {line}" if line else "") + f": {what}: {why}"))

    for top in data:
        if top not in ("providers", "notify", "dns", "storage"):
            raise fail(top, top, "unknown key (the secrets file holds only [providers.NAME], [notify], "
                                 "[dns.NAME] and [storage])")
    _check_notify_secrets(data.get("notify", {}), fail)
    _check_dns_secrets(data.get("dns", {}), fail)
    _check_storage_secret(data.get("storage", {}), fail)
    providers = data.get("providers", {})
    if not isinstance(providers, dict):
        raise fail("providers", "providers", "must be a table of named entries, like [providers.NAME]")
    out: dict[str, dict[str, str]] = {}
    for name, body in providers.items():
        if not isinstance(body, dict):
            raise fail(f"providers.{name}", name, f"must be a table: write [providers.{name}]")
        for key, value in body.items():
            if key not in SECRET_KEYS:
                raise fail(f"providers.{name}.{key}", key, f"unknown key (known: {', '.join(SECRET_KEYS)})")
            if not isinstance(value, str):
                raise fail(f"providers.{name}.{key}", key, f"must be a string in quotes, not {type(value).__name__}")
        out[name] = dict(body)
    return out


def _check_notify_secrets(notify: Any, fail: Any) -> None:
    """``[notify] urls = [...]`` of the secrets file: a list of strings (apprise URLs)."""
    if not isinstance(notify, dict) or set(notify) - {"urls"}:
        raise fail("notify", "notify", "must be a table holding only urls = [\"...\"]")
    urls = notify.get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise fail("notify.urls", "urls", "must be a list of URLs in quotes")


def load_notify_urls(path: Path) -> list[str]:
    """The notification URLs kept in the secrets file ([] when none)."""
    text = _read_config_text(path)
    if text is None:
        return []
    data = parse_toml(text, path)
    _check_secrets(data, text, path)
    return list(data.get("notify", {}).get("urls", []))


def _check_storage_secret(body: Any, fail: Any) -> None:
    if not isinstance(body, dict):
        raise fail("storage", "storage", "must be a table: write [storage]")
    for key, value in body.items():
        if key != STORAGE_SECRET:
            raise fail(f"storage.{key}", key, f"unknown key (known: {STORAGE_SECRET})")
        if not isinstance(value, str):
            raise fail(f"storage.{key}", key, f"must be a string in quotes, not {type(value).__name__}")


def load_storage_password(path: Path) -> str:
    """The fleet database password kept in the secrets file ("" when none)."""
    text = _read_config_text(path)
    if text is None:
        return ""
    data = parse_toml(text, path)
    _check_secrets(data, text, path)
    body = data.get("storage", {})
    return str(body.get(STORAGE_SECRET, ""))


def _merge_storage_password(data: dict[str, Any], password: str) -> dict[str, Any]:
    """``data`` with the secrets file's [storage] password, unless settings.toml sets one itself."""
    storage = data.get("storage")
    if not password or (storage is not None and not isinstance(storage, dict)):
        return data
    return {**data, "storage": {STORAGE_SECRET: password, **(storage or {})}}


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(r"^\s*(\[.*)?[\"']?" + re.escape(key) + r"[\"']?\s*(=|\])")
    return next((i + 1 for i, line in enumerate(text.splitlines()) if pattern.match(line)), None)


def merge_secrets(data: dict[str, Any], secrets: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A copy of ``data`` with each provider's secrets added, unless settings.toml already sets them.

    Secrets of a provider that settings.toml no longer has are ignored (and dropped at the next save).
    """
    providers = data.get("providers")
    if not isinstance(providers, dict):
        return data
    merged = dict(providers)
    for name, values in secrets.items():
        body = providers.get(name)
        if isinstance(body, dict):
            merged[name] = {**values, **body}
    return {**data, "providers": merged}


def merge_dns_secrets(data: dict[str, Any], secrets: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with each [dns.NAME]'s secrets merged in (options key by key); secrets of a DNS
    provider that settings.toml no longer has are ignored."""
    tables = data.get("dns")
    if not isinstance(tables, dict) or not secrets:
        return data
    merged = dict(tables)
    for name, values in secrets.items():
        body = tables.get(name)
        if isinstance(body, dict) and isinstance(values, dict):
            options = {**values.get("options", {}), **(body.get("options") or {})}
            merged[name] = {**values, **body} | ({"options": options} if options else {})
    return {**data, "dns": merged}


def save_settings(paths: Paths, settings: Settings) -> None:
    """Write ``settings`` atomically: public values to settings.toml, secrets to secrets.toml (0600).

    Refuses (ConfigError) to write settings that would not load again, so a save never leaves a file
    that the next start rejects. Comments in a hand-written settings file are lost. A settings file that
    is a symlink (kept in a dotfiles repository) is written through the link, which is kept; secrets
    still go beside the link, not into the repository.
    """
    import tomli_w  # only writers need it; reading uses the standard library's tomllib

    inline = _inline_secrets(paths.config_file)
    public, secret = split_settings(settings, inline)
    dns_secret = split_dns(settings, public)
    password = _pop_storage_password(public)
    parse_settings(_merge_storage_password(merge_dns_secrets(merge_secrets(public, secret), dns_secret), password),
                   source=f"not saved to {paths.config_file}")
    urls = load_notify_urls(paths.secrets_file)  # kept as they are: only `notify add/remove` changes them
    secret_doc: dict[str, Any] = {"providers": secret, **({"notify": {"urls": urls}} if urls else {}),
                                  **({"storage": {STORAGE_SECRET: password}} if password else {})}
    if dns_secret:
        secret_doc["dns"] = dns_secret
    text, secret_text = _utf8(tomli_w.dumps(public), paths), _utf8(tomli_w.dumps(secret_doc), paths)
    ensure_dir(paths.config_file.parent, 0o700, strict=False)
    if secret or dns_secret or password or paths.secrets_file.exists():
        atomic_write(paths.secrets_file, secret_text, SECRET_MODE)
    mode = SECRET_MODE if _holds_secrets(public) else kept_mode(paths.config_file, SECRET_MODE)
    atomic_write(through_link(paths.config_file), text, mode)


def _pop_storage_password(doc: dict[str, Any]) -> str:
    """Take the [storage] password out of the settings.toml document (it belongs in secrets.toml)."""
    storage = doc.get("storage")
    if not isinstance(storage, dict):
        return ""
    password = str(storage.pop(STORAGE_SECRET, ""))
    if not storage:
        del doc["storage"]
    return password


def _utf8(text: str, paths: Paths) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"not saved to {paths.config_file}: a value is not valid UTF-8 text") from None


def split_settings(
    settings: Settings, inline: Collection[tuple[str, str]] = ()
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """(settings.toml document, {provider: secrets}); secrets listed in ``inline`` stay in the first."""
    doc: dict[str, Any] = dict(table_document(settings))
    providers: dict[str, Any] = {}
    secrets: dict[str, dict[str, str]] = {}
    for name, spec in settings.providers.items():
        public, secret = provider_to_dict(spec)
        for key, value in secret.items():
            if (name, key) in inline:
                public[key] = value
            else:
                secrets.setdefault(name, {})[key] = value
        providers[name] = public
    if providers:
        doc["providers"] = providers
    if settings.certificates:
        doc["certificates"] = {name: certificate_to_dict(c) for name, c in settings.certificates.items()}
    return doc, secrets


def split_dns(settings: Settings, doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Put each [dns.NAME]'s public values into ``doc`` and return their secrets (always bound for
    secrets.toml: a DNS credential is never written to settings.toml)."""
    secrets: dict[str, dict[str, Any]] = {}
    tables: dict[str, Any] = {}
    for name, spec in settings.dns.items():
        tables[name], secret = dns_to_dict(spec)
        if secret:
            secrets[name] = secret
    if tables:
        doc["dns"] = tables
    return secrets


def _inline_secrets(config_file: Path) -> InlineSecrets:
    """Secrets that the current settings.toml holds itself (written there by hand)."""
    text = _read_config_text(config_file)
    if text is None:
        return set()
    providers = parse_toml(text, config_file).get("providers", {})
    if not isinstance(providers, dict):
        return set()
    return {(name, key) for name, body in providers.items() if isinstance(body, dict)
            for key in body if key in SECRET_KEYS}


def _holds_secrets(doc: dict[str, Any]) -> bool:
    providers = doc.get("providers", {})
    return any(key in SECRET_KEYS for body in providers.values() for key in body)
