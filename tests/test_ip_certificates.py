"""Certificates for IP addresses (RFC 8738): normalised input, ``ip`` identifiers, IP SANs, http-01 on Pebble."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from conftest import Home
from cryptography import x509

from zerossl_tui.core.domains import ip_problem, normalize_domains
from zerossl_tui.core.errors import UsageError
from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.engine.keys import generate_key, make_csr
from zerossl_tui.engine.orders import new_order


def test_ip_addresses_are_normalised_and_deduplicated() -> None:
    names = normalize_domains(["127.0.0.1", "[::1]", "0:0::1", "2001:DB8::A", "Example.test"])
    assert names == ("127.0.0.1", "::1", "2001:db8::a", "example.test")


@pytest.mark.parametrize("name", ["*.127.0.0.1", "*.::1"])
def test_a_wildcard_ip_is_refused_in_one_line(name: str) -> None:
    with pytest.raises(UsageError) as caught:
        normalize_domains([name], allow_wildcard=True)
    assert "IP address cannot be a wildcard" in caught.value.message and "\n" not in caught.value.message


def test_ip_addresses_are_refused_with_dns01() -> None:
    problem = ip_problem(["example.test", "::1"], "dns-01")
    assert "::1" in problem and "http-01" in problem and "\n" not in problem
    assert ip_problem(["example.test", "::1"], "http-01") == ""
    assert ip_problem(["example.test"], "dns-01") == ""


def test_new_order_sends_ip_identifiers() -> None:
    body = new_order(["example.test", "127.0.0.1", "::1"]).to_partial_json()
    kinds = [(i.typ.name, i.value) for i in body["identifiers"]]
    assert kinds == [("dns", "example.test"), ("ip", "127.0.0.1"), ("ip", "::1")]


def test_csr_puts_ips_in_ip_sans_and_not_in_the_common_name() -> None:
    csr = x509.load_pem_x509_csr(make_csr(generate_key("ec256"), ["127.0.0.1", "www.example.test", "::1"]))
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"),
                                                        ipaddress.ip_address("::1")]
    assert san.get_values_for_type(x509.DNSName) == ["www.example.test"]
    assert csr.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME) == []


# -- against Pebble -----------------------------------------------------------------------------------------


def _sans(pem: bytes) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {str(i) for i in san.get_values_for_type(x509.IPAddress)}


def _issue(home: Home, pebble: PebbleServer, name: str, *domains: str, extra: tuple[str, ...] = ()) -> Path:
    """Add and issue through the CLI (the responder listens on every address: ::1 is validated over IPv6)."""
    cert = home.root / "srv" / name / "fullchain.pem"
    args = ["add", name, "--provider", "local", "--certfile", str(cert), "--keyfile", str(cert.with_name("k.pem"))]
    if not extra:
        args += ["--http-port", str(pebble.http_port)]
    for domain in domains:
        args += ["-d", domain]
    home.run(*args, *extra, check=True)
    done = home.run("issue", name)
    assert done.returncode == 0, done.stderr
    return cert


@pytest.mark.pebble
def test_certificate_for_ipv4_and_ipv6_is_issued_over_http01(local_home: Home, pebble: PebbleServer) -> None:
    cert = _issue(local_home, pebble, "loopback", "127.0.0.1", "0::1")
    assert _sans(cert.read_bytes()) == (set(), {"127.0.0.1", "::1"})
    rows = json.loads(local_home.run("list", "--json", check=True).stdout)
    row = next(r for r in rows if r["name"] == "loopback")
    assert row["domains"] == ["127.0.0.1", "::1"] and row["status"] == "valid"


@pytest.mark.pebble
def test_certificate_mixing_a_name_and_an_ip(local_home: Home, pebble: PebbleServer) -> None:
    cert = _issue(local_home, pebble, "mixed", "mixed.example.test", "127.0.0.1")
    assert _sans(cert.read_bytes()) == ({"mixed.example.test"}, {"127.0.0.1"})
    subject = x509.load_pem_x509_certificate(cert.read_bytes()).subject.rfc4514_string()
    assert "127.0.0.1" not in subject


@pytest.mark.pebble
def test_ip_certificate_through_a_web_root(local_home: Home, pebble: PebbleServer) -> None:
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    root = local_home.root / "www"
    root.mkdir()
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet."""

    handler = functools.partial(Quiet, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", pebble.http_port), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        cert = _issue(local_home, pebble, "byroot", "127.0.0.1", extra=("--webroot", str(root)))
    finally:
        server.shutdown()
        server.server_close()
    assert _sans(cert.read_bytes()) == (set(), {"127.0.0.1"})


def test_add_refuses_a_wildcard_ip_in_one_line(home: Home) -> None:
    done = home.run("add", "bad", "--provider", "letsencrypt", "-d", "*.10.0.0.1")
    assert done.returncode != 0
    assert "IP address cannot be a wildcard" in done.stderr and "Traceback" not in done.stderr
