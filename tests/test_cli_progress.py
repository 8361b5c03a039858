"""Progress of a bulk `renew`, as real processes against a real Pebble: a bar on a terminal (a pty), the
plain lines of old when piped, nothing extra with --json, and Ctrl-C that stops cleanly."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Home
from test_import_clients import acme_sh_entry

from zerossl_tui.devtools.pebble import PebbleServer

pytestmark = pytest.mark.pebble
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
NAMES = ("p1", "p2", "p3")


def add_certs(home: Home, pebble: PebbleServer, names: tuple[str, ...]) -> None:
    for name in names:
        home.run("add", name, "-d", f"{name}.progress.test", "--provider", "local", "--http-port",
                 str(pebble.http_port), "--http-bind", "127.0.0.1", check=True)


class PtyRun:
    """`python -m zerossl_tui ARGS` with stdout on a pseudo-terminal (stderr piped), read as it runs."""

    def __init__(self, home: Home, *args: str) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.proc = subprocess.Popen([sys.executable, "-m", "zerossl_tui", *args], env=home.env(),
                                     stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        os.set_blocking(master, False)
        self.screen = b""

    def read(self) -> str:
        """Everything written to the terminal so far."""
        try:
            while chunk := os.read(self.master, 65536):
                self.screen += chunk
        except (BlockingIOError, OSError):
            pass
        return self.screen.decode(errors="replace")

    def wait_for(self, check: Callable[[str], bool], timeout: float = 120.0) -> bool:
        """Poll the terminal's text against a deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check(ANSI.sub("", self.read())):
                return True
            if self.proc.poll() is not None:
                return check(ANSI.sub("", self.read()))
            time.sleep(0.05)
        return False

    def finish(self, timeout: float = 180.0) -> tuple[int, str, str]:
        """Exit status, the terminal's text (escapes removed) and stderr."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read()
            time.sleep(0.05)
        err = self.proc.communicate(timeout=max(1.0, deadline - time.monotonic()))[1].decode()
        text = ANSI.sub("", self.read())
        os.close(self.master)
        return self.proc.returncode, text, err


def test_bulk_renew_on_a_terminal_shows_a_bar_with_counts(local_home: Home, pebble: PebbleServer) -> None:
    add_certs(local_home, pebble, NAMES)
    code, screen, err = PtyRun(local_home, "renew", "--force").finish()
    assert code == 0, err
    assert "renewing" in screen and "3/3" in screen
    assert "done 3 · failed 0 · left 0" in screen
    assert "━" in screen  # the bar itself
    for name in NAMES:
        assert f"{name}: renewed, serial" in screen
        assert f"{name}: started" not in screen  # steps stay off the terminal under the bar


def test_bulk_renew_piped_prints_plain_lines_only(local_home: Home, pebble: PebbleServer) -> None:
    add_certs(local_home, pebble, NAMES)
    done = local_home.run("renew", "--force")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sorted(line.split(":")[0] for line in lines) == sorted(NAMES)
    assert all(": renewed, serial " in line for line in lines)
    assert "\x1b" not in done.stdout and "━" not in done.stdout and "left" not in done.stdout


def test_bulk_renew_json_on_a_terminal_is_only_json(local_home: Home, pebble: PebbleServer) -> None:
    add_certs(local_home, pebble, NAMES)
    code, screen, err = PtyRun(local_home, "renew", "--force", "--json").finish()
    assert code == 0, err
    rows = json.loads(screen.replace("\r\n", "\n"))
    assert sorted(row["name"] for row in rows) == sorted(NAMES)
    assert all(row["result"] == "renewed" for row in rows)


def test_ctrl_c_stops_after_the_orders_in_flight_and_reports(local_home: Home, pebble: PebbleServer) -> None:
    names = tuple(f"c{i}" for i in range(6))
    add_certs(local_home, pebble, names)
    local_home.config.write_text(local_home.config.read_text() + "\n[renewal]\nconcurrency = 1\n")
    run = PtyRun(local_home, "renew", "--force")
    assert run.wait_for(lambda text: "done 1 ·" in text), run.read()
    run.proc.send_signal(signal.SIGINT)
    code, screen, err = run.finish()
    assert code == 130, err
    assert "stopping: the orders in flight end at their next step" in screen
    summary = re.search(r"interrupted: (\d+) renewed, (\d+) failed, (\d+) cancelled", err)
    assert summary is not None, err
    renewed, failed, cancelled = (int(n) for n in summary.groups())
    assert 1 <= renewed < len(names) and failed == 0 and renewed + cancelled == len(names)
    assert "Traceback" not in err
    rows = {row["name"]: row for row in json.loads(local_home.run("list", "--json", check=True).stdout)}
    assert sum(1 for row in rows.values() if row["last_result"] == "issued") >= renewed


def acme_sh_home(pebble: PebbleServer, tmp_path: Path, count: int) -> Path:
    """An acme.sh home with ``count`` entries, all holding one certificate really issued by Pebble."""
    src = Home(tmp_path / "src", tmp_path / "src" / "settings.toml", tmp_path / "src" / "data")
    src.run("provider", "add", "local", "--directory", pebble.directory, "--ca-bundle", str(pebble.ca_bundle),
            check=True)
    src.run("add", "one", "-d", "one.example.test", "--provider", "local", "--http-port", str(pebble.http_port),
            "--http-bind", "127.0.0.1", check=True)
    src.run("issue", "one", check=True)
    version = next((src.data / "certificates" / "one").glob("versions/*"))
    home_dir = tmp_path / ".acme.sh"
    for i in range(count):
        acme_sh_entry(home_dir, version, f"i{i}.example.test", f"Le_API='{pebble.directory}'\n")
    return home_dir


def test_import_on_a_terminal_shows_a_bar_and_piped_prints_the_report(
    local_home: Home, pebble: PebbleServer, tmp_path: Path
) -> None:
    store = acme_sh_home(pebble, tmp_path, 4)
    code, screen, err = PtyRun(local_home, "import", "acme.sh", "--home", str(store), "--dry-run").finish()
    assert code == 0, err
    assert "importing" in screen and "4/4" in screen and "done 4 · failed 0 · left 0" in screen
    assert "would import 4 of 4 certificate(s)" in screen
    piped = local_home.run("import", "acme.sh", "--home", str(store), check=True)
    assert "imported 4 of 4 certificate(s)" in piped.stdout
    assert "\x1b" not in piped.stdout and "importing" not in piped.stdout
