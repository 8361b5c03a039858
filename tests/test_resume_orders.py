"""An order the CA is still processing when its process dies (or is cancelled) is carried on by the next
attempt, in any process, instead of ordering, and maybe issuing, twice (issue 10, item 16); and no
request waits past the order's deadline (item 17)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Home
from faultproxy import Answer, FaultProxy, Rule
from helpers import started_pebble

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.service.service import CertificateService

pytestmark = pytest.mark.pebble

FINALIZE, ORDER, NEW_ORDER = r"^/finalize-order/", r"^/my-order/", r"^/order-plz$"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    server = started_pebble(tmp_path_factory.mktemp("pebble-resume"), PebbleOptions(authz_reuse=0))
    yield server
    server.stop()


@pytest.fixture
def proxy(ca: PebbleServer) -> Iterator[FaultProxy]:
    with FaultProxy(ca) as running:
        yield running


@pytest.fixture
def site(home: Home, ca: PebbleServer, proxy: FaultProxy) -> Path:
    srv = home.root / "srv"
    service = CertificateService()
    service.set_provider("local", directory=proxy.directory, ca_bundle=str(ca.ca_bundle), email="ops@example.com")
    service.add_certificate("s", ["s.example.test"], "local", http_port=ca.http_port, http_bind="127.0.0.1",
                            certfile=str(srv / "fullchain.pem"), keyfile=str(srv / "privkey.pem"))
    service.issue("s")
    proxy.forget()
    return srv


def _orders_created(proxy: FaultProxy) -> int:
    """Orders the CA created (a refused attempt, e.g. a badNonce, or ``replaces`` refused by Pebble for a
    serial with a leading zero byte, is retried and creates none)."""
    return sum(1 for e in proxy.seen("POST", NEW_ORDER) if e.outcome == 201)


def _processing(answer: Answer) -> Answer:
    order = answer.json()
    order["status"] = "processing"
    order.pop("certificate", None)
    return answer.with_json(order, **{"Retry-After": "1"})


def _log(home: Home) -> list[dict[str, Any]]:
    return json.loads(home.run("log", "s", "--json", check=True).stdout)


def _wait_for(predicate: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _key_matches(cert: Path, key: Path) -> bool:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    leaf = x509.load_pem_x509_certificate(cert.read_bytes())
    private = serialization.load_pem_private_key(key.read_bytes(), None)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return leaf.public_key().public_bytes(serialization.Encoding.PEM, spki) == private.public_key().public_bytes(
        serialization.Encoding.PEM, spki)


def test_an_order_left_processing_by_a_killed_process_is_resumed_not_ordered_again(
        home: Home, proxy: FaultProxy, site: Path) -> None:
    served_before = (site / "fullchain.pem").read_bytes()
    for path in (FINALIZE, ORDER):
        proxy.add(Rule("POST", path, action="rewrite", rewrite=_processing, times=None))
    earlier = len(_log(home))  # the order that issued `site` may have seen `processing` too
    proc = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "issue", "s"], env=home.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

    def processing() -> bool:
        orders = _log(home)
        return len(orders) > earlier and any(e["kind"] == "processing" for e in orders[0]["events"])

    try:
        _wait_for(processing, "the CA to process")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert _orders_created(proxy) == 1
    proxy.clear()
    proxy.forget()

    done = home.run("issue", "s", timeout=120)
    assert done.returncode == 0, done.stderr
    assert _orders_created(proxy) == 0, "the CA was asked for a second order"
    newest, killed = _log(home)[:2]
    assert killed["result"] == "failed" and killed["error_type"] == "interrupted"
    assert any("resuming the earlier order (" in e["message"] for e in newest["events"])
    assert newest["order_url"] == killed["order_url"] != ""
    assert (site / "fullchain.pem").read_bytes() != served_before
    assert _key_matches(site / "fullchain.pem", site / "privkey.pem")


def test_an_order_the_ca_no_longer_has_is_replaced_by_a_new_one(home: Home, proxy: FaultProxy, site: Path) -> None:
    service = CertificateService()
    first = service.journal.start_order("s", service.clock.now())
    service.journal.note_order_url(first, proxy.directory.replace("/dir", "/my-order/unknown-order"))
    service.journal.finish_order(first, "failed", service.clock.now(), error_type="interrupted")
    service.store.save_pending_key("s", service.store.current("s").key_pem)
    done = home.run("issue", "s", timeout=120)
    assert done.returncode == 0, done.stderr
    assert _orders_created(proxy) == 1
    assert any("cannot be resumed" in e["message"] for e in _log(home)[0]["events"])
    assert _key_matches(site / "fullchain.pem", site / "privkey.pem")


def test_a_ca_that_never_answers_fails_at_the_order_deadline_not_after_it(home: Home, proxy: FaultProxy,
                                                                            site: Path) -> None:
    CertificateService().update_table("renewal", {"request_timeout": 120, "order_timeout": 30})
    proxy.add(Rule("POST", FINALIZE, action="hang", times=None))
    done = home.run("issue", "s", timeout=100)
    assert done.returncode == 1
    order = _log(home)[0]
    assert order["error_type"] == "DeadlineExceeded", order
    assert "order_timeout" in order["error_detail"]
