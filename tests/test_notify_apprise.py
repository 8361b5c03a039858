"""Notifications through apprise to a real local HTTP receiver (json://), from the CLI and the renewal flow."""

from __future__ import annotations

import json
import stat
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleServer, free_port
from zerossl_tui.engine.notify import send
from zerossl_tui.service.notify import CertFacts, NotifyConfig, notify_all


class Receiver:
    """An HTTP server that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook/s3cret"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def titles(self) -> list[str]:
        return [b["title"] for b in self.bodies]

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def test_urls_are_secret_masked_and_test_reaches_the_receiver(home: Home, receiver: Receiver) -> None:
    added = home.run("notify", "add", receiver.url, check=True)
    assert "s3cret" not in added.stdout and "1. json://127.0.0.1:" in added.stdout
    secrets = home.config.with_name("secrets.toml")
    assert receiver.url in secrets.read_text() and stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert not home.config.exists() or "s3cret" not in home.config.read_text()
    listing = home.run("notify", "list", "--json", check=True)
    assert "s3cret" not in listing.stdout and len(json.loads(listing.stdout)) == 1

    done = home.run("notify", "test")
    assert done.returncode == 0, done.stderr
    assert receiver.titles() == ["zerossl-tui test"]

    dead = f"json://127.0.0.1:{free_port()}/x"
    home.run("notify", "add", dead, check=True)
    done = home.run("notify", "test")
    assert done.returncode == 1 and "sent to 1 of 2" in done.stdout
    assert len(done.stderr.strip().splitlines()) == 1 and "not sent to json://127.0.0.1:" in done.stderr
    assert receiver.titles() == ["zerossl-tui test"] * 2
    assert "removed notification 2" in home.run("notify", "remove", "2", check=True).stdout
    bad = home.run("notify", "add", "nonsense://token/abc")
    assert bad.returncode == 2 and "token" not in bad.stderr and "apprise" in bad.stderr


def test_settings_saves_keep_the_notification_urls(local_home: Home, receiver: Receiver) -> None:
    local_home.run("notify", "add", receiver.url, check=True)
    local_home.run("provider", "add", "other", "--directory", "https://ca.example/dir", check=True)
    assert json.loads(local_home.run("notify", "list", "--json", check=True).stdout)[0]["number"] == 1


def test_failure_is_sent_once_then_recovered(local_home: Home, pebble: PebbleServer, receiver: Receiver) -> None:
    local_home.run("notify", "add", receiver.url, check=True)
    # The responder listens where the CA does not look: validation fails, as when port 80 is firewalled.
    local_home.run("add", "shop", "-d", "shop.example.test", "--provider", "local", "--http-port",
                   str(free_port()), "--http-bind", "127.0.0.1", check=True)
    assert local_home.run("renew", "--force", "shop").returncode == 1
    receiver.wait_for(1)
    assert receiver.titles() == ["shop: first issuance failed"]
    assert receiver.bodies[0]["message"].startswith("shop: first issuance failed: ")
    assert "renewal" not in receiver.bodies[0]["message"]
    assert local_home.run("renew", "--force", "shop").returncode == 1
    assert receiver.titles() == ["shop: first issuance failed"], "repeated at most once a day"

    local_home.run("edit", "shop", "--http-port", str(pebble.http_port), check=True)
    done = local_home.run("renew", "--force", "shop")
    assert done.returncode == 0, done.stderr
    receiver.wait_for(2)
    assert receiver.titles() == ["shop: first issuance failed", "shop: recovered"]


def test_events_repeat_daily_and_a_dead_target_blocks_nothing(tmp_path: Path, receiver: Receiver) -> None:
    lines: list[str] = []
    dead = f"json://127.0.0.1:{free_port()}/x"
    config = NotifyConfig([dead, receiver.url], ("failure", "expiring", "verify-failed", "recovered"), 14,
                          tmp_path, send, lines.append)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    facts = CertFacts("api", now + timedelta(days=3), bad_endpoints=("127.0.0.1:443 serves serial 1, not 2",))
    assert sorted(notify_all([facts], config, now)) == ["api: expiring", "api: not served"]
    assert notify_all([facts], config, now + timedelta(hours=23)) == []
    assert sorted(notify_all([facts], config, now + timedelta(hours=25))) == ["api: expiring", "api: not served"]
    assert len(lines) == 4 and all(line.startswith("notification ") and "/x" not in line for line in lines)
    assert all(line.endswith("(`zerossl-tui notify test` tries every URL)") for line in lines), lines[0]
    healed = CertFacts("api", now + timedelta(days=90))
    assert notify_all([healed], config, now + timedelta(hours=26)) == ["api: recovered"]
    assert receiver.titles().count("api: recovered") == 1 and "expiring" in receiver.bodies[-1]["message"]


def test_mailto_reaches_a_local_smtp_server(home: Home) -> None:
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            received.append(bytes(envelope.content))  # type: ignore[attr-defined]
            return "250 OK"

    port = free_port()
    smtp = Controller(Handler(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        home.run("notify", "add", f"mailto://127.0.0.1:{port}?from=zt@example.test&to=ops@example.test&mode=insecure",
                 check=True)
        done = home.run("notify", "test")
    finally:
        smtp.stop()
    assert done.returncode == 0, done.stderr
    assert len(received) == 1 and b"zerossl-tui test" in received[0] and b"ops@example.test" in received[0]


def test_unknown_event_in_settings_is_named(home: Home) -> None:
    home.config.parent.mkdir(parents=True, exist_ok=True)
    home.config.write_text('[notify]\nevents = ["failure", "expired"]\n')
    done = home.run("list")
    assert done.returncode == 2 and "notify.events" in done.stderr and "'expired'" in done.stderr
    assert "line 2" in done.stderr


def test_notify_check_prints_nothing_unless_given_a_log(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    """A library call never writes to stdout by itself (a TUI's screen, a `--json` output): a target that
    failed goes to the log its caller passes."""
    from zerossl_tui.core.models import RenewalState
    from zerossl_tui.service.service import CertificateService

    service = CertificateService()
    service.add_certificate("shop", ["shop.example.test"], "letsencrypt", http_port=free_port())
    service.add_notify_url(f"json://127.0.0.1:{free_port()}/x")
    service.journal.put_state("shop", RenewalState(failures=1, last_error="the CA said no"))
    assert service.notify_check() == []
    assert capsys.readouterr().out == ""
    service.journal.put_state("shop", RenewalState(failures=2, last_error="the CA said no"))
    (home.data / "notify-state.json").unlink()  # sent again: as if a day had passed
    lines: list[str] = []
    assert service.notify_check(lines.append) == []
    assert capsys.readouterr().out == "" and len(lines) == 1
    assert lines[0].startswith("notification failure not sent to json://127.0.0.1:")


def test_outside_text_reaches_the_target_literally(tmp_path: Path, receiver: Receiver) -> None:
    """A failure detail holding terminal escapes and HTML arrives as visible text: no raw escape, and an
    HTML target (``?format=html``) gets the tags escaped, not rendered."""
    html_url = receiver.url.replace("/hook/s3cret", "/html?format=html")
    config = NotifyConfig([receiver.url, html_url], ("failure",), 14, tmp_path, send, lambda _: None)
    detail = "exited 1: \x1b[2J\x1b[31m[bold red]EVIL[/] <b>html</b>"
    now = datetime(2030, 1, 1, tzinfo=UTC)
    failed = CertFacts("api", None, failures=1, last_error=detail)
    assert notify_all([failed], config, now) == ["api: first issuance failed"]
    receiver.wait_for(2)
    plain, html = sorted((b["message"] for b in receiver.bodies), key=lambda m: "&lt;" in m)
    assert "\x1b" not in plain + html and "\\x1b[2J\\x1b[31m[bold red]EVIL[/] <b>html</b>" in plain
    assert "&lt;b&gt;html&lt;/b&gt;" in html and "<b>" not in html


def test_a_test_to_a_dead_target_says_how_to_fix_it(home: Home) -> None:
    home.run("notify", "add", f"json://127.0.0.1:{free_port()}/dead/s3cret", check=True)
    done = home.run("notify", "test")
    line = [x for x in done.stderr.splitlines() if x.strip()]
    assert done.returncode == 1 and len(line) == 1 and "s3cret" not in line[0]
    assert line[0].endswith("check that the target is up and the URL is right "
                            "(`notify remove N`, then `notify add URL`)")


def test_a_failed_renewal_and_a_failed_first_issuance_are_told_apart(tmp_path: Path, receiver: Receiver) -> None:
    """A certificate never issued has had no renewal: its failure says "first issuance", and a second
    attempt says which one; one that was issued before says "renewal attempt N"."""
    config = NotifyConfig([receiver.url], ("failure",), 14, tmp_path, send, lambda _: None)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    facts = [CertFacts("new", None, failures=1, last_error="the CA said no"),
             CertFacts("again", None, failures=3, last_error="the CA said no"),
             CertFacts("old", now + timedelta(days=20), failures=2, last_error="the CA said no")]
    assert sorted(notify_all(facts, config, now)) == ["again: first issuance failed", "new: first issuance failed",
                                                      "old: renewal failed"]
    receiver.wait_for(3)
    bodies = sorted(b["message"] for b in receiver.bodies)
    assert bodies[0] == ("again: first issuance attempt 3 failed: the CA said no; no certificate has been "
                         "issued yet.")
    assert bodies[1] == "new: first issuance failed: the CA said no; no certificate has been issued yet."
    assert bodies[2].startswith("old: renewal attempt 2 failed: the CA said no; 20.0 days left")
