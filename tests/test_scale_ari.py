"""Issue 14: the scheduler's ARI look over many certificates asks a provider for its directory once per turn.
A CA that cannot be reached costs one attempt and one log line, not one of each per certificate; a CA with
ARI still gets its question for every certificate that is due for one."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Home

from zerossl_tui.core.models import RenewalState
from zerossl_tui.devtools.demo import store_fake
from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.service.ari import refresh_due
from zerossl_tui.service.service import CertificateService


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_ca_is_tried_once_per_turn_and_logged_once(home: Home) -> None:
    service = CertificateService()
    service.set_provider("down", directory=f"https://127.0.0.1:{closed_port()}/dir", email="ops@example.com")
    now = datetime.now(UTC)
    for k in range(5):
        name = f"c{k}"
        service.add_certificate(name, [f"{name}.example.test"], "down")
        store_fake(service, name, (f"{name}.example.test",), now + timedelta(days=60), f"{k + 1:08X}")
    lines: list[str] = []
    refresh_due(service.deps(), threading.Event(), lines.append)
    assert len(lines) == 1, lines
    assert lines[0].startswith("provider down: renewal information:")
    assert [v.renewal_source for v in service.views()] == ["lifetime"] * 5


@pytest.mark.pebble
def test_a_ca_with_ari_is_asked_for_each_due_certificate(local_home: Home, pebble: PebbleServer) -> None:
    if not pebble.has_ari():
        pytest.skip("this Pebble has no renewalInfo (install Debian 13's pebble 2.6: .ci/install-pebble)")
    for name in ("one", "two"):
        local_home.run("add", name, "-d", f"{name}.example.test", "--provider", "local", "--http-port",
                       str(pebble.http_port), "--http-bind", "127.0.0.1", check=True)
    local_home.run("renew", "--force", check=True)
    service = CertificateService()
    for name in ("one", "two"):  # forget what the orders learnt: only refresh_due can bring the windows back
        service.journal.put_state(name, RenewalState())
    assert {v.renewal_source for v in service.views()} == {"lifetime"}
    lines: list[str] = []
    refresh_due(service.deps(), threading.Event(), lines.append)
    assert lines == []
    assert {v.spec.name: v.renewal_source for v in service.views()} == {"one": "ari", "two": "ari"}
