"""CA faults that Pebble cannot make, injected by a reverse proxy in front of it (tests/faultproxy.py).

Each fault hits a certificate that is already served: the real CLI must exit 1 with one clear line (no
traceback), the served certfile/keyfile and the settings must be byte-identical afterwards, and what the
CA asked for (Retry-After) must be obeyed. Faults that pass (busy answers, a reset poll) must be ridden out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Home
from faultproxy import Answer, FaultProxy, Rule, problem, respond
from helpers import one_line, started_pebble

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.service.service import CertificateService

pytestmark = pytest.mark.pebble

FINALIZE, ORDER, NEW_ORDER, AUTHZ = r"^/finalize-order/", r"^/my-order/", r"^/order-plz$", r"^/authZ/"
DOMAINS = ["s.example.test", "www.s.example.test"]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    """Pebble with its default 5% bad nonces; no authorization reuse, so every order validates its names
    and reaches the steps the rules break."""
    server = started_pebble(tmp_path_factory.mktemp("pebble-faults"), PebbleOptions(authz_reuse=0))
    yield server
    server.stop()


@pytest.fixture
def proxy(ca: PebbleServer) -> Iterator[FaultProxy]:
    with FaultProxy(ca) as running:
        yield running


@dataclass
class Served:
    """A home whose certificate ``s`` was issued through the proxy and is served from certfile/keyfile."""

    home: Home
    proxy: FaultProxy
    cert: Path
    key: Path
    before: tuple[bytes, bytes, bytes] = (b"", b"", b"")

    def snapshot(self) -> None:
        self.before = self.files()

    def files(self) -> tuple[bytes, bytes, bytes]:
        return self.cert.read_bytes(), self.key.read_bytes(), self.home.config.read_bytes()

    def fails_cleanly(self, *args: str, within: float = 60) -> str:
        """Run the CLI, expect exit 1 within ``within`` seconds and one error line, nothing served or
        configured changed; the line."""
        done = self.home.run(*args, timeout=within)
        assert done.returncode == 1, (done.stdout, done.stderr)
        line = one_line(done.stderr)
        assert self.files() == self.before, "served files or settings changed after a failed order"
        return line

    def log(self, name: str = "s") -> list[dict[str, Any]]:
        return json.loads(self.home.run("log", name, "--json", check=True).stdout)

    def rows(self) -> dict[str, dict[str, Any]]:
        return {row["name"]: row for row in json.loads(self.home.run("list", "--json", check=True).stdout)}


@pytest.fixture
def served(home: Home, ca: PebbleServer, proxy: FaultProxy) -> Served:
    """Short request timeout and order deadline so that a stuck CA fails a test in seconds, not minutes."""
    srv = home.root / "srv"
    service = CertificateService()
    service.set_provider("local", directory=proxy.directory, ca_bundle=str(ca.ca_bundle), email="ops@example.com")
    service.update_table("renewal", {"request_timeout": 2, "order_timeout": 30})
    service.add_certificate("s", DOMAINS, "local", http_port=ca.http_port, http_bind="127.0.0.1",
                            certfile=str(srv / "fullchain.pem"), keyfile=str(srv / "privkey.pem"))
    service.issue("s")
    state = Served(home, proxy, srv / "fullchain.pem", srv / "privkey.pem")
    state.snapshot()
    proxy.forget()
    return state


def test_rate_limit_is_stored_and_obeyed_by_the_next_process(served: Served) -> None:
    limit = served.proxy.add(Rule("POST", NEW_ORDER, times=None, answer=respond(
        429, problem("rateLimited", "too many new orders recently"), **{"Retry-After": "7200"})))
    line = served.fails_cleanly("issue", "s")
    assert "rateLimited: too many new orders recently (the CA asks to wait 2 h before trying again)" in line
    CertificateService().add_certificate("n", ["n.example.test"], "local", http_port=served.proxy.pebble.http_port)
    served.snapshot()
    line = served.fails_cleanly("renew")  # n was never issued, so it is due, and the CA refuses it too
    assert line.startswith("zerossl-tui: error: n:") and "rateLimited" in line
    assert limit.fired == 2, "a rate-limited order must not be sent again within the same run"

    seen = len(served.proxy.log)
    done = served.home.run("renew")
    assert done.returncode == 0 and "nothing is due" in done.stdout, done.stderr
    assert len(served.proxy.log) == seen, "a new process must not talk to the CA before Retry-After"
    row = served.rows()["n"]
    assert row["renewal_source"] == "rate-limit"
    wait = (datetime.fromisoformat(row["next_renewal"]) - datetime.now(UTC)).total_seconds()
    assert 7000 < wait <= 7200
    assert "too many new orders recently" in row["last_error"]


def test_busy_answers_are_waited_out_then_the_order_succeeds(served: Served) -> None:
    busy = respond(503, problem("serverInternal", "down for maintenance"), **{"Retry-After": "1"})
    for method, path in (("GET", r"^/dir$"), ("POST", NEW_ORDER), ("POST", ORDER)):
        served.proxy.add(Rule(method, path, answer=busy))
    done = served.home.run("renew", "--force", timeout=60)
    assert done.returncode == 0, done.stderr
    assert served.files()[:2] != served.before[:2]
    for method, path in (("GET", r"^/dir$"), ("POST", NEW_ORDER), ("POST", ORDER)):
        first, second = served.proxy.seen(method, path)[:2]
        assert first.outcome == 503 and second.outcome != 503
        assert second.at - first.at >= 0.95, f"{path} was sent again before its Retry-After"
    events = [e for e in served.log()[0]["events"] if e["kind"] == "retry"]
    assert len(events) >= 2 and all(e["retry_after"] == 1.0 and "503" in e["message"] for e in events)


def test_busy_answer_asking_for_longer_than_the_order_may_take_fails_at_once(served: Served) -> None:
    """order_timeout 1800 < Retry-After 3600: waiting would end past the deadline, so the order fails at
    once (fails_cleanly's 60 s bound) instead of sleeping until the deadline."""
    CertificateService().update_table("renewal", {"order_timeout": 1800})
    served.snapshot()
    rule = served.proxy.add(Rule("POST", NEW_ORDER, times=None, answer=respond(503, b"<html>maintenance</html>",
                                                                                **{"Retry-After": "3600"})))
    line = served.fails_cleanly("issue", "s")
    assert "503" in line and "3600 s" in line and f"localhost:{served.proxy.port}" in line
    assert rule.fired == 1, "the order must not be sent again"
    assert not [e for e in served.log()[0]["events"] if e["kind"] == "retry"], "no wait was started"


@pytest.mark.parametrize(("answer", "expected"), [
    (respond(500, problem("serverInternal", "the signing service is down")),
     "serverInternal: the signing service is down"),
    (respond(500, b"<html><body>Internal Server Error</body></html>"), "answered HTTP 500"),
])
def test_server_error_on_finalize_fails_cleanly(served: Served, answer: Answer, expected: str) -> None:
    rule = served.proxy.add(Rule("POST", FINALIZE, times=None, answer=answer))
    line = served.fails_cleanly("renew", "--force")
    assert expected in line
    assert rule.fired == 1, "a 500 is not a busy answer: no retry"
    order = served.log()[0]
    assert order["result"] == "failed" and order["error_detail"]


def test_connection_reset_on_a_poll_is_sent_again(served: Served) -> None:
    served.proxy.add(Rule("POST", ORDER, action="reset"))
    served.proxy.add(Rule("GET", r"^/dir$", action="reset"))
    done = served.home.run("issue", "s", timeout=60)
    assert done.returncode == 0, done.stderr
    assert [e.outcome for e in served.proxy.seen("POST", ORDER)][:2] == ["reset", 200]
    retries = [e["message"] for e in served.log()[0]["events"] if e["kind"] == "retry"]
    assert len(retries) == 2 and all(f"connection to localhost:{served.proxy.port} was" in m for m in retries)


def test_connection_reset_on_finalize_fails_cleanly(served: Served) -> None:
    rule = served.proxy.add(Rule("POST", FINALIZE, action="reset", times=None))
    line = served.fails_cleanly("issue", "s")
    # Over TLS a reset reads as a closed connection (Python's ssl takes it for an end of stream).
    assert f"connection to localhost:{served.proxy.port} was closed before the CA answered" in line
    assert rule.fired == 1, "a request with a payload is never sent twice"


def test_answer_that_never_comes_times_out_after_request_timeout(served: Served) -> None:
    """A CA that never answers a poll: request_timeout = 2 ends the command well within 20 s, while the
    default 30 s (or the 30-minute order deadline) would keep it waiting past them."""
    CertificateService().update_table("renewal", {"order_timeout": 1800})
    served.snapshot()
    served.proxy.add(Rule("POST", ORDER, action="hang", times=None, hang_for=600))
    line = served.fails_cleanly("issue", "s", within=20)
    assert "did not answer in time" in line and "request_timeout" in line


def _processing(answer: Answer) -> Answer:
    order = answer.json()
    order["status"] = "processing"
    order.pop("certificate", None)
    return answer.with_json(order, **{"Retry-After": "1"})


def test_order_stuck_in_processing_gives_up_at_the_order_deadline(served: Served) -> None:
    CertificateService().update_table("renewal", {"order_timeout": 30})
    served.snapshot()
    for path in (FINALIZE, ORDER):
        served.proxy.add(Rule("POST", path, action="rewrite", rewrite=_processing, times=None))
    line = served.fails_cleanly("issue", "s")
    assert "processing" in line and "order_timeout" in line
    order = served.log()[0]
    assert order["error_type"] == "DeadlineExceeded"
    processing = [e for e in order["events"] if e["kind"] == "processing"]
    assert processing and all(e["retry_after"] == 1.0 for e in processing)
    # Between answered polls the Retry-After (1 s) is kept; a badNonce is sent again at once, and the last
    # wait is cut short by the order deadline.
    answered = [e for e in served.proxy.seen("POST", ORDER) if e.outcome == 200]
    gaps = [later.at - earlier.at for earlier, later in zip(answered, answered[1:], strict=False)][:-1]
    assert gaps and min(gaps) >= 0.95, f"the poll must follow Retry-After (1 s), not hammer the CA: {gaps}"


def test_malformed_json_fails_cleanly(served: Served) -> None:
    def truncate(answer: Answer) -> Answer:
        return Answer(answer.status, answer.headers, answer.body[: len(answer.body) // 2])

    served.proxy.add(Rule("POST", AUTHZ, action="rewrite", rewrite=truncate, times=None))
    line = served.fails_cleanly("issue", "s")
    assert "malformed" in line and "JSON" in line and f"localhost:{served.proxy.port}" in line


def test_invalid_order_shows_the_detail_and_every_subproblem(served: Served) -> None:
    def invalid(answer: Answer) -> Answer:
        order = answer.json()
        order["status"] = "invalid"
        order["error"] = problem("compound", "2 identifiers could not be issued", subproblems=[
            {**problem("caa", "CAA record forbids issuance"),
             "identifier": {"type": "dns", "value": "s.example.test"}},
            {**problem("rejectedIdentifier", "name is on the blocklist"),
             "identifier": {"type": "dns", "value": "www.s.example.test"}},
        ])
        return answer.with_json(order)

    served.proxy.add(Rule("POST", FINALIZE, action="rewrite", rewrite=invalid, times=None))
    line = served.fails_cleanly("issue", "s")
    assert "compound: 2 identifiers could not be issued" in line
    assert "s.example.test: CAA record forbids issuance" in line
    assert "www.s.example.test: name is on the blocklist" in line
    assert served.log()[0]["error_type"] == "compound"
