"""Real CA faults from Pebble itself: killed in the middle of an order, and slow validations.

A CA that dies mid-order must cost nothing: a typed one-line error, the served files and the settings
byte-identical, and the next run (after the CA is back, with no memory of our account) issues on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Home
from helpers import finishes, started_pebble

from zerossl_tui.core.errors import CaUnreachable
from zerossl_tui.core.models import EventKind, ProgressEvent
from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.engine import keys
from zerossl_tui.service.service import CertificateService

pytestmark = pytest.mark.pebble


@pytest.fixture
def ca(tmp_path: Path) -> Iterator[PebbleServer]:
    """A Pebble of this test's own, since the test kills it (default 5% bad nonces kept)."""
    server = started_pebble(tmp_path / "pebble", PebbleOptions(authz_reuse=0))
    yield server
    server.stop()


def _service(home: Home, ca: PebbleServer, names: dict[str, list[str]], **renewal: int) -> CertificateService:
    service = CertificateService()
    service.set_provider("local", directory=ca.directory, ca_bundle=str(ca.ca_bundle), email="ops@example.com")
    if renewal:
        service.update_table("renewal", renewal)
    for name, domains in names.items():
        srv = home.root / "srv" / name
        service.add_certificate(name, domains, "local", http_port=ca.http_port, http_bind="127.0.0.1",
                                certfile=str(srv / "fullchain.pem"), keyfile=str(srv / "privkey.pem"))
    return service


def _served(home: Home) -> tuple[bytes, bytes, bytes]:
    srv = home.root / "srv" / "s"
    return (srv / "fullchain.pem").read_bytes(), (srv / "privkey.pem").read_bytes(), home.config.read_bytes()


def _kill_at(ca: PebbleServer, step: EventKind) -> Callable[[ProgressEvent], None]:
    """A progress sink that SIGKILLs Pebble when the order reaches ``step`` (once)."""
    done = threading.Event()

    def progress(event: ProgressEvent) -> None:
        if event.kind == step and not done.is_set():
            done.set()
            ca.kill_pebble()

    return progress


@pytest.mark.parametrize("step", [EventKind.CHALLENGE_PRESENTED, EventKind.FINALIZING])
def test_ca_killed_mid_order_loses_nothing_and_the_next_run_issues(home: Home, ca: PebbleServer,
                                                                   step: EventKind) -> None:
    service = _service(home, ca, {"s": ["s.example.test", "www.s.example.test"]})
    first = service.issue("s")
    before = _served(home)
    tls_ca = ca.ca_bundle.read_bytes()

    with pytest.raises(CaUnreachable) as raised:  # at once, not at order_timeout (900 s)
        finishes(lambda: service.issue("s", progress=_kill_at(ca, step)), within=120)
    error = raised.value
    assert error.exit_code == 1 and "\n" not in error.message
    assert f"cannot connect to localhost:{ca.port} any more" in error.message and "went down" in error.message
    assert _served(home) == before
    view = service.views(["s"])[0]
    assert view.info is not None and view.info.serial == first.serial
    assert view.last_result == "failed" and view.last_error == error.message

    ca.restart()  # same ports; the accounts are gone and the issuing root is new
    assert ca.ca_bundle.read_bytes() == tls_ca, "Pebble's TLS CA must survive a restart (kept in its workdir)"
    service.set_provider("local", ca_bundle=str(ca.ca_bundle))
    again = service.issue("s")
    assert again.serial != first.serial
    cert, key, _ = _served(home)
    assert keys.key_matches_cert(key, cert) and keys.parse_cert(cert).serial == again.serial


def test_slow_validations_finish_within_the_order_deadline(home: Home, tmp_path: Path) -> None:
    """Pebble's random sleep before each validation (PEBBLE_VA_NOSLEEP unset) is how real CAs behave."""
    server = started_pebble(tmp_path / "slow", PebbleOptions(va_nosleep=False, authz_reuse=0))
    try:
        names = {f"v{i}": [f"v{i}.example.test", f"www.v{i}.example.test"] for i in range(3)}
        service = _service(home, server, names, order_timeout=30, concurrency=3)
        results = service.renew()
    finally:
        server.stop()
    # Past order_timeout an order fails with DeadlineExceeded, so no error means each finished within it.
    assert [(name, err) for name, _, err in results] == [(name, None) for name in sorted(names)]
