"""A daemon's turn never sits waiting for a certificate whose lock another process (or, in a fleet, another
host) holds: it renews the others and looks again a moment later. Waiting made certificates that came due
meanwhile queue behind the whole batch. Against a real Pebble; the lock is held by this test process, as a
dashboard's order or a CLI `renew` would hold it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.service.scheduler import Scheduler
from zerossl_tui.service.service import CertificateService

pytestmark = pytest.mark.pebble


@pytest.fixture
def service(local_home: Home, pebble: PebbleServer) -> Iterator[CertificateService]:
    """Two certificates never issued: both due at once."""
    service = CertificateService()
    for name in ("held", "free"):
        service.add_certificate(name, [f"{name}.example.test"], "local", http_port=pebble.http_port,
                                http_bind="127.0.0.1")
    yield service
    service.close()


def test_a_turn_renews_the_others_and_leaves_a_held_certificate_to_its_holder(service: CertificateService) -> None:
    lock = service.backend.locker.certificate("held")
    assert lock.try_acquire()
    try:
        scheduler = Scheduler(service, threading.Event(), lambda line: None)
        turn = threading.Thread(target=scheduler.tick, daemon=True)
        turn.start()
        turn.join(timeout=120)
        assert not turn.is_alive(), "the turn waited for the lock another process holds"
        assert service.store.current("free") is not None
        assert service.store.current("held") is None
    finally:
        lock.release()
    scheduler.tick()  # the next look, once the holder let go
    assert service.store.current("held") is not None
