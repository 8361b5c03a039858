"""`dns add` values that could never work are refused when saved, in one line that quotes at most a little
of them: a server name no resolver can look up (it used to end as "unexpected UnicodeError" at `dns
test`), an invalid punycode zone; a unicode zone is kept in punycode, as names looked up are ASCII."""

from __future__ import annotations

from conftest import Home
from helpers import one_line

SECRET = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTIzNDU2Nzg="


def test_impossible_servers_and_zones_are_refused_at_add(home: Home) -> None:
    base = ["dns", "add", "d", "--type", "rfc2136", "--tsig-key-name", "acme", "--tsig-secret", SECRET]
    for extra, says in (
        (["--server", "a" * 100_000], "is not a DNS server address"),
        (["--server", ("b" * 64) + ".example:53"], "is not a DNS server address"),
        (["--server", "127.0.0.1", "--resolver", "c" * 300], "is not a DNS server address"),
        (["--server", "127.0.0.1", "--zone", "xn--zz.example"], "invalid punycode"),
    ):
        done = home.run(*base, *extra)
        line = one_line(done.stderr)
        assert done.returncode == 2 and says in line and len(line) < 400, line
    assert not home.config.exists() or "[dns.d]" not in home.config.read_text()
    home.run(*base, "--server", "ns1.example.net:53", "--zone", "Example.NET.", check=True)
    home.run("dns", "add", "u", "--type", "manual", "--zone", "bücher.example", check=True)
    assert 'zone = "xn--bcher-kva.example"' in home.config.read_text(), "kept as the DNS holds it"
