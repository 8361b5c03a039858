"""`daemon --metrics`: a real daemon process, scraped over HTTP like Prometheus would."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleServer, free_port
from zerossl_tui.engine.keys import parse_cert
from zerossl_tui.service.metrics import parse_listen

pytestmark = pytest.mark.pebble


def scrape(url: str, want: str, timeout: float = 60) -> str:
    """The /metrics text once it contains ``want`` (the daemon needs a moment to start and check)."""
    deadline, text = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        try:
            text = urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            text = ""
        if want in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{want!r} never appeared in /metrics:\n{text}")


def stopped(daemon: subprocess.Popen[str]) -> str:
    """SIGTERM ``daemon``; its stderr once it has ended (it must end within 30 s)."""
    daemon.send_signal(signal.SIGTERM)
    try:
        return daemon.communicate(timeout=30)[1]
    except subprocess.TimeoutExpired:
        daemon.send_signal(signal.SIGABRT)
        raise AssertionError(f"the daemon did not stop on SIGTERM:\n{daemon.communicate(timeout=30)[1]}") from None


def value(text: str, series: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(series + " "))
    return float(line.split()[-1])


def test_daemon_serves_the_designed_series(local_home: Home, pebble: PebbleServer) -> None:
    cert = local_home.root / "srv" / "m.pem"
    local_home.run("add", "m", "-d", "m.example.test", "--provider", "local", "--http-port", str(pebble.http_port),
                   "--http-bind", "127.0.0.1", "--certfile", str(cert), "--keyfile", str(cert.with_suffix(".key")),
                   "--verify", f"127.0.0.1:{free_port()}", check=True)
    local_home.run("issue", "m", check=True)
    port = free_port()
    # PYTHONFAULTHANDLER: a daemon that does not stop is aborted below, and prints where its threads are.
    daemon = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon", "--metrics", str(port)],
                              env={**local_home.env(), "PYTHONFAULTHANDLER": "1"}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        text = scrape(f"http://127.0.0.1:{port}/metrics", 'zerossl_tui_certificate_served{')
    finally:
        err = stopped(daemon)
    not_after = parse_cert(cert.read_bytes()).not_after.timestamp()
    assert value(text, 'zerossl_tui_certificate_not_after_timestamp_seconds{name="m"}') == not_after
    assert value(text, 'zerossl_tui_certificate_next_renewal_timestamp_seconds{name="m"}') < not_after
    assert value(text, 'zerossl_tui_certificate_renewal_failures{name="m"}') == 0
    assert value(text, 'zerossl_tui_orders_total{result="issued"}') >= 1
    assert value(text, f'zerossl_tui_certificate_served{{endpoint="{_endpoint(text)}",name="m"}}') == 0
    assert f"metrics at http://127.0.0.1:{port}/metrics" in err


def _endpoint(text: str) -> str:
    line = next(line for line in text.splitlines() if line.startswith("zerossl_tui_certificate_served{"))
    return line.split('endpoint="', 1)[1].split('"', 1)[0]


def test_metrics_listen_is_loopback_unless_told_and_bad_values_are_one_line(local_home: Home) -> None:
    assert parse_listen("9120") == ("127.0.0.1", 9120)
    assert parse_listen("[::1]:9120") == ("::1", 9120)
    done = local_home.run("daemon", "--metrics", "nowhere:99999")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "HOST:PORT" in done.stderr


def test_an_ipv6_metrics_address_is_logged_as_a_url_that_works(local_home: Home) -> None:
    """The start-up line is what a person pastes into a browser or a Prometheus config: ``http://::1:P``
    is no URL, ``http://[::1]:P`` is."""
    port = free_port()
    daemon = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon", "--metrics", f"[::1]:{port}"],
                              env=local_home.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        scrape(f"http://[::1]:{port}/metrics", "zerossl_tui_orders_total")
    finally:
        err = stopped(daemon)
    assert f"metrics at http://[::1]:{port}/metrics" in err, err
