"""Issue 14 at 10,000 certificates: a reload keeps the settings it parsed while neither settings.toml nor
secrets.toml changed (same bytes), and sees every change another process makes, even one that keeps the
file's size, and the fast paths of domain validation accept and refuse exactly what the full rules do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zerossl_tui.core.domains import normalize_domains, normalize_ip, validate_name
from zerossl_tui.core.errors import ConfigError, UsageError
from zerossl_tui.service.service import CertificateService

SETTINGS = """[providers.local]
directory = "https://127.0.0.1:14000/dir"

[certificates.shop]
domains = ["shop.example.com"]
provider = "local"
"""


@pytest.fixture()
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CertificateService:
    config = tmp_path / "config" / "settings.toml"
    config.parent.mkdir()
    config.write_text(SETTINGS)
    monkeypatch.setenv("ZEROSSL_TUI_DATA_DIR", str(tmp_path / "data"))
    return CertificateService(str(config))


def rewrite(path: Path, text: str) -> None:
    """Write in place, as an editor that keeps the inode does; mtime set back so only the bytes differ."""
    stat = path.stat()
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_an_unchanged_settings_file_is_not_parsed_again(service: CertificateService) -> None:
    first = service.settings
    assert service.reload() is first


def test_a_change_of_the_same_size_by_another_process_is_seen(service: CertificateService) -> None:
    config = service.config_file
    rewrite(config, SETTINGS.replace("shop.example.com", "shop.example.org"))
    assert config.stat().st_size == len(SETTINGS)
    assert service.reload().certificates["shop"].domains == ("shop.example.org",)


def test_a_change_of_secrets_toml_alone_is_seen(service: CertificateService) -> None:
    secrets = service.paths.secrets_file
    secrets.write_text('[providers.local]\neab_hmac_key = "a2V5LTE"\n')
    assert service.reload().providers["local"].eab_hmac_key == "a2V5LTE"
    rewrite(secrets, '[providers.local]\neab_hmac_key = "a2V5LTI"\n')
    assert service.reload().providers["local"].eab_hmac_key == "a2V5LTI"


def test_a_file_broken_after_loading_is_reported_at_each_reload(service: CertificateService) -> None:
    service.config_file.write_text("[certificates.shop\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="invalid TOML"):
            service.reload()


def test_a_save_of_this_service_is_read_back(service: CertificateService) -> None:
    service.add_certificate("blog", ["blog.example.com"], "local")
    service.config_file.write_text(service.config_file.read_text().replace("blog.example.com", "blog.example.net"))
    assert service.reload().certificates["blog"].domains == ("blog.example.net",)


@pytest.mark.parametrize("name", [
    "a.b", "shop.example.com", "1.2.3.4", "xn--fa-hia.de", "-a.example.com", "a-.example.com", "a..b",
    "Shop.Example.COM", "shop.example.com.", "*.example.com", "01.2.3.4", "[1.2.3.4]", "::1", "[::1]",
    "fe80::1%eth0", "a" * 64 + ".com", ".".join(["a" * 60] * 5), "faß.de", "a_b.example.com", "1.2.3",
    "localhost", "xn--bad.example", "exa mple.com",
])
def test_fast_paths_agree_with_the_full_rules(name: str) -> None:
    """Plain names take one regular expression, non-addresses skip ipaddress: same answers as before."""
    expected = _full_rules(name)
    try:
        got: str | Exception = validate_name(name, allow_wildcard=True)
    except UsageError as exc:
        got = exc
    assert (type(got), str(got)) == (type(expected), str(expected))


def _full_rules(name: str) -> str | Exception:
    """The answer of the rules as they were: the address check first, then the name's labels."""
    import ipaddress

    from zerossl_tui.core.domains import _check_label, to_ascii

    text = name.strip()
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        address = ipaddress.ip_address(inner)
    except ValueError:
        address = None
    try:
        if address is not None:
            return normalize_ip(name)
        ascii_name = to_ascii(name)
        labels = ascii_name.split(".")
        labels = labels[1:] if labels[0] == "*" else labels
        if len(ascii_name) > 253:
            raise UsageError(f"domain {name!r} is longer than 253 characters")
        if len(labels) < 2:
            raise UsageError(f"domain {name!r} needs at least two labels, such as example.com")
        for label in labels:
            _check_label(label, name)
        return ascii_name
    except UsageError as exc:
        return exc


def test_ten_thousand_plain_names_normalise_to_themselves() -> None:
    names = [f"s{k:05d}.zt.example.test" for k in range(10_000)]
    assert [normalize_domains([n]) for n in names] == [(n,) for n in names]
