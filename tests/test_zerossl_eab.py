"""ZeroSSL's EAB fetch end to end: a local stand-in of its REST API, the real Pebble requiring EAB."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import pytest
from conftest import EAB_HMAC, EAB_KID, Home
from tlsfake import serve_https

from zerossl_tui.devtools.pebble import PebbleServer

pytestmark = pytest.mark.pebble
API_KEY = "zerossl-api-key-s3cret"


class FakeApi(BaseHTTPRequestHandler):
    """Gives Pebble's EAB pair for ops@example.com and for API_KEY; ZeroSSL's error shape otherwise."""

    calls: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        query = parse_qs(self.path.partition("?")[2])
        self.calls.append(self.path.partition("?")[0])
        known = form.get("email") == ["ops@example.com"] or query.get("access_key") == [API_KEY]
        body = ({"success": True, "eab_kid": EAB_KID, "eab_hmac_key": EAB_HMAC} if known else
                {"success": False, "error": {"code": 2904, "type": "too_many_eab_credentials_today"}})
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server, url, ca_file = serve_https(FakeApi, tmp_path_factory.mktemp("fake-zerossl"))
    monkeypatch.setenv("ZEROSSL_TUI_ZEROSSL_API", url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))  # the CLI trusts the stand-in like any CA
    FakeApi.calls = []
    yield url
    server.shutdown()
    server.server_close()


def setup(home: Home, pebble: PebbleServer, *provider_args: str) -> None:
    home.run("provider", "add", "zerossl", "--directory", pebble.directory, "--ca-bundle",
             str(pebble.ca_bundle), *provider_args, check=True)
    home.run("add", "z", "-d", "z.example.test", "--provider", "zerossl", "--http-port", str(pebble.http_port),
             "--http-bind", "127.0.0.1", check=True)


def test_eab_is_fetched_by_email_cached_0600_and_reused(home: Home, pebble_eab: PebbleServer,
                                                        fake_api: str) -> None:
    setup(home, pebble_eab, "--email", "ops@example.com")
    done = home.run("issue", "z")
    assert done.returncode == 0, done.stderr
    assert FakeApi.calls == ["/acme/eab-credentials-email"]
    cached = [p for p in (home.data / "accounts" / "zerossl").iterdir() if EAB_HMAC in p.read_text(errors="ignore")]
    assert cached and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in cached)
    assert home.run("issue", "z").returncode == 0
    assert len(FakeApi.calls) == 1, "the cached credentials are reused"


def test_eab_fetched_with_api_key_never_shows_the_key(home: Home, pebble_eab: PebbleServer, fake_api: str) -> None:
    setup(home, pebble_eab, "--api-key", API_KEY)
    done = home.run("issue", "z")
    assert done.returncode == 0, done.stderr
    assert API_KEY not in done.stdout + done.stderr
    assert API_KEY not in home.run("log", "z", "--json").stdout
    assert API_KEY not in home.config.read_text()


def test_zerossl_api_error_is_explained(home: Home, pebble_eab: PebbleServer, fake_api: str) -> None:
    setup(home, pebble_eab, "--email", "someone-else@example.com")
    done = home.run("issue", "z")
    assert done.returncode == 1
    line = done.stderr.strip().splitlines()[-1]
    assert "2904" in line or "too many" in line.lower()
    assert "Traceback" not in done.stderr
