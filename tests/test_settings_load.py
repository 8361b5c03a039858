"""Settings that load but would fail later are refused at load, in one line with exit 2; paths mean the
same whatever the working directory (issue 10, items 6-8; issue 9, typed settings with ranges)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Home

from zerossl_tui.core.errors import ConfigError, UsageError
from zerossl_tui.core.settings import Settings, validate_table
from zerossl_tui.service.service import CertificateService


def _line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def _write(home: Home, text: str) -> None:
    home.config.parent.mkdir(parents=True, exist_ok=True)
    home.config.write_text(text)


@pytest.mark.parametrize("key, value", [("concurrency", 0), ("order_timeout", 0), ("order_timeout", 29),
                                        ("request_timeout", 0), ("hook_timeout", 0)])
def test_renewal_values_out_of_range_are_refused_at_load(home: Home, key: str, value: int) -> None:
    _write(home, f"[renewal]\n{key} = {value}\n")
    done = home.run("list")
    assert done.returncode == 2
    line = _line(done)
    assert f"renewal.{key}" in line and "out of range" in line and "line 2" in line


def test_typed_tables_have_defaults_and_attributes() -> None:
    settings = Settings(renewal={"concurrency": 7})
    assert settings.renewal.concurrency == 7 and settings.renewal.order_timeout == 900
    assert settings.ui.autorenew is True and settings.general.data_dir == ""
    with pytest.raises(UsageError, match="concurrency"):
        validate_table("renewal", {"concurrency": 0})


def test_relative_paths_are_taken_from_the_settings_folder_not_the_working_directory(home: Home,
                                                                                      tmp_path: Path) -> None:
    _write(home, '[certificates.shop]\ndomains = ["shop.example.com"]\nprovider = "letsencrypt"\n'
                 'certfile = "tls/cert.pem"\nkeyfile = "tls/key.pem"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for cwd in (tmp_path, elsewhere):
        done = subprocess.run([sys.executable, "-m", "zerossl_tui", "list", "--json"], cwd=cwd, env=home.env(),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    spec = CertificateService().certificate("shop")
    assert spec.certfile == str(home.config.parent / "tls" / "cert.pem")
    assert spec.keyfile == str(home.config.parent / "tls" / "key.pem")


def test_a_relative_path_given_to_add_is_relative_to_where_the_command_runs(home: Home, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([sys.executable, "-m", "zerossl_tui", "add", "shop", "-d", "shop.example.com",
                           "--provider", "letsencrypt", "--certfile", "c.pem", "--keyfile", "k.pem"],
                          cwd=work, env=home.env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert CertificateService().certificate("shop").keyfile == str(work / "k.pem")


@pytest.mark.parametrize("path", ["~nosuchuser-zt/c.pem", "a\\u0000b.pem"])
def test_paths_that_cannot_work_are_refused_at_load_and_nothing_is_wedged(home: Home, path: str) -> None:
    _write(home, '[certificates.bad]\ndomains = ["bad.example.com"]\nprovider = "letsencrypt"\n'
                 f'certfile = "{path}"\nkeyfile = "/tmp/k.pem"\n')
    done = home.run("renew")
    assert done.returncode == 2
    assert "certificates.bad.certfile" in _line(done)


@pytest.mark.parametrize("text, needle", [
    ('[general]\ndata_dir = "~nosuchuser-zt/data"\n', "general.data_dir"),
    ('[general]\ndata_dir = "a\\u0000b"\n', "general.data_dir"),
    ('[general]\ndefault_provider = "nosuch"\n', "general.default_provider"),
    ('[certificates.x]\ndomains = ["x.example.com"]\nprovider = "nosuch"\n', "certificates.x.provider"),
    ("a = " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply"),
])
def test_bad_values_are_one_config_error_at_load(home: Home, text: str, needle: str) -> None:
    _write(home, text)
    done = home.run("list")
    assert done.returncode == 2
    assert needle in _line(done)


def test_a_huge_wrong_value_is_not_echoed_whole(home: Home) -> None:
    _write(home, "[renewal]\nconcurrency = \"" + "x" * 5_000_000 + "\"\n")
    done = home.run("list")
    assert done.returncode == 2
    line = _line(done)
    assert "renewal.concurrency" in line and len(line) < 400


def test_a_data_dir_that_is_a_file_and_a_config_that_is_a_folder_are_usage_errors(home: Home,
                                                                                tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    _write(home, f'[general]\ndata_dir = "{afile}"\n')
    assert home.run("list").returncode == 2
    folder = tmp_path / "folder"
    folder.mkdir()
    done = home.run("--config", str(folder), "list")
    assert done.returncode == 2 and str(folder) in _line(done)


def test_control_characters_in_a_directory_url_are_refused_at_load(home: Home) -> None:
    _write(home, '[providers.evil]\ndirectory = "https://ca\\u001b[31m.example/dir"\n')
    done = home.run("provider", "list")
    assert done.returncode == 2
    line = _line(done)
    assert "providers.evil.directory" in line and "\x1b" not in line


def test_the_parsed_error_type_is_config_error() -> None:
    from zerossl_tui.core.settings import parse_settings

    with pytest.raises(ConfigError):
        parse_settings({"renewal": {"concurrency": 0}})
