"""Fourth new-user review, an endpoint given twice to `--verify`: `verify` checked and reported it twice, and
/metrics served the same series twice (Prometheus refuses duplicate samples). Settings now keep it once
(core/validate.py's check_endpoints, the one path for the CLI, the forms and the settings file). Through the
real CLI and a real daemon; the endpoint is a closed loopback port."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import Home
from pgserver import free_port
from test_metrics_daemon import scrape, stopped


def test_an_endpoint_given_twice_is_checked_reported_and_exported_once(home: Home) -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    home.run("add", "web", "-d", "web.example.com", "--verify", endpoint, "--verify", endpoint, check=True)
    done = home.run("verify", "--json")
    assert done.returncode == 1
    assert [row["endpoint"] for row in json.loads(done.stdout)] == [endpoint]
    port = free_port()
    daemon = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon", "--metrics", str(port)],
                              env=home.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        text = scrape(f"http://127.0.0.1:{port}/metrics", "zerossl_tui_certificate_served{")
    finally:
        stopped(daemon)
    assert text.count(f'zerossl_tui_certificate_served{{endpoint="{endpoint}",name="web"}}') == 1, text
