"""Bulk renew (issue 14): with default settings one `renew` runs many orders at once, all issue at Pebble's
default 5% nonce rejection; the cheaper signing path sends JWS a CA verifies; a run's polls follow the CA."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import cast

import pytest
from acme import jws, messages
from conftest import Home
from helpers import started_pebble

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.engine import keys, network, transport
from zerossl_tui.engine.pool import Pace
from zerossl_tui.service.service import CertificateService

COUNT = 40


@pytest.fixture
def default_pebble(tmp_path: Path) -> Iterator[PebbleServer]:
    """Pebble as it ships: 5% of good nonces rejected (no nonce_reject given)."""
    server = started_pebble(tmp_path / "pebble", PebbleOptions(authz_reuse=0))
    yield server
    server.stop()


def _settings(ca: PebbleServer) -> str:
    """COUNT certificates and no [renewal] table: the defaults."""
    lines = ["[providers.local]", f'directory = "{ca.directory}"', f'ca_bundle = "{ca.ca_bundle}"',
             'email = "ops@example.com"', ""]
    for i in range(COUNT):
        lines += [f"[certificates.b{i}]", f'domains = ["b{i}.example.test"]', 'provider = "local"',
                  f"http_port = {ca.http_port}", 'http_bind = "127.0.0.1"', ""]
    return "\n".join(lines)


def _most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    """The largest number of (start, end) spans open at the same moment."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda e: (e[0], e[1]))
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


@pytest.mark.pebble
def test_one_renew_with_default_settings_runs_many_orders_at_once_and_all_issue(
        home: Home, default_pebble: PebbleServer) -> None:
    home.config.parent.mkdir(parents=True)
    home.config.write_text(_settings(default_pebble))
    service = CertificateService()
    assert service.settings.renewal.concurrency == 16
    results = service.renew()
    assert [(name, str(err)) for name, _, err in results if err is not None] == []
    assert len({info.serial for _, info, _ in results if info is not None}) == COUNT
    assert all(view.status.value == "valid" for view in service.views())
    spans = []
    for i in range(COUNT):
        (order,) = service.orders(f"b{i}")
        assert order.result == "issued" and order.finished is not None
        spans.append((order.started, order.finished))
    assert _most_at_once(spans) > 4, "the old default ran 4 orders at once"


@pytest.mark.parametrize("key_type", ["ec256", "ec384", "rsa2048"])
def test_the_account_signed_jws_verifies_and_names_kid_nonce_and_url(key_type: str) -> None:
    key, alg = network.signing_key(keys.generate_key(key_type))
    body = messages.NewOrder(identifiers=(messages.Identifier(typ=messages.IDENTIFIER_FQDN, value="a.test"),))
    text = transport.kid_jws(key, alg, "https://ca.test/acct/7", b"nonce-bytes", "https://ca.test/new-order", body)
    signed = jws.JWS.json_loads(text)
    assert signed.verify(key.public_key())
    header = cast(jws.Header, signed.signature.combined)
    assert (header.alg, header.kid, header.nonce, header.url) == (
        alg, "https://ca.test/acct/7", b"nonce-bytes", "https://ca.test/new-order")
    assert header.jwk is None, "kid and jwk are mutually exclusive (RFC 8555 section 6.2)"
    assert messages.NewOrder.json_loads(signed.payload) == body
    as_get = jws.JWS.json_loads(transport.kid_jws(key, alg, "k", b"n", "https://ca.test/o/1", None))
    assert as_get.payload == b"" and as_get.verify(key.public_key())


def test_a_tampered_jws_does_not_verify() -> None:
    key, alg = network.signing_key(keys.generate_key("ec256"))
    text = transport.kid_jws(key, alg, "k", b"n", "https://ca.test/o/1", None)
    signed = jws.JWS.json_loads(text.replace('"payload": ""', '"payload": "e30"'))
    other, _ = network.signing_key(keys.generate_key("ec256"))
    assert not signed.verify(key.public_key()) and not jws.JWS.json_loads(text).verify(other.public_key())


def test_the_first_poll_follows_how_long_the_ca_took() -> None:
    pace = Pace()
    assert pace.first_poll("validation", 0.02, 1.0) == 0.02  # nothing seen yet: the floor
    pace.took("validation", 0.2)
    assert pace.first_poll("validation", 0.02, 1.0) == pytest.approx(0.18)  # a little before the last time
    assert pace.first_poll("certificate", 0.02, 1.0) == 0.02  # each step on its own
    for _ in range(40):
        pace.took("validation", 0.05)  # the CA got faster: the estimate comes down with it
    assert pace.first_poll("validation", 0.02, 1.0) == pytest.approx(0.045, abs=0.002)
    for _ in range(40):
        pace.took("validation", 30.0)  # a slow CA: never more than the longest poll interval
    assert pace.first_poll("validation", 0.02, 1.0) == 1.0
