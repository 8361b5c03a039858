"""`--verify HOST:PORT` host names: an internationalised name is kept in its ASCII form (what a resolver
looks up), and a name that could never be looked up (100 kB long, an empty label, invalid punycode) is
refused in one line when it is saved, not at every hourly check."""

from __future__ import annotations

from conftest import Home
from helpers import one_line


def test_a_unicode_host_is_stored_as_punycode_and_impossible_hosts_are_refused(home: Home) -> None:
    home.run("add", "shop", "-d", "shop.example.com", "--provider", "letsencrypt", check=True)
    home.run("edit", "shop", "--verify", "bücher.example:443", check=True)
    assert "xn--bcher-kva.example:443" in home.config.read_text()
    for bad, says in (("a" * 100_000 + ":443", "too long"), ("a..example:443", "empty label"),
                      ("xn--zz.example:443", "invalid punycode")):
        done = home.run("edit", "shop", "--verify", bad)
        line = one_line(done.stderr)
        assert done.returncode == 2 and "verify endpoint" in line and says in line, line
        assert len(line) < 400
    assert "xn--zz" not in home.config.read_text() and "aaaa" not in home.config.read_text()


def test_a_host_with_control_characters_is_refused_and_not_saved(home: Home) -> None:
    """An escape sequence or DEL in a verify host was saved (and replayed by every hourly check's log line
    and by `list`); the dashboard's form goes through the same check, NUL included."""
    from zerossl_tui.core.errors import UsageError
    from zerossl_tui.core.validate import check_endpoints

    home.run("add", "shop", "-d", "shop.example.com", "--provider", "letsencrypt", check=True)
    for bad in ("h\x1bx:443", "h\x7fx:443", "a_b\x07.example:443"):
        done = home.run("edit", "shop", "--verify", bad)
        line = one_line(done.stderr)
        assert done.returncode == 2 and "verify endpoint" in line and "invalid characters" in line, line
        assert "\x1b" not in line and "\x7f" not in line
    assert "verify" not in home.config.read_text()
    try:
        check_endpoints(["a\x00b:443"])
    except UsageError as exc:
        assert "invalid characters" in exc.message
    else:
        raise AssertionError("a NUL in a verify host was accepted")
