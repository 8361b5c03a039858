"""Issue 14: `list` over a large store uses a parsed copy of settings.toml (storage/settings_cache.py) and
the index of current metadata; it must print exactly what parsing everything again prints, for every
status, and never show stale facts when settings.toml or a certificate changes behind its back."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from zerossl_tui.cli import output
from zerossl_tui.core.clock import FixedClock
from zerossl_tui.core.errors import ConfigError
from zerossl_tui.core.models import RenewalState
from zerossl_tui.devtools.demo import store_fake
from zerossl_tui.service.service import CertificateService
from zerossl_tui.storage.settings_cache import MIN_BYTES, cache_path

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PADDING = 900  # never-issued certificates that take settings.toml past MIN_BYTES
PROVIDER = '[providers.local]\ndirectory = "https://127.0.0.1:14000/dir"\n\n'
# name -> (days until not_after, or None for never issued); states and orders are added in `seeded`
CERTS = {"valid": 80, "due": 20, "expiring": 2, "expired": -1, "failed": 70, "revoked": 60, "never": None,
         "imported": 75}


def table(name: str, extra: str = "") -> str:
    return f'[certificates.{name}]\ndomains = ["{name}.example.test"]\nprovider = "local"\n{extra}\n'


def settings_text(extra: str = "") -> str:
    tables = [table(n) for n in CERTS] + [table(f"pad{k:04d}") for k in range(PADDING)]
    return PROVIDER + "".join(tables) + extra


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A settings file past MIN_BYTES and a store with a certificate in every status."""
    config = tmp_path / "config" / "settings.toml"
    config.parent.mkdir()
    config.write_text(settings_text())
    assert config.stat().st_size >= MIN_BYTES
    monkeypatch.setenv("ZEROSSL_TUI_DATA_DIR", str(tmp_path / "data"))
    service = CertificateService(str(config), clock=FixedClock(NOW))
    for k, (name, days) in enumerate(CERTS.items()):
        if days is not None:
            store_fake(service, name, (f"{name}.example.test",), NOW + timedelta(days=days), f"{k + 1:04X}AB")
    journal = service.journal
    journal.put_state("failed", RenewalState(failures=2, next_attempt=NOW + timedelta(minutes=5),
                                             last_error="urn:ietf:params:acme:error:connection: refused"))
    journal.put_state("revoked", RenewalState(revoked_serial="0006AB", revoked_at=NOW - timedelta(hours=1)))
    order = journal.start_order("imported", NOW - timedelta(days=15))
    journal.finish_order(order, "imported", NOW - timedelta(days=15), serial="0008AB")
    service.close()
    cache_path(config).unlink()  # each test starts from a store never listed
    return config


def listed(config: Path, capsys: pytest.CaptureFixture[str], *, as_json: bool = True) -> str:
    """What `list` (or `list --json`) prints, from a new service (a new process reads the same)."""
    service = CertificateService(str(config), clock=FixedClock(NOW))
    try:
        capsys.readouterr()
        output.views(service.views(), as_json=as_json, served_by=service.served_by() if as_json else None)
        return capsys.readouterr().out
    finally:
        service.close()


def test_list_prints_the_same_with_the_parsed_copy_as_without(home: Path, capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    assert not cache_path(home).exists()
    exact_json, exact_table = listed(home, capsys), listed(home, capsys, as_json=False)
    assert cache_path(home).exists()  # written by the first load
    assert listed(home, capsys) == exact_json
    assert listed(home, capsys, as_json=False) == exact_table
    rows = {row["name"]: row for row in json.loads(exact_json)}
    assert {name: rows[name]["status"] for name in CERTS} == {
        "valid": "valid", "due": "due", "expiring": "expiring", "expired": "expired", "failed": "failed",
        "revoked": "revoked", "never": "never-issued", "imported": "valid"}
    assert rows["imported"]["last_result"] == "imported"
    assert len(rows) == len(CERTS) + PADDING


def test_the_parsed_copy_gives_settings_equal_to_parsing(home: Path) -> None:
    first = CertificateService(str(home)).settings  # parses, keeps the copy
    again = CertificateService(str(home)).settings  # from the copy
    assert again == first
    assert again.certificates["valid"].domains == ("valid.example.test",)  # a tuple, as parsing gives


def rewrite(path: Path, text: str) -> None:
    """Write in place keeping size and mtime, so that only the bytes say it changed."""
    stat = path.stat()
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_an_edit_of_settings_toml_behind_the_copy_is_shown(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed(home, capsys)
    text = home.read_text()
    rewrite(home, text.replace('"valid.example.test"', '"valid.example.tesu"'))
    assert home.stat().st_size == len(text)
    rows = {row["name"]: row for row in json.loads(listed(home, capsys))}
    assert rows["valid"]["domains"] == ["valid.example.tesu"]
    rewrite(home, text.replace('provider = "local"', 'provider = "lokal"', 1))  # now invalid: refused
    with pytest.raises(ConfigError, match="unknown provider 'lokal'"):
        CertificateService(str(home))


def test_a_renewal_by_another_process_is_shown(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed(home, capsys)
    other = CertificateService(str(home), clock=FixedClock(NOW))  # the daemon, in its own process
    store_fake(other, "due", ("due.example.test",), NOW + timedelta(days=89), "0F00AB")
    other.close()
    row = next(r for r in json.loads(listed(home, capsys)) if r["name"] == "due")
    assert (row["serial"], row["status"]) == ("0F00AB", "valid")


def test_a_damaged_or_foreign_copy_is_not_used(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exact = listed(home, capsys)
    copy = cache_path(home)
    kept = json.loads(copy.read_text())
    kept["certificates"]["valid"]["domains"] = ["forged.example.test"]
    copy.write_text(json.dumps(kept))
    copy.chmod(0o666)  # others could have written it
    assert listed(home, capsys) == exact
    copy.write_text("{not json")
    copy.chmod(0o600)
    assert listed(home, capsys) == exact


def test_a_home_path_follows_home(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home.write_text(settings_text().replace(table("valid"), table(
        "valid", 'certfile = "~/certs/valid.pem"\nkeyfile = "~/certs/valid.key"\n')))
    monkeypatch.setenv("HOME", str(tmp_path / "alice"))
    assert CertificateService(str(home)).settings.certificates["valid"].certfile == f"{tmp_path}/alice/certs/valid.pem"
    monkeypatch.setenv("HOME", str(tmp_path / "bob"))
    assert CertificateService(str(home)).settings.certificates["valid"].certfile == f"{tmp_path}/bob/certs/valid.pem"


def test_no_copy_when_settings_toml_holds_a_secret(home: Path) -> None:
    text = home.read_text().replace('directory = "https://127.0.0.1:14000/dir"\n',
                                    'directory = "https://127.0.0.1:14000/dir"\neab_hmac_key = "c2VjcmV0LWtleQ"\n')
    home.write_text(text)
    home.chmod(0o600)
    secrets = home.parent / "secrets.toml"
    secrets.write_text('[dns.ns]\ntsig_secret = "dHNpZy1zZWNyZXQ"\n')
    secrets.chmod(0o600)
    assert CertificateService(str(home)).settings.providers["local"].eab_hmac_key == "c2VjcmV0LWtleQ"
    assert not cache_path(home).exists()
    home.write_text(text.replace('eab_hmac_key = "c2VjcmV0LWtleQ"\n', ""))
    CertificateService(str(home))
    assert cache_path(home).exists()
    assert "dHNpZy1zZWNyZXQ" not in cache_path(home).read_text()  # secrets.toml is never copied
    assert cache_path(home).stat().st_mode & 0o777 == 0o600


def test_a_small_settings_file_gets_no_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(PROVIDER + table("shop"))
    monkeypatch.setenv("ZEROSSL_TUI_DATA_DIR", str(tmp_path / "data"))
    assert CertificateService(str(config)).settings.certificates["shop"].provider == "local"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.toml"]


def meta_file(config: Path, name: str) -> Path:
    folder = config.parent.parent / "data" / "certificates" / name
    return folder / "versions" / (folder / "current").read_text().strip() / "meta.json"


def test_a_meta_json_edited_in_place_behind_the_index_is_shown(home: Path, capsys: pytest.CaptureFixture[str]
                                                               ) -> None:
    """A hand edit that keeps the size and sets the modification time back still shows (the index
    compares change times, which no tool can set back)."""
    listed(home, capsys)  # the index holds every row
    meta = meta_file(home, "valid")
    text = meta.read_text()
    rewrite(meta, text.replace('"0001AB"', '"0001AC"'))
    row = next(r for r in json.loads(listed(home, capsys)) if r["name"] == "valid")
    assert row["serial"] == "0001AC"


def test_a_deleted_current_version_falls_back_as_without_the_index(home: Path, capsys: pytest.CaptureFixture[str]
                                                                   ) -> None:
    listed(home, capsys)
    meta_file(home, "valid").unlink()  # the current version is now incomplete: no certificate to show
    row = next(r for r in json.loads(listed(home, capsys)) if r["name"] == "valid")
    assert (row["serial"], row["status"]) == (None, "never-issued")
