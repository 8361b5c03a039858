"""Property tests of settings files (storage.settings_file.load_settings): whatever settings.toml and
secrets.toml hold (random TOML, wrong types, unknown keys, broken syntax, bytes that are not UTF-8), loading
gives valid settings or one ConfigError line, never any other exception; and what loads, saves and loads
again unchanged.

Derandomized (the same cases on every run); ``ZT_PROPS_SCALE=10`` runs ten times as many, and
``ZT_PROPS_RANDOM=1`` draws new ones.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from helpers import examples
from hypothesis import event, example, given
from hypothesis import strategies as st

from zerossl_tui.core.errors import ConfigError
from zerossl_tui.core.settings import CERTIFICATE_FIELDS, PROVIDER_FIELDS, TABLES, Settings
from zerossl_tui.storage.paths import Paths
from zerossl_tui.storage.settings_file import load_settings, save_settings


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("props-settings")


def _paths(folder: Path, sub: str = "a") -> Paths:
    config = folder / sub / "settings.toml"
    config.parent.mkdir(exist_ok=True)
    return Paths(config, config.with_name("secrets.toml"), folder / sub / "data")


def _write(path: Path, data: bytes | None) -> None:
    if data is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(data)


# -- documents --------------------------------------------------------------------------------------------

KNOWN_KEYS = sorted({f.key for fields in (*TABLES.values(), PROVIDER_FIELDS, CERTIFICATE_FIELDS) for f in fields})
key = st.sampled_from(KNOWN_KEYS) | st.text(max_size=12) | st.sampled_from(["", " ", "a.b", "é", "a\nb", "\x7f"])
entry_name = st.sampled_from(["shop", "local", "zerossl", "letsencrypt", "a", "..", "-x", "x" * 70]) | st.text(
    max_size=10)
scalar = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["https://ca.example/dir", "https://ca.example/dir\n", "http://ca.example/dir", "ec256",
                     "rsa4096", "shop.example.com", "*.example.com", "local", "/tmp/x\x00y", "true"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(-2, 70000),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.dates(),
    st.times(),
)
value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(key, inner, max_size=3),
                     max_leaves=4)
domains = st.lists(st.sampled_from(["shop.example.com", "www.shop.example.com", "a..b", "*.x.com"]) | st.text(
    max_size=12), max_size=4)


def body(fields: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    known = {f.key: (domains if f.key == "domains" else value) for f in fields}
    return st.dictionaries(st.sampled_from(sorted(known)), value, max_size=6) | st.fixed_dictionaries(
        {}, optional=known) | st.dictionaries(key, value, max_size=4)


random_document = st.fixed_dictionaries({}, optional={
    "general": body(TABLES["general"]) | value,
    "renewal": body(TABLES["renewal"]) | value,
    "ui": body(TABLES["ui"]),
    "providers": st.dictionaries(entry_name, body(PROVIDER_FIELDS) | value, max_size=3) | value,
    "certificates": st.dictionaries(entry_name, body(CERTIFICATE_FIELDS) | value, max_size=3) | value,
}) | st.dictionaries(key, value, max_size=4)

# Documents that are valid, or nearly: good values with, now and then, one of them spoiled.
good_name = st.sampled_from(["shop", "local", "zerossl", "a.b_c-1", "letsencrypt"])
good_provider = st.fixed_dictionaries({"directory": st.sampled_from(["https://ca.example/dir",
                                                                     "https://localhost:14000/dir"])}, optional={
    "email": st.sampled_from(["ops@example.com", ""]),
    "eab_kid": st.just("kid-1"),
    "eab_hmac_key": st.just("zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"),
    "ca_bundle": st.text(max_size=20),
})
good_certificate = st.fixed_dictionaries({
    "domains": st.lists(st.sampled_from(["shop.example.com", "www.shop.example.com", "B\u00fccher.example",
                                         "x.example.org."]), min_size=1, max_size=3),
    "provider": good_name,
}, optional={
    "key_type": st.sampled_from(["ec256", "ec384", "rsa2048"]),
    "http_port": st.integers(1, 65535),
    "http_bind": st.sampled_from(["", "127.0.0.1", "::"]),
    "reuse_key": st.booleans(),
    "deploy_hook": st.text(max_size=30),
    "fullchain": st.text(max_size=20),
    "profile": st.text(max_size=8),
})
good_document = st.fixed_dictionaries({}, optional={
    "general": st.fixed_dictionaries({}, optional={"data_dir": st.text(max_size=20),
                                                   "default_provider": good_name}),
    "renewal": st.fixed_dictionaries({}, optional={"concurrency": st.integers(0, 64), "hook_shell": st.booleans(),
                                                   "hook_timeout": st.integers(0, 10**7 + 1)}),
    "ui": st.fixed_dictionaries({}, optional={"theme": st.text(max_size=10)}),
    "providers": st.dictionaries(good_name, good_provider, max_size=3),
    "certificates": st.dictionaries(good_name, good_certificate, max_size=3),
})


@st.composite
def spoiled(draw: st.DrawFn, documents: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A document with, half of the time, one value somewhere replaced by anything at all."""
    doc = draw(documents)
    if draw(st.booleans()):
        return doc
    holder: dict[str, Any] = doc
    while True:
        keys = sorted(holder)
        if not keys:
            holder[draw(key)] = draw(value)
            return doc
        chosen = draw(st.sampled_from(keys))
        if isinstance(holder[chosen], dict) and draw(st.booleans()):
            holder = holder[chosen]
            continue
        holder[chosen if draw(st.booleans()) else draw(key)] = draw(value)
        return doc


document = spoiled(good_document) | random_document
secrets_document = st.just({}) | st.fixed_dictionaries({"providers": st.dictionaries(
    good_name, st.fixed_dictionaries({}, optional={"eab_hmac_key": st.text(max_size=10),
                                                   "api_key": st.text(max_size=10)}), max_size=2)}) | spoiled(
    st.dictionaries(st.just("providers") | key, st.dictionaries(
        entry_name, st.dictionaries(st.sampled_from(["eab_hmac_key", "api_key"]) | key, value, max_size=2)
        | value, max_size=2) | value, max_size=2))


def _toml(data: dict[str, Any]) -> bytes | None:
    try:
        return tomli_w.dumps(data).encode()
    except (TypeError, ValueError):
        return None  # not representable in TOML (tomli_w refuses NaN keys and the like)


@st.composite
def file_bytes(draw: st.DrawFn, documents: st.SearchStrategy[dict[str, Any]]) -> bytes | None:
    """A TOML file, sometimes broken by an edit, sometimes not text at all, sometimes missing."""
    kind = draw(st.sampled_from(["toml", "toml", "toml", "toml", "edited", "junk", "missing"]))
    if kind == "missing":
        return None
    if kind == "junk":
        return draw(st.binary(max_size=80) | st.text(max_size=80).map(str.encode))
    text = _toml(draw(documents)) or b""
    if kind == "edited" and text:
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + draw(st.sampled_from([b"", b"[", b"]", b"=", b'"', b"\n", b"\xff", b"\\", b"#"])) + text[
            at + cut:]
    return text


def _check_one_line(exc: ConfigError) -> None:
    assert exc.message and "\n" not in exc.message and "\r" not in exc.message, exc.message


@examples(1200)
@given(file_bytes(document), st.none() | file_bytes(secrets_document))
@example(b'[certificates.a]\ndomains = ["a.example.com"]\nprovider = "x"\n"bad\\nkey" = 1\n', None)
@example(b'"a\\nb" = 1\n', None)
@example(b"\xef\xbb\xbf[general]\n", None)
@example(b'[providers.p]\ndirectory = "https://ca.example/dir"\n', b'[providers.p]\neab_hmac_key = 1\n')
def test_any_settings_file_loads_or_is_one_config_error(folder: Path, config: bytes | None,
                                                        secrets: bytes | None) -> None:
    paths = _paths(folder)
    _write(paths.config_file, config)
    _write(paths.secrets_file, secrets)
    try:
        loaded = load_settings(paths)
    except ConfigError as exc:
        _check_one_line(exc)
        event("refused: " + ("invalid TOML" if "invalid TOML" in exc.message else exc.message.split(": ")[-1][:20]))
        return
    event(f"loaded: {len(loaded.providers)} providers, {len(loaded.certificates)} certificates")
    assert isinstance(loaded, Settings)
    assert all(p.directory.startswith("https://") for p in loaded.providers.values())


def test_directory_with_a_trailing_newline_is_refused(folder: Path) -> None:
    paths = _paths(folder, "newline")
    _write(paths.config_file, b'[providers.x]\ndirectory = "https://ca.example/dir\\n"\n')
    with pytest.raises(ConfigError, match="https://"):
        load_settings(paths)


@examples(250)
@given(file_bytes(document), file_bytes(secrets_document))
def test_what_loads_saves_and_loads_again_unchanged(folder: Path, config: bytes | None,
                                                   secrets: bytes | None) -> None:
    source, copy = _paths(folder, "src"), _paths(folder, "copy")
    _write(source.config_file, config)
    _write(source.secrets_file, secrets)
    try:
        loaded = load_settings(source)
    except ConfigError:
        return
    for path in (copy.config_file, copy.secrets_file):
        path.unlink(missing_ok=True)
    save_settings(copy, loaded)
    assert load_settings(copy) == loaded


secret_value = st.one_of(
    st.text(max_size=12).map(lambda t: "S3CRET" + t),
    st.lists(st.text(max_size=5).map(lambda t: "S3CRET" + t), min_size=1, max_size=2),
    st.integers(0, 10**6).map(lambda n: 918273645000000 + n),
    st.dictionaries(st.sampled_from(["a", "b"]), st.just("S3CRET"), min_size=1),
)


@examples(200)
@given(st.sampled_from(["eab_hmac_key", "api_key"]), secret_value, st.booleans(), good_provider,
       st.none() | st.dictionaries(st.sampled_from(["email", "colour", "eab_kid"]), scalar, max_size=2))
def test_a_secret_is_never_quoted_in_an_error_whatever_its_type(folder: Path, key_name: str, secret: Any,
                                                                in_secrets_file: bool, provider: dict[str, Any],
                                                                extra: dict[str, Any] | None) -> None:
    paths = _paths(folder, "secret")
    body = {**provider, **(extra or {})}
    if in_secrets_file:
        config, secrets = {"providers": {"p": body}}, {"providers": {"p": {key_name: secret}}}
    else:
        config, secrets = {"providers": {"p": {**body, key_name: secret}}}, {}
    _write(paths.config_file, _toml(config))
    _write(paths.secrets_file, _toml(secrets) if secrets else None)
    try:
        load_settings(paths)
    except ConfigError as exc:
        _check_one_line(exc)
        assert "S3CRET" not in exc.message and "9182736450" not in exc.message, exc.message
