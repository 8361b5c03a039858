"""Inputs found by the third new-user review: each is refused in one line when it is given, not saved to
fail (or to be replayed on a terminal) later."""

from __future__ import annotations

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
