"""How the network layer rides out passing CA trouble (no CA needed: answers are built by hand).

Busy answers (502/503/504) are sent again after Retry-After; broken connections only when sending again
cannot change anything at the CA; every wait goes through the session's pause (cancel, deadline, journal).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from acme import messages
from conftest import Home

from zerossl_tui.core.errors import Cancelled, CaUnreachable, RateLimited
from zerossl_tui.core.models import EventKind, ProviderSpec
from zerossl_tui.engine import keys
from zerossl_tui.engine.network import BUSY_TRIES, AcmeNetwork, CaBusy, translate_error
from zerossl_tui.engine.session import AcmeSession

URL = "https://acme.example.com/acme/order/1"
NONCE = "AAAAAAAAAAAAAAAAAAAAAA"
PAYLOAD = messages.Registration(contact=("mailto:ops@example.com",))  # any request that is not POST-as-GET


def _answer(status: int, body: object = None, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b""
    response.headers.update({"Content-Type": "application/json", "Replay-Nonce": NONCE, **headers})
    response.url = URL
    return response


class Script:
    """Stands in for the HTTP layer: HEAD gets a nonce, other requests get the next scripted outcome."""

    def __init__(self, *outcomes: requests.Response | Exception) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[str] = []

    def __call__(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        if method == "HEAD":
            return _answer(200)
        self.sent.append(method)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def _network(script: Script, pause: Callable[[float, str], bool] | None = None
             ) -> tuple[AcmeNetwork, list[tuple[float, str]]]:
    waits: list[tuple[float, str]] = []

    def record(seconds: float, why: str) -> bool:
        waits.append((seconds, why))
        return pause(seconds, why) if pause else True

    net = AcmeNetwork(keys.generate_key("ec256"), pause=record)
    net._send_request = script  # type: ignore[method-assign]
    return net, waits


def _reset() -> requests.exceptions.ConnectionError:
    request = requests.Request("POST", URL).prepare()
    return requests.exceptions.ConnectionError("('Connection aborted.', ConnectionResetError(104, "
                                               "'Connection reset by peer'))", request=request)


def test_busy_answer_is_sent_again_after_its_retry_after() -> None:
    script = Script(_answer(503, None, **{"Retry-After": "2"}), _answer(503, None, **{"Retry-After": "2"}),
                    _answer(200, {"status": "valid"}))
    net, waits = _network(script)
    assert net.post(URL, None, new_nonce_url=URL).json() == {"status": "valid"}
    assert [seconds for seconds, _ in waits] == [2.0, 2.0]
    assert "answered HTTP 503" in waits[0][1] and "sending again in 2 s as it asked" in waits[0][1]


def test_busy_answer_without_retry_after_waits_longer_each_time_then_gives_up() -> None:
    script = Script(*[_answer(502, None) for _ in range(BUSY_TRIES)])
    net, waits = _network(script)
    with pytest.raises(CaBusy) as raised:
        net.get(URL)
    assert [seconds for seconds, _ in waits] == [1.0, 2.0, 4.0, 8.0][: BUSY_TRIES - 1]
    error = translate_error(raised.value)
    assert isinstance(error, CaUnreachable)
    assert "acme.example.com answered HTTP 502 (unavailable)" in error.message and "\n" not in error.message


def test_busy_answer_asking_too_long_a_wait_gives_up_at_once_and_says_so() -> None:
    body = {"type": "urn:ietf:params:acme:error:serverInternal", "detail": "maintenance until 14:00"}
    script = Script(_answer(503, body, **{"Retry-After": "3600"}))
    net, waits = _network(script, pause=lambda seconds, why: False)
    with pytest.raises(CaBusy) as raised:
        net.post(URL, PAYLOAD, new_nonce_url=URL)
    assert len(waits) == 1 and script.sent == ["POST"]
    message = translate_error(raised.value).message
    assert "HTTP 503 (unavailable: maintenance until 14:00) and asked to come back in 3600 s" in message


def test_too_many_requests_without_a_problem_document_is_still_a_rate_limit() -> None:
    page = _answer(429, None, **{"Retry-After": "90", "Content-Type": "text/html"})
    page._content = b"<html>Too Many Requests</html>"
    net, waits = _network(Script(page))
    with pytest.raises(messages.Error) as raised:
        net.post(URL, None, new_nonce_url=URL)
    error = translate_error(raised.value)
    assert isinstance(error, RateLimited) and error.retry_after == 90.0 and waits == []
    assert "acme.example.com answered HTTP 429 (too many requests) (the CA asks to wait 90 s" in error.message


def test_broken_connection_is_sent_again_only_for_post_as_get() -> None:
    script = Script(_reset(), _reset(), _answer(200, {"status": "valid"}))
    net, waits = _network(script)
    assert net.post(URL, None, new_nonce_url=URL).status_code == 200
    assert [seconds for seconds, _ in waits] == [0.5, 1.0]
    assert "connection to acme.example.com was reset" in waits[0][1]

    script = Script(_reset(), _answer(200, {}))
    net, waits = _network(script)
    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        net.post(URL, PAYLOAD, new_nonce_url=URL)
    assert waits == [] and script.sent == ["POST"], "a request with a payload may have been acted on"
    assert "connection to acme.example.com was reset before the CA answered" in translate_error(raised.value).message


def test_broken_connection_on_get_gives_up_after_two_more_tries() -> None:
    request = requests.Request("GET", URL).prepare()
    refused = requests.exceptions.ConnectionError("[Errno 111] Connection refused", request=request)
    script = Script(refused, refused, refused)
    net, waits = _network(script)
    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        net.get(URL)
    assert len(script.sent) == 3 and len(waits) == 2
    assert translate_error(raised.value, reached=True).message.startswith(
        "cannot connect to acme.example.com any more")


def test_tls_failure_is_never_sent_again() -> None:
    request = requests.Request("GET", URL).prepare()
    script = Script(requests.exceptions.SSLError("certificate verify failed", request=request))
    net, waits = _network(script)
    with pytest.raises(requests.exceptions.SSLError):
        net.get(URL)
    assert waits == []


@pytest.mark.parametrize(("exc", "words"), [
    (requests.exceptions.JSONDecodeError("Expecting value", "{", 1), "malformed answer (not valid JSON)"),
    (requests.exceptions.ReadTimeout("read timeout=2"), "did not answer in time (renewal request_timeout)"),
])
def test_malformed_and_late_answers_are_named(exc: Exception, words: str) -> None:
    error = translate_error(exc, "https://acme.example.com/directory")
    assert isinstance(error, CaUnreachable) and words in error.message and "acme.example.com" in error.message


def _session() -> tuple[AcmeSession, list[tuple[EventKind, str, float | None]], threading.Event]:
    events: list[tuple[EventKind, str, float | None]] = []
    cancel = threading.Event()
    provider = ProviderSpec(name="ca", directory="https://acme.example.com/directory")
    session = AcmeSession(provider, None, progress=lambda *event: events.append(event), cancel=cancel)
    return session, events, cancel


def test_session_pause_is_journaled_and_refused_past_the_order_deadline() -> None:
    session, events, _ = _session()
    session._deadline = session.clock.monotonic() + 1.0
    assert session._pause(0.01, "busy: sending again in 0.01 s") is True
    assert events == [(EventKind.RETRY, "busy: sending again in 0.01 s", 0.01)]
    assert session._pause(5.0, "busy") is False, "a wait that ends past the deadline is not started"


def test_session_pause_is_cut_short_by_cancel() -> None:
    session, _, cancel = _session()
    threading.Timer(0.1, cancel.set).start()
    with pytest.raises(Cancelled):
        session._pause(30.0, "busy")


def test_request_timeout_setting_reaches_the_network(home: Home) -> None:
    from zerossl_tui.service.accounts import open_session
    from zerossl_tui.service.service import CertificateService

    service = CertificateService()
    service.update_table("renewal", {"request_timeout": 7})
    assert open_session(service.deps(), "letsencrypt")._net._default_timeout == 7
