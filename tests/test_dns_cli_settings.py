"""[dns.NAME] tables and a certificate's challenge in settings.toml: checked at load (with the line), the
secrets of a DNS provider kept in secrets.toml only and merged back, wildcards only with dns-01."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from zerossl_tui.core.errors import ConfigError, UsageError
from zerossl_tui.core.models import DnsSpec
from zerossl_tui.core.settings import Settings, with_dns
from zerossl_tui.core.validate import build_certificate, build_dns
from zerossl_tui.storage.paths import Paths, resolve_paths
from zerossl_tui.storage.settings_file import load_settings, save_settings

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
TOKEN = "tok-7f3a9c2e5b"
BIND = f"""
[dns.bind]
type = "rfc2136"
server = "127.0.0.1:5353"
tsig_key_name = "acme"
tsig_secret = "{SECRET}"

[certificates.wild]
domains = ["*.example.net", "example.net"]
provider = "letsencrypt"
challenge = "dns-01"
dns = "bind"
"""


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return resolve_paths(str(tmp_path / "config" / "settings.toml"), str(tmp_path / "data"))


def write(paths: Paths, text: str) -> None:
    paths.config_file.parent.mkdir(parents=True, exist_ok=True)
    paths.config_file.write_text(text)


def load_error(paths: Paths, text: str) -> str:
    write(paths, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(paths)
    assert "\n" not in caught.value.message
    return caught.value.message


def test_a_dns01_wildcard_certificate_loads(paths: Paths) -> None:
    write(paths, BIND)
    settings = load_settings(paths)
    assert settings.certificates["wild"].domains == ("*.example.net", "example.net")
    assert settings.dns["bind"].tsig_secret == SECRET and settings.dns["bind"].server == "127.0.0.1:5353"


@pytest.mark.parametrize(("change", "expected"), [
    (('challenge = "dns-01"\n', ""), r"line 9: certificates\.wild\.domains: wildcard '\*\.example\.net' needs"),
    (('dns = "bind"', 'dns = "other"'), r"line 12: certificates\.wild\.dns: unknown DNS provider 'other'"),
    (('dns = "bind"', ""), r"certificates\.wild\.dns: missing: dns-01 needs a DNS provider"),
    (('server = ', 'servr = '), r"line 4: dns\.bind\.servr: unknown key \(known: type, server"),
    (('type = "rfc2136"', 'type = "carrier-pigeon"'), r"line 3: dns\.bind\.type: 'carrier-pigeon' is unknown"),
    (('tsig_key_name = "acme"', 'command = "/bin/true"'), r"dns\.bind\.command: is for type exec only"),
    (('challenge = "dns-01"', 'challenge = "tls-alpn-01"'), r"certificates\.wild\.challenge: 'tls-alpn-01' is not"),
])
def test_wrong_dns_settings_are_one_line_naming_key_and_line(paths: Paths, change: tuple[str, str],
                                                            expected: str) -> None:
    message = load_error(paths, BIND.replace(*change))
    assert re.search(expected, message), message
    assert SECRET not in message


def test_dns_without_dns01_is_an_error(paths: Paths) -> None:
    text = BIND.replace('challenge = "dns-01"\n', "").replace('"*.example.net", ', "")
    assert "certificates.wild.dns: is only used with challenge = \"dns-01\"" in load_error(paths, text)


def test_a_bad_secret_is_never_quoted(paths: Paths) -> None:
    message = load_error(paths, BIND.replace(SECRET, "not base64 at all!" + SECRET))
    assert "dns.bind.tsig_secret: is not base64" in message and SECRET not in message


def test_dns_secrets_go_to_secrets_toml_only_and_come_back(paths: Paths, umask0: None) -> None:
    lexicon = build_dns("pd", type="lexicon", lexicon_provider="powerdns",
                        options={"auth_token": TOKEN, "pdns_server": "http://127.0.0.1:8081"})
    settings = with_dns(with_dns(Settings(), build_dns("bind", type="rfc2136", server="127.0.0.1:5353",
                                                       tsig_key_name="acme", tsig_secret=SECRET)), lexicon)
    save_settings(paths, settings)
    public, private = paths.config_file.read_text(), paths.secrets_file.read_text()
    assert SECRET not in public and TOKEN not in public and "pdns_server" in public
    assert SECRET in private and TOKEN in private and "pdns_server" not in private
    assert stat.S_IMODE(paths.secrets_file.stat().st_mode) == 0o600
    loaded = load_settings(paths)
    assert loaded.dns == settings.dns
    assert dict(loaded.dns["pd"].options) == {"auth_token": TOKEN, "pdns_server": "http://127.0.0.1:8081"}
    assert TOKEN not in repr(loaded) and SECRET not in repr(loaded)


def test_a_secret_written_into_settings_toml_by_hand_moves_out_at_the_next_save(paths: Paths) -> None:
    write(paths, BIND)
    save_settings(paths, load_settings(paths))
    assert SECRET not in paths.config_file.read_text() and SECRET in paths.secrets_file.read_text()
    assert load_settings(paths).dns["bind"].tsig_secret == SECRET


def test_build_dns_checks_what_each_type_needs() -> None:
    with pytest.raises(UsageError, match="tsig-secret missing"):
        build_dns("b", type="rfc2136", server="ns1.example.net", tsig_key_name="acme")
    with pytest.raises(UsageError, match="server 'ns1 example' is not a DNS server address"):
        build_dns("b", type="rfc2136", server="ns1 example", tsig_key_name="acme", tsig_secret=SECRET)
    with pytest.raises(UsageError, match="command missing"):
        build_dns("x", type="exec")
    with pytest.raises(UsageError, match="type missing"):
        build_dns("x")
    base = build_dns("b", type="rfc2136", server="ns1.example.net", tsig_key_name="acme", tsig_secret=SECRET)
    edited = build_dns("b", base, zone="example.net")  # the rest is kept
    assert edited == DnsSpec("b", "rfc2136", server="ns1.example.net", tsig_key_name="acme", tsig_secret=SECRET,
                             zone="example.net")
    assert build_dns("m", type="manual").type == "manual"


def test_wildcards_follow_the_challenge() -> None:
    with pytest.raises(UsageError, match="--challenge dns-01 --dns NAME"):
        build_certificate("w", ["*.example.net"], "letsencrypt")
    spec = build_certificate("w", ["*.Example.net", "example.net"], "letsencrypt", dns="bind")
    assert spec.challenge == "dns-01" and spec.domains == ("*.example.net", "example.net")
    back = build_certificate("w", ["example.net"], "letsencrypt", spec, challenge="http-01")
    assert back.dns == ""
