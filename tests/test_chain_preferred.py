"""Preferred chain against a real Pebble that offers alternate chains (PEBBLE_ALTERNATE_ROOTS=2,
PEBBLE_CHAIN_LENGTH=3): the chosen chain leads to the requested root, an unknown root keeps the default."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Home
from cryptography import x509
from faultproxy import FaultProxy, Rule, problem, respond

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.engine.keys import split_pem_certs
from zerossl_tui.service.service import CertificateService

pytestmark = pytest.mark.pebble


@pytest.fixture(scope="module")
def alt_pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    """A Pebble with three roots (0 is the default chain); its RSA roots take a while to make."""
    server = PebbleServer(tmp_path_factory.mktemp("pebble-alt"),
                          PebbleOptions(alternate_roots=2, chain_length=3, authz_reuse=0))
    server.start(timeout=180)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def roots(alt_pebble: PebbleServer) -> list[x509.Certificate]:
    """Pebble's roots, from its management API."""
    return [x509.load_pem_x509_certificate(alt_pebble.root_pem(i)) for i in range(3)]


def _cn(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value)


def _issue(home: Home, pebble: PebbleServer, name: str, *extra: str) -> Path:
    fullchain = home.root / "srv" / name / "fullchain.pem"
    home.run("add", name, "-d", f"{name}.example.test", "--provider", "alt", "--http-port", str(pebble.http_port),
             "--http-bind", "127.0.0.1", "--fullchain", str(fullchain), *extra, check=True)
    done = home.run("issue", name)
    assert done.returncode == 0, done.stderr
    return fullchain


def _assert_leads_to(fullchain: Path, root: x509.Certificate) -> None:
    """Every certificate is signed by the next one, and the topmost by ``root``."""
    certs = [x509.load_pem_x509_certificate(b) for b in split_pem_certs(fullchain.read_bytes())]
    assert len(certs) == 4  # the leaf and PEBBLE_CHAIN_LENGTH=3 intermediates (the root is not sent)
    for child, parent in zip(certs, [*certs[1:], root], strict=True):
        child.verify_directly_issued_by(parent)


def _row(home: Home, name: str) -> dict[str, object]:
    rows = json.loads(home.run("list", "--json", check=True).stdout)
    return next(r for r in rows if r["name"] == name)


def _events(home: Home, name: str) -> list[str]:
    orders = json.loads(home.run("log", name, "--json", check=True).stdout)
    return [e["message"] for e in orders[0]["events"]]


@pytest.fixture
def alt_home(home: Home, alt_pebble: PebbleServer) -> Home:
    home.run("provider", "add", "alt", "--directory", alt_pebble.directory, "--ca-bundle",
             str(alt_pebble.ca_bundle), check=True)
    return home


def test_preferred_chain_of_the_certificate_leads_to_that_root(
        alt_home: Home, alt_pebble: PebbleServer, roots: list[x509.Certificate]) -> None:
    wanted = _cn(roots[1].subject)
    fullchain = _issue(alt_home, alt_pebble, "alt1", "--preferred-chain", wanted)
    _assert_leads_to(fullchain, roots[1])
    assert _row(alt_home, "alt1")["chain"] == wanted
    assert any("using the alternate chain" in m for m in _events(alt_home, "alt1"))


def test_provider_setting_applies_and_the_certificate_setting_wins(
        alt_home: Home, alt_pebble: PebbleServer, roots: list[x509.Certificate]) -> None:
    alt_home.run("provider", "add", "alt", "--preferred-chain", _cn(roots[2].subject), check=True)
    _assert_leads_to(_issue(alt_home, alt_pebble, "byprov"), roots[2])
    _assert_leads_to(_issue(alt_home, alt_pebble, "own", "--preferred-chain", _cn(roots[1].subject)), roots[1])
    assert _row(alt_home, "byprov")["chain"] == _cn(roots[2].subject)
    assert _row(alt_home, "own")["chain"] == _cn(roots[1].subject)


def test_without_a_preference_the_default_chain_is_kept_and_named(
        alt_home: Home, alt_pebble: PebbleServer, roots: list[x509.Certificate]) -> None:
    _assert_leads_to(_issue(alt_home, alt_pebble, "plain"), roots[0])
    assert _row(alt_home, "plain")["chain"] == _cn(roots[0].subject)
    assert not any("alternate chain" in m or "default chain" in m for m in _events(alt_home, "plain"))


def test_unknown_root_keeps_the_default_chain_and_says_so_once(
        alt_home: Home, alt_pebble: PebbleServer, roots: list[x509.Certificate]) -> None:
    fullchain = _issue(alt_home, alt_pebble, "unknown", "--preferred-chain", "No Such Root CA")
    _assert_leads_to(fullchain, roots[0])
    notes = [m for m in _events(alt_home, "unknown") if "keeping the default chain" in m]
    assert len(notes) == 1
    assert "'No Such Root CA'" in notes[0]
    assert all(_cn(r.subject) in notes[0] for r in roots)  # every chain on offer is named
    assert _row(alt_home, "unknown")["chain"] == _cn(roots[0].subject)


def test_edit_sets_and_clears_the_preferred_chain(home: Home) -> None:
    home.run("add", "e", "-d", "e.example.test", "--provider", "letsencrypt", "--preferred-chain", "X Root",
             check=True)
    assert 'preferred_chain = "X Root"' in home.config.read_text()
    home.run("edit", "e", "--preferred-chain", "", check=True)
    assert "preferred_chain" not in home.config.read_text()


def test_an_alternate_the_ca_refuses_is_skipped_not_fatal(
        home: Home, alt_pebble: PebbleServer, roots: list[x509.Certificate]) -> None:
    # The proxy keeps one Link header of each name (the last one, alternate 2): that is the one refused.
    refused = r"^/certZ/[^/]+/alternate/2$"
    with FaultProxy(alt_pebble) as proxy:
        proxy.add(Rule("POST", refused, answer=respond(404, problem("malformed", "no such chain")), times=None))
        service = CertificateService()
        service.set_provider("viaproxy", directory=proxy.directory, ca_bundle=str(alt_pebble.ca_bundle))
        fullchain = home.root / "srv" / "skip" / "fullchain.pem"
        service.add_certificate("skip", ["skip.example.test"], "viaproxy", http_port=alt_pebble.http_port,
                                http_bind="127.0.0.1", fullchain=str(fullchain), preferred_chain="No Such Root")
        service.issue("skip")
        assert proxy.seen("POST", refused), "the refused alternate was never asked for"
    _assert_leads_to(fullchain, roots[0])
    messages = _events(home, "skip")
    assert sum("could not be downloaded (no such chain): skipped" in m for m in messages) == 1
    kept = [m for m in messages if "keeping the default chain" in m]
    assert len(kept) == 1 and _cn(roots[0].subject) in kept[0] and _cn(roots[2].subject) not in kept[0]
