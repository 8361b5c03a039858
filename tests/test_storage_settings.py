"""settings.toml and secrets.toml: strict loading, lossless saving, secrets kept private."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from helpers import mode_of

from zerossl_tui.core.errors import ConfigError
from zerossl_tui.core.models import CertificateSpec, ProviderSpec
from zerossl_tui.core.settings import Settings, with_certificate
from zerossl_tui.storage.paths import Paths, resolve_paths
from zerossl_tui.storage.settings_file import load_settings, save_settings


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return resolve_paths(str(tmp_path / "conf" / "settings.toml"), str(tmp_path / "data"))


def rich_settings() -> Settings:
    providers = {
        "zerossl": ProviderSpec(
            "zerossl", "https://acme.zerossl.com/v2/DV90", email="ops@example.com", api_key="zs-api-secret"
        ),
        "local": ProviderSpec(
            "local",
            "https://localhost:14000/dir",
            eab_kid="kid-1",
            eab_hmac_key="hmac-secret",
            ca_bundle="/tmp/pebble-ca.pem",
        ),
        "letsencrypt": ProviderSpec("letsencrypt", "https://acme-v02.api.letsencrypt.org/directory"),
    }
    certificates = {
        "shop": CertificateSpec(
            "shop",
            ("shop.example.com", "www.shop.example.com"),
            "zerossl",
            key_type="ec384",
            http_port=8080,
            http_bind="127.0.0.1",
            certfile="/etc/ssl/shop/fullchain.pem",
            keyfile="/etc/ssl/shop/privkey.pem",
            chainfile="/etc/ssl/shop/chain.pem",
            reuse_key=True,
            deploy_hook="systemctl reload nginx",
            failure_hook="mail -s failed ops",
            profile="shortlived",
        ),
        "blog.v2": CertificateSpec("blog.v2", ("blog.example.org",), "local", webroot="/var/www/html"),
    }
    return Settings(
        providers=providers,
        certificates=certificates,
        general={"data_dir": "/srv/zt", "default_provider": "zerossl"},
        renewal={"concurrency": 8, "order_timeout": 1200, "hook_shell": True},
        ui={"theme": "nord"},
    )


def test_missing_file_gives_empty_settings(paths: Paths) -> None:
    assert load_settings(paths) == Settings()


def test_save_then_load_keeps_every_setting(paths: Paths) -> None:
    settings = rich_settings()
    save_settings(paths, settings)
    assert load_settings(paths) == settings
    save_settings(paths, load_settings(paths))
    assert load_settings(paths) == settings


def test_secrets_go_to_a_private_file_not_to_settings(paths: Paths, umask0: None) -> None:
    save_settings(paths, rich_settings())
    public = paths.config_file.read_text()
    assert "zs-api-secret" not in public and "hmac-secret" not in public
    assert "kid-1" in public
    secrets = tomllib.loads(paths.secrets_file.read_text())
    assert secrets["providers"]["zerossl"] == {"api_key": "zs-api-secret"}
    assert secrets["providers"]["local"] == {"eab_hmac_key": "hmac-secret"}
    assert mode_of(paths.secrets_file) == 0o600
    assert mode_of(paths.config_file.parent) == 0o700
    assert mode_of(paths.config_file) == 0o600  # it holds hook commands, which may run as root


def test_removing_a_secret_removes_it_from_disk(paths: Paths) -> None:
    settings = rich_settings()
    save_settings(paths, settings)
    local = settings.providers["local"]
    cleared = ProviderSpec(local.name, local.directory, eab_kid="", ca_bundle=local.ca_bundle)
    save_settings(paths, Settings(providers={"local": cleared}))
    assert "hmac-secret" not in paths.secrets_file.read_text()
    assert load_settings(paths).providers["local"].eab_hmac_key == ""


def test_hand_written_secret_stays_in_settings_which_becomes_private(paths: Paths) -> None:
    paths.config_file.parent.mkdir(parents=True)
    paths.config_file.write_text(
        '[providers.gts]\ndirectory = "https://dv.acme-v02.api.pki.goog/directory"\n'
        'eab_kid = "k"\neab_hmac_key = "hand-written"\n'
    )
    os.chmod(paths.config_file, 0o644)
    settings = load_settings(paths)
    assert settings.providers["gts"].eab_hmac_key == "hand-written"
    save_settings(paths, with_certificate(settings, CertificateSpec("a", ("a.example.com",), "gts")))
    assert 'eab_hmac_key = "hand-written"' in paths.config_file.read_text()
    assert mode_of(paths.config_file) == 0o600
    assert load_settings(paths).providers["gts"].eab_hmac_key == "hand-written"


def test_invalid_toml_names_file_line_and_column(paths: Paths) -> None:
    paths.config_file.parent.mkdir(parents=True)
    paths.config_file.write_text('[certificates.shop]\ndomains = ["a.example.com"]\nprovider = \n')
    with pytest.raises(ConfigError) as info:
        load_settings(paths)
    message = info.value.message
    assert message.startswith(f"{paths.config_file}: invalid TOML at line 3, column")
    assert "\n" not in message


def test_unknown_key_names_key_and_line(paths: Paths) -> None:
    paths.config_file.parent.mkdir(parents=True)
    paths.config_file.write_text(
        '[certificates.shop]\ndomains = ["a.example.com"]\nprovider = "letsencrypt"\nkeyfiel = "/x"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_settings(paths)
    assert str(paths.config_file) in info.value.message
    assert "line 4" in info.value.message
    assert "keyfiel" in info.value.message


def test_bad_secrets_file_is_named(paths: Paths) -> None:
    save_settings(paths, rich_settings())
    paths.secrets_file.write_text('[providers.local]\neab_hmac = "typo"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(paths)
    assert str(paths.secrets_file) in info.value.message
    assert "eab_hmac" in info.value.message and "line 2" in info.value.message
    paths.secrets_file.write_text("[providers.local\n")
    with pytest.raises(ConfigError, match="secrets.toml: invalid TOML at line 1"):
        load_settings(paths)


def test_save_refuses_settings_that_would_not_load_again(paths: Paths) -> None:
    save_settings(paths, rich_settings())
    before = paths.config_file.read_text()
    both = CertificateSpec("x", ("x.example.com",), "local", webroot="/var/www", http_port=8080)
    with pytest.raises(ConfigError, match="webroot"):
        save_settings(paths, with_certificate(rich_settings(), both))
    assert paths.config_file.read_text() == before


def test_a_settings_file_kept_as_a_symlink_stays_a_symlink(paths: Paths, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "zerossl.toml").write_text('[ui]\ntheme = "nord"\n')
    paths.config_file.parent.mkdir(parents=True)
    paths.config_file.symlink_to(dotfiles / "zerossl.toml")
    save_settings(paths, rich_settings())
    assert paths.config_file.is_symlink()
    assert load_settings(paths) == rich_settings()
    assert "hmac-secret" not in (dotfiles / "zerossl.toml").read_text()
    assert not (dotfiles / "secrets.toml").exists()


def test_a_settings_file_that_is_not_utf8_is_a_settings_error(paths: Paths) -> None:
    paths.config_file.parent.mkdir(parents=True)
    paths.config_file.write_bytes(b'[ui]\ntheme = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(paths)
