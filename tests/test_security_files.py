"""Keys and secrets are 0600 in 0700 folders even under `umask 000`, and nothing we write is open to others.

The CLI runs as a separate process with umask 0 (the most permissive a careless service manager could set).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EAB_HMAC, EAB_KID, Home

from zerossl_tui.devtools.pebble import PebbleServer

pytestmark = pytest.mark.pebble


def run_umask0(home: Home, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "zerossl_tui", *args], env=home.env(), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0))
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return done


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_keys_and_secrets_are_0600_in_0700_folders_under_umask_000(home: Home, pebble_eab: PebbleServer) -> None:
    served = home.root / "etc" / "ssl" / "shop"  # does not exist yet: we create it
    run_umask0(home, "provider", "add", "eab", "--directory", pebble_eab.directory, "--ca-bundle",
               str(pebble_eab.ca_bundle), "--eab-kid", EAB_KID, "--eab-hmac-key", EAB_HMAC)
    run_umask0(home, "add", "shop", "-d", "shop.example.test", "--provider", "eab", "--http-port",
               str(pebble_eab.http_port), "--http-bind", "127.0.0.1", "--keyfile", str(served / "privkey.pem"),
               "--certfile", str(served / "fullchain.pem"), "--chainfile", str(served / "chain.pem"))
    run_umask0(home, "issue", "shop")
    run_umask0(home, "renew", "shop", "--force")

    secrets = home.config.with_name("secrets.toml")
    assert EAB_HMAC in secrets.read_text()
    private = [secrets, served / "privkey.pem", home.data / "accounts" / "eab" / "account.key",
               *home.data.glob("certificates/shop/versions/*/privkey.pem")]
    assert len(private) == 5
    for path in private:
        assert mode(path) == 0o600, f"{path}: {oct(mode(path))}"
    for folder in {p.parent for p in private} | {home.config.parent, home.data, home.data / "certificates"}:
        assert mode(folder) == 0o700, f"{folder}: {oct(mode(folder))}"
    assert mode(served / "fullchain.pem") == 0o644  # the web server must read the certificate

    # Nothing under the data folder or beside the settings is writable by others, or readable when private.
    for root in (home.data, home.config.parent):
        for path in (root, *root.rglob("*")):
            bits = mode(path)
            assert not bits & 0o002, f"{path} is writable by everyone: {oct(bits)}"
            if path.is_dir():
                assert bits == 0o700, f"{path}: {oct(bits)}"


def test_a_settings_file_holding_a_secret_by_hand_is_kept_0600(home: Home, pebble_eab: PebbleServer) -> None:
    """A secret the user wrote into settings.toml stays there, and the rewritten file becomes 0600."""
    home.config.parent.mkdir(parents=True)
    home.config.write_text(f'[providers.eab]\ndirectory = "{pebble_eab.directory}"\neab_kid = "{EAB_KID}"\n'
                           f'eab_hmac_key = "{EAB_HMAC}"\n')
    os.chmod(home.config, 0o644)
    run_umask0(home, "add", "x", "-d", "x.example.test", "--provider", "eab")
    assert EAB_HMAC in home.config.read_text()
    assert mode(home.config) == 0o600
