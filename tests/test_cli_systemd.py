"""`zerossl-tui systemd`: the printed unit runs with the settings and data this user's shell sees."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from conftest import Home


def unit_command(unit: str) -> tuple[list[str], dict[str, str]]:
    """The ExecStart command (without its last word) and the Environment= values of a unit's text."""
    start = re.search(r"^ExecStart=(.*)$", unit, re.M)
    assert start, unit
    env = dict(value.split("=", 1) for value in re.findall(r'^Environment="(.*)"$', unit, re.M))
    return shlex.split(start.group(1))[:-1], env


def test_the_unit_sees_the_certificates_of_the_shell_that_printed_it(home: Home) -> None:
    home.run("provider", "add", "p", "--directory", "https://ca.example/dir", check=True)
    home.run("add", "shop", "-d", "shop.example.com", "--provider", "p", check=True)
    command, env = unit_command(home.run("systemd", check=True).stdout)
    # systemd starts the daemon with none of this shell's variables, only the unit's own.
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("ZEROSSL_TUI_", "XDG_"))}
    bare["HOME"] = str(home.root / "elsewhere")
    done = subprocess.run([*command, "list", "--json"], env={**bare, **env}, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert [c["name"] for c in json.loads(done.stdout)] == ["shop"]
    # the folder the unit's process uses is the one the shell used (state, accounts, journal)
    assert env.get("ZEROSSL_TUI_DATA_DIR") == str(home.data)


def test_a_settings_path_with_percent_and_dollar_reaches_the_daemon_as_it_is(home: Home, tmp_path: Path) -> None:
    """systemd expands ``%X`` specifiers and ``$VAR`` in ExecStart: a path holding them must be escaped,
    or the unit does not load (``%Z``) or runs with another settings file (``%o``, ``$HOME``)."""
    config = tmp_path / "50%off %Z $HOME" / "it's.toml"
    config.parent.mkdir()
    home.run("--config", str(config), "provider", "add", "p", "--directory", "https://ca.example/dir", check=True)
    home.run("--config", str(config), "add", "shop", "-d", "shop.example.com", "--provider", "p", check=True)
    unit = home.run("--config", str(config), "systemd", check=True).stdout
    analyze = shutil.which("systemd-analyze")
    if analyze:
        (tmp_path / "zt-check.service").write_text(unit)
        checked = subprocess.run([analyze, "verify", str(tmp_path / "zt-check.service")], capture_output=True,
                                 text=True, timeout=60)
        assert "specifier" not in checked.stderr and checked.returncode == 0, checked.stderr
    # what systemd hands the process: %% -> %, $$ -> $, then the quotes undone
    start = re.search(r"^ExecStart=(.*)$", unit, re.M)
    assert start
    words = shlex.split(start.group(1).replace("%%", "%").replace("$$", "$"))
    assert words[words.index("--config") + 1] == str(config)
