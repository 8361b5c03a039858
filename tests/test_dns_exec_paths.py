"""An `exec` DNS provider whose program path holds a space: run unquoted it cannot work (no shell splits it
the way the person meant), and the one-line error says how to quote it."""

from __future__ import annotations

from pathlib import Path

from conftest import Home
from dnsservers import ZONE, Bind, bind
from helpers import one_line

__all__ = ["bind"]  # fixture, imported for pytest


def test_an_unquoted_program_path_with_a_space_says_to_quote_it(home: Home, bind: Bind, tmp_path: Path) -> None:
    program = tmp_path / "my hooks" / "dns.sh"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    home.run("dns", "add", "ex", "--type", "exec", "--command", str(program), "--zone", ZONE, "--resolver",
             bind.server, check=True)
    done = home.run("dns", "test", "ex", ZONE)
    line = one_line(done.stderr)
    assert done.returncode == 1 and "cannot run" in line and "quote a path that holds spaces" in line, line


def test_a_present_that_never_ran_is_not_cleaned_up(home: Home, bind: Bind, tmp_path: Path) -> None:
    """A hook whose #! interpreter is missing exits 127 before adding anything: one error line saying so,
    no cleanup run, nothing said to remain in the zone."""
    calls = tmp_path / "calls"
    program = tmp_path / "dns.sh"
    program.write_text(f"#!/bin/sh\necho \"$1\" >> {calls}\nexec /nonexistent/curl \"$@\"\n")
    program.chmod(0o755)
    home.run("dns", "add", "ex", "--type", "exec", "--command", str(program), "--zone", ZONE, "--resolver",
             bind.server, check=True)
    done = home.run("dns", "test", "ex", ZONE)
    line = one_line(done.stderr)
    assert done.returncode == 1 and "status 127" in line and "nothing was added" in line, line
    assert "may remain" not in line
    assert calls.read_text().split() == ["present"]
    again = home.run("dns", "test", "ex", ZONE)  # nothing journaled for a later start to remove either
    assert calls.read_text().split() == ["present", "present"] and again.returncode == 1
