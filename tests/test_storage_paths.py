"""Where files live: --config, environment variables, and the data folder named in settings."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from zerossl_tui.core.errors import UsageError
from zerossl_tui.core.settings import Settings
from zerossl_tui.storage.paths import resolve_paths


@pytest.fixture(autouse=True)
def clean_env(monkeypatch) -> None:
    monkeypatch.delenv("ZEROSSL_TUI_CONFIG", raising=False)
    monkeypatch.delenv("ZEROSSL_TUI_DATA_DIR", raising=False)


def test_defaults_follow_the_platform() -> None:
    paths = resolve_paths()
    assert paths.config_file == Path(platformdirs.user_config_dir("zerossl-tui")) / "settings.toml"
    assert paths.secrets_file == paths.config_file.with_name("secrets.toml")
    assert paths.data_dir == Path(platformdirs.user_data_dir("zerossl-tui"))


def test_config_option_wins_over_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ZEROSSL_TUI_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_paths().config_file == tmp_path / "env.toml"
    paths = resolve_paths(str(tmp_path / "given.toml"))
    assert paths.config_file == tmp_path / "given.toml"
    assert paths.secrets_file == tmp_path / "secrets.toml"


def test_data_dir_from_settings_is_relative_to_the_settings_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ZEROSSL_TUI_DATA_DIR", str(tmp_path / "env-data"))
    config = str(tmp_path / "conf" / "settings.toml")
    assert resolve_paths(config).data_dir == tmp_path / "env-data"
    assert resolve_paths(config, "data").data_dir == tmp_path / "conf" / "data"
    settings = Settings(general={"data_dir": str(tmp_path / "abs")})
    assert resolve_paths(config).with_settings(settings).data_dir == tmp_path / "abs"


def test_layout(tmp_path: Path) -> None:
    paths = resolve_paths(str(tmp_path / "settings.toml"), str(tmp_path / "data"))
    assert paths.cert_dir("shop") == tmp_path / "data" / "certificates" / "shop"
    assert paths.accounts_dir("zerossl") == tmp_path / "data" / "accounts" / "zerossl"
    assert paths.journal_path == tmp_path / "data" / "journal.sqlite3"
    assert paths.locks_dir == tmp_path / "data" / "locks"


@pytest.mark.parametrize("bad", ["../etc", "a/b", "..", ""])
def test_names_cannot_escape_the_data_folder(tmp_path: Path, bad: str) -> None:
    paths = resolve_paths(str(tmp_path / "settings.toml"), str(tmp_path / "data"))
    with pytest.raises(UsageError):
        paths.cert_dir(bad)
