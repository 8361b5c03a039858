"""`zerossl-tui sandbox` stops the Pebble it started however it ends, and keeps its files where it is told.

Pebble and pebble-challtestsrv run in the sandbox's `pebble` folder, so the processes it started are the
live ones whose working directory is that folder: counted from /proc before and after each way to end.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import Home
from helpers import mode_of, one_line

from zerossl_tui.devtools.pebble import PebbleMissing, find_pebble

pytestmark = pytest.mark.pebble


@pytest.fixture(autouse=True)
def _needs_pebble() -> None:
    try:
        find_pebble()
    except PebbleMissing as exc:
        pytest.skip(str(exc))


def started_here(folder: Path) -> list[int]:
    """Live (not zombie) processes whose working directory is ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or os.readlink(entry / "cwd") != str(folder.resolve()):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # it ended while we looked
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


def none_left(folder: Path, within: float = 30) -> bool:
    """Wait (up to a generous ``within`` seconds) until no process runs in ``folder``."""
    deadline = time.monotonic() + within
    while started_here(folder):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Running:
    """A `sandbox --no-ui` process that has started its CA."""

    proc: subprocess.Popen[str]
    pebble_dir: Path
    port: int
    lines: list[str] = field(default_factory=list)

    def end(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, "".join(self.lines) + out, err


def sandbox_env(home: Home) -> dict[str, str]:
    return {**home.env(), "ZEROSSL_TUI_SANDBOX": str(home.root / "sandbox"), "TERM": "xterm-256color"}


@contextlib.contextmanager
def start_no_ui(home: Home, *args: str) -> Iterator[Running]:
    """`sandbox --no-ui ARGS`, once it says where its CA and settings are (after --config, or the default)."""
    config = Path(args[args.index("--config") + 1]) if "--config" in args else home.root / "sandbox" / "settings.toml"
    proc = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "sandbox", "--no-ui", *args],
                            env=sandbox_env(home), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # printed once the CA answers and the settings are written
        assert first.startswith("sandbox CA: https://localhost:"), first + proc.communicate(timeout=60)[1]
        second = proc.stdout.readline()
        assert second == f"settings: {config}\n"
        yield Running(proc, config.parent / "pebble", int(first.rsplit(":", 1)[1].split("/")[0]), [first, second])
    finally:
        end_all(proc, config.parent / "pebble")


@pytest.fixture
def no_ui(home: Home) -> Iterator[Running]:
    with start_no_ui(home) as running:
        yield running


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_stops_pebble_and_frees_its_ports(no_ui: Running, sig: signal.Signals) -> None:
    assert len(started_here(no_ui.pebble_dir)) == 2  # pebble and pebble-challtestsrv
    assert not port_is_free(no_ui.port)
    no_ui.proc.send_signal(sig)
    code, out, err = no_ui.end()
    assert code == 0 and f"sandbox stopped ({sig.name})" in out and "Traceback" not in err, (out, err)
    assert started_here(no_ui.pebble_dir) == []
    assert port_is_free(no_ui.port)


def test_pebble_dies_with_a_sigkilled_sandbox(no_ui: Running) -> None:
    assert len(started_here(no_ui.pebble_dir)) == 2
    no_ui.proc.kill()
    no_ui.proc.wait()
    assert none_left(no_ui.pebble_dir), f"left running: {started_here(no_ui.pebble_dir)}"


def test_an_error_after_pebble_started_stops_it(home: Home) -> None:
    """A broken settings file is only read once Pebble runs (its new port goes into the file)."""
    config = home.root / "broken" / "settings.toml"
    config.parent.mkdir()
    config.write_text("[general\n")
    done = subprocess.run([sys.executable, "-m", "zerossl_tui", "sandbox", "--no-ui", "--config", str(config)],
                          env=sandbox_env(home), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "settings.toml" in one_line(done.stderr)
    assert (config.parent / "pebble" / "pebble-config.json").exists(), "Pebble was meant to start first"
    assert started_here(config.parent / "pebble") == []


def test_config_keeps_settings_pebble_and_data_beside_the_given_file(home: Home) -> None:
    config = home.root / "mine" / "sandbox.toml"
    config.parent.mkdir(mode=0o755)
    with start_no_ui(home, "--config", str(config)) as running:
        assert running.pebble_dir == config.parent / "pebble" and len(started_here(running.pebble_dir)) == 2
        running.proc.send_signal(signal.SIGTERM)
        assert running.end()[0] == 0
    settings = tomllib.loads(config.read_text())
    assert settings["general"]["data_dir"] == str(config.parent / "data")
    assert settings["general"]["default_provider"] == "sandbox" and {"shop", "blog"} <= set(settings["certificates"])
    assert mode_of(config.parent) == 0o755, "a folder the sandbox did not make keeps its mode"
    assert not (home.root / "sandbox").exists() and not (home.root / ".local" / "share" / "zerossl-tui").exists()
    listed = home.run("list", "--config", str(config), check=True).stdout
    assert "shop" in listed and "api" in listed


def test_config_naming_real_settings_is_refused_and_left_alone(home: Home, tmp_path: Path) -> None:
    config = tmp_path / "real.toml"
    config.write_text('[certificates.www]\ndomains = ["www.example.com"]\nprovider = "letsencrypt"\n')
    before = config.read_bytes()
    done = subprocess.run([sys.executable, "-m", "zerossl_tui", "sandbox", "--no-ui", "--config", str(config)],
                          env=sandbox_env(home), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "letsencrypt" in one_line(done.stderr)
    assert config.read_bytes() == before
    assert started_here(tmp_path / "pebble") == []


# -- the dashboard, in a real pseudo-terminal -----------------------------------------------------------

@dataclass
class Terminal:
    """The sandbox dashboard on a pty; ``screen`` collects everything it drew."""

    proc: subprocess.Popen[bytes]
    master: int
    screen: bytearray = field(default_factory=bytearray)

    def read_all(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the dashboard closed the terminal
                return
            if not chunk:
                return
            self.screen.extend(chunk)


@pytest.fixture
def dashboard(home: Home) -> Iterator[Terminal]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "sandbox"], env=sandbox_env(home),
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    term = Terminal(proc, master)
    threading.Thread(target=term.read_all, daemon=True).start()
    pebble_dir = home.root / "sandbox" / "pebble"
    try:
        deadline = time.monotonic() + 90
        while b"shop.sandbox.test" not in term.screen or len(started_here(pebble_dir)) != 2:
            assert proc.poll() is None and time.monotonic() < deadline, bytes(term.screen[-2000:])
            time.sleep(0.2)
        yield term
    finally:
        end_all(proc, pebble_dir)
        os.close(master)


def end_all(proc: subprocess.Popen[bytes] | subprocess.Popen[str], pebble_dir: Path) -> None:
    """Whatever the test found, leave nothing running: the sandbox, then what runs in its folder."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pid in started_here(pebble_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_until_issued(home: Home, config: Path, within: float) -> bool:
    """Poll `list --json` until every certificate of the sandbox is valid."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        rows = json.loads(home.run("list", "--json", "--config", str(config), check=True).stdout)
        if rows and all(row["status"] == "valid" for row in rows):
            return True
        time.sleep(0.5)
    return False


@pytest.mark.parametrize("how", ["q", "SIGTERM", "SIGHUP"])
def test_dashboard_ends_stop_pebble(dashboard: Terminal, home: Home, how: str) -> None:
    pebble_dir = home.root / "sandbox" / "pebble"
    if how == "q":  # once the examples are issued: with orders running, `q` asks first
        assert wait_until_issued(home, home.root / "sandbox" / "settings.toml", within=120)
        os.write(dashboard.master, b"q")
    else:
        dashboard.proc.send_signal(signal.Signals[how])
    assert dashboard.proc.wait(timeout=60) == 0
    assert started_here(pebble_dir) == []
