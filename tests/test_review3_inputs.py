"""Inputs found by the third new-user review: each is refused in one line when it is given, not saved to
fail (or to be replayed on a terminal) later."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Home
from helpers import one_line


def test_an_exec_dns_command_with_an_escape_sequence_is_refused(home: Home) -> None:
    """Every other hook refuses control characters; an exec DNS program was saved with them, `dns list`
    showed it escaped and every order failed to start it."""
    for bad in ("/bin/true\x1b[1m", "/bin/\x07true", "x" * 5000):
        done = home.run("dns", "add", "hook", "--type", "exec", "--command", bad)
        line = one_line(done.stderr)
        assert done.returncode == 2 and "command" in line and "\x1b" not in line and len(line) < 400, line
    assert not home.config.exists() or "hook" not in home.config.read_text()
    home.run("dns", "add", "hook", "--type", "exec", "--command", "/usr/local/bin/dns-hook --quiet", check=True)


@pytest.mark.parametrize("limit", ["0", "-5"])
def test_log_limit_must_be_positive(home: Home, limit: str) -> None:
    """`--limit 0` printed an order, `--limit -5` every order: neither is what was asked."""
    home.run("add", "shop", "-d", "shop.example.com", "--provider", "letsencrypt", check=True)
    done = home.run("log", "shop", "--limit", limit)
    assert done.returncode == 2 and "--limit" in one_line(done.stderr) and "at least 1" in done.stderr


def test_a_folder_that_is_not_an_acme_sh_home_is_named_as_such(home: Home, tmp_path: Path) -> None:
    """`import acme.sh --home /etc` listed every DOMAIN/DOMAIN.conf look-alike (fonts/fonts.conf, ...) as a
    certificate it could not import, and exited 0: a folder whose .conf files are not acme.sh's is not an
    acme.sh home."""
    etc = tmp_path / "etc"
    for name in ("fonts", "ld.so"):
        (etc / name).mkdir(parents=True)
        (etc / name / f"{name}.conf").write_text("<fontconfig>\n  <dir>/usr/share/fonts</dir>\n</fontconfig>\n")
    done = home.run("import", "acme.sh", "--home", str(etc))
    assert done.returncode == 2 and done.stdout == ""
    assert one_line(done.stderr).endswith(f"{etc} is not an acme.sh folder (no DOMAIN/DOMAIN.conf in it); "
                                          "give --home")


def test_notify_add_with_nothing_on_standard_input_says_so(home: Home) -> None:
    """`notify add -` with an empty standard input blamed a URL `?://***/***` the person never typed."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "zerossl_tui", "notify", "add", "-"], env=home.env(), input="\n",
                          capture_output=True, text=True, timeout=60)
    line = one_line(done.stderr)
    assert done.returncode == 2 and "standard input" in line and "?://" not in line, line


def test_a_settings_path_that_is_not_a_regular_file_is_refused_and_left_alone(home: Home, tmp_path: Path) -> None:
    """`--config /dev/null add ...` read nothing, then *replaced the device* with a settings file (as root,
    /dev/null itself); a FIFO hung every command. Both are now one line, exit 2, and left as they were."""
    import os
    import stat

    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    done = home.run("--config", str(fifo), "list", timeout=60)
    assert done.returncode == 2 and "not a regular file" in one_line(done.stderr)
    if os.geteuid() != 0:
        return
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null
    done = home.run("--config", str(device), "add", "x", "-d", "x.example.com", "--provider", "letsencrypt")
    assert done.returncode == 2 and "not a regular file" in one_line(done.stderr)
    assert stat.S_ISCHR(device.stat().st_mode), "the device was replaced by a file"
