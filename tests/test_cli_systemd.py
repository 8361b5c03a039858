"""`zerossl-tui systemd`: the printed unit runs with the settings and data this user's shell sees."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess

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
