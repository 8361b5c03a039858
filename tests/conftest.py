"""Shared fixtures: a real Pebble CA per test session, and an isolated settings + data folder per test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer

EAB_KID = "kid-1"
EAB_HMAC = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"


@pytest.fixture
def umask0() -> Iterator[None]:
    """Run the test under umask 000, so that modes come from the code and not from the umask."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture(scope="session")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    """A real Pebble (default 5% nonce rejection kept on purpose: retries must be exercised)."""
    server = PebbleServer(tmp_path_factory.mktemp("pebble"), PebbleOptions())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pebble_eab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    """A Pebble that requires External Account Binding with (EAB_KID, EAB_HMAC)."""
    server = PebbleServer(tmp_path_factory.mktemp("pebble-eab"), PebbleOptions(eab_keys={EAB_KID: EAB_HMAC}))
    server.start()
    yield server
    server.stop()


@dataclass
class Home:
    """An isolated user: settings file, data folder, and a way to run the real CLI."""

    root: Path
    config: Path
    data: Path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["ZEROSSL_TUI_CONFIG"] = str(self.config)
        env["ZEROSSL_TUI_DATA_DIR"] = str(self.data)
        env["HOME"] = str(self.root)
        env["XDG_CONFIG_HOME"] = str(self.root / ".config")
        env["XDG_DATA_HOME"] = str(self.root / ".local" / "share")
        return env

    def run(self, *args: str, check: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `python -m zerossl_tui ARGS` as a separate process, like a user would."""
        done = subprocess.run(
            [sys.executable, "-m", "zerossl_tui", *args], env=self.env(), capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"exit {done.returncode}: {done.stderr}")
        return done


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """Settings and data in tmp_path; the in-process service sees the same through the environment."""
    h = Home(tmp_path, tmp_path / "config" / "settings.toml", tmp_path / "data")
    for key, value in h.env().items():
        if key.startswith(("ZEROSSL_TUI_", "XDG_")) or key == "HOME":
            monkeypatch.setenv(key, value)
    return h


@pytest.fixture
def local_home(home: Home, pebble: PebbleServer) -> Home:
    """A home with provider `local` pointing at the session's Pebble, made through the CLI."""
    home.run("provider", "add", "local", "--directory", pebble.directory, "--ca-bundle",
             str(pebble.ca_bundle), "--email", "ops@example.com", check=True)
    return home
